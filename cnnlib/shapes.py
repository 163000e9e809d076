"""Output sizes and receptive fields: the arithmetic every layer, test and notebook uses.

The formulas follow Dumoulin & Visin, "A guide to convolution arithmetic for deep
learning" (2016), in PyTorch's conventions.
"""
from __future__ import annotations

from ._checks import PADDING_MODES, _is_int, error_prefix


def _check_int(value, name, minimum):
    if type(value) is int and value >= minimum:  # fast path for the common case
        return value
    if not _is_int(value) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}")
    return int(value)


@error_prefix
def conv_output_size(n, kernel_size, stride=1, padding=0, dilation=1):
    """Length of a convolution's (or pooling's) output along one axis.

    ``out = floor((n + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1``

    ``padding`` is the number of zeros on *each* side, or ``"valid"`` (0),
    ``"same"`` (stride 1 only; out = n) or ``"full"`` (``dilation*(kernel_size-1)``).

    >>> conv_output_size(8, 3)           # 8 inputs, kernel 3, no padding
    6
    >>> conv_output_size(5, 3, stride=2, padding=1)
    3

    Raises ``ValueError`` when the (dilated) kernel is larger than the padded input.
    """
    n = _check_int(n, "n", 0)
    k = _check_int(kernel_size, "kernel_size", 1)
    s = _check_int(stride, "stride", 1)
    d = _check_int(dilation, "dilation", 1)
    span = d * (k - 1) + 1
    if isinstance(padding, str):
        if padding not in PADDING_MODES:
            raise ValueError(f"padding must be an int or one of {PADDING_MODES}, got {padding!r}")
        if padding == "same":
            if s != 1:
                raise ValueError(f"padding='same' needs stride 1, got stride={s}")
            total = span - 1
        else:
            total = 0 if padding == "valid" else 2 * (span - 1)
    else:
        total = 2 * _check_int(padding, "padding", 0)
    if n + total < span:
        raise ValueError(
            f"kernel (size {k}, dilation {d}, span {span}) is larger than the padded input "
            f"(size {n} + padding {total} = {n + total})"
        )
    return (n + total - span) // s + 1


@error_prefix
def conv_transpose_output_size(n, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    """Length of a transposed convolution's output along one axis.

    ``out = (n - 1)*stride - 2*padding + dilation*(kernel_size - 1) + output_padding + 1``

    ``stride``, ``padding`` and ``dilation`` are those of the *direct* convolution whose
    transpose this is; ``output_padding`` (smaller than stride or dilation) picks one of
    the several input sizes that the direct convolution maps to ``n``.

    >>> conv_transpose_output_size(3, 3, stride=2, padding=1, output_padding=1)
    6
    """
    n = _check_int(n, "n", 1)
    k = _check_int(kernel_size, "kernel_size", 1)
    s = _check_int(stride, "stride", 1)
    p = _check_int(padding, "padding", 0)
    op = _check_int(output_padding, "output_padding", 0)
    d = _check_int(dilation, "dilation", 1)
    if op >= s and op >= d:
        raise ValueError(
            f"output_padding must be smaller than stride or dilation, got output_padding={op}, "
            f"stride={s}, dilation={d}"
        )
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        raise ValueError(f"padding={p} is too large: the output of size {out} would be empty")
    return out


@error_prefix
def receptive_field(layers, per_layer=False):
    """Receptive field of the last unit of a stack of convolution or pooling layers.

    ``layers`` is a sequence of ``(kernel_size, stride)`` or
    ``(kernel_size, stride, dilation)`` tuples, first layer first. With
    ``j_l = s_1 * ... * s_l`` (the distance in input pixels between neighbouring units
    of layer l) and ``j_0 = 1``:

    ``r_0 = 1,  r_l = r_{l-1} + dilation_l * (kernel_size_l - 1) * j_{l-1}``

    Returns ``r_L``, or the list ``[r_1, ..., r_L]`` when ``per_layer`` is true.

    >>> receptive_field([(3, 1), (3, 1)])   # two 3x3 convs see 5x5
    5
    >>> receptive_field([(3, 1), (3, 1), (3, 1)])
    7
    """
    r, jump, sizes = 1, 1, []
    for i, layer in enumerate(layers):
        try:
            k, s, *rest = layer
        except (TypeError, ValueError):
            raise ValueError(
                f"layers[{i}] must be (kernel_size, stride) or (kernel_size, stride, dilation), got {layer!r}"
            ) from None
        if len(rest) > 1:
            raise ValueError(f"layers[{i}] has too many entries: {layer!r}")
        d = _check_int(rest[0] if rest else 1, f"layers[{i}] dilation", 1)
        k = _check_int(k, f"layers[{i}] kernel_size", 1)
        s = _check_int(s, f"layers[{i}] stride", 1)
        r += d * (k - 1) * jump
        jump *= s
        sizes.append(r)
    return sizes if per_layer else r
