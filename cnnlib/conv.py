"""Convolutions in NumPy: 2-D correlation of one image, conv1d/conv2d, transposed conv2d.

Arrays are NCHW and the layers follow ``torch.nn.functional``: ``conv2d`` is a
cross-correlation (the kernel is not flipped). Output size along each axis::

    convolution:  out = floor((n + 2p - d(k - 1) - 1) / s) + 1
    transposed:   out = (n - 1)s - 2p + d(k - 1) + output_padding + 1

Every public function reads the same way: check the arguments, work out the geometry,
hand the work to a strategy. What the numbers are is written plainly, one kernel tap at a
time, in :mod:`cnnlib.conv_reference`: read that one first. How they are computed fast
(im2col, row shifts, one product per output row, phases) is in
:mod:`cnnlib.conv_strategies`, whose ``STRATEGIES`` table is the one place where a route is
chosen. Results are new NCHW arrays of the inputs' dtype (float32 stays float32), handed
out in the memory order the strategy computed them in (see :mod:`cnnlib.conv_strategies`):
index, add and reshape them as any array; ``np.ascontiguousarray`` where C order is needed.
"""
from __future__ import annotations

import numpy as np

from ._checks import (
    as_float_array, as_pair, as_tuple, check_grad, check_ndim, error_prefix, resolve_padding, result_dtype,
)
from .conv_strategies import STRATEGIES, _columns, _flat, _Geometry, _im2col, _matmul, _nchw, _times_transposed
from .conv_strategies import _work, choose, infer
from .shapes import conv_output_size, conv_transpose_output_size

__all__ = [
    "correlate2d",
    "convolve2d",
    "conv1d",
    "conv2d",
    "conv2d_forward",
    "conv2d_backward",
    "conv_transpose2d",
    "conv_transpose2d_forward",
    "conv_transpose2d_backward",
    "conv2d_matrix",
    "release_work_buffers",
    "work_buffer_limit",
    "STRATEGIES",
]

_MODES = ("valid", "same", "full")


# ---------------------------------------------------------------------------
# Argument checking and geometry
# ---------------------------------------------------------------------------

def _operands(fn, x, w, b, x_layout, w_layout, transposed=False):
    """Check x, w, b of a layer and return them as float arrays of one common dtype."""
    x = as_float_array(x, "x")
    w = as_float_array(w, "w")
    ndim = x_layout.count(",") + 1
    check_ndim(x, ndim, "x", x_layout)
    check_ndim(w, ndim, "w", w_layout)
    in_axis, out_axis = (0, 1) if transposed else (1, 0)
    if x.shape[1] != w.shape[in_axis]:
        raise ValueError(
            f"{fn}: channel mismatch: x of shape {x.shape} has {x.shape[1]} channels but "
            f"w of shape {w.shape} (layout {w_layout}) expects {w.shape[in_axis]}"
        )
    if b is not None:
        b = as_float_array(b, "b")
        if b.shape != (w.shape[out_axis],):
            raise ValueError(
                f"{fn}: b must have shape (C_out,) = ({w.shape[out_axis]},) for w of shape "
                f"{w.shape}, got b of shape {b.shape}"
            )
    if x.dtype != w.dtype or (b is not None and b.dtype != x.dtype):
        dtype = result_dtype(x, w, b)
        x, w = x.astype(dtype, copy=False), w.astype(dtype, copy=False)
        b = None if b is None else b.astype(dtype, copy=False)
    return x, w, b


def _conv_geometry(fn, x_shape, w_shape, stride, pads, dilation, shown=None):
    """The geometry of a convolution; ValueError if the kernel does not fit the padded input.

    ``shown`` are the (x, w) shapes to name in the message (default: x_shape, w_shape).
    """
    (h, w), (kh, kw), (sh, sw), (dh, dw) = x_shape[2:], w_shape[2:], stride, dilation
    (top, bottom), (left, right) = pads
    hp, wp, span_h, span_w = h + top + bottom, w + left + right, dh * (kh - 1) + 1, dw * (kw - 1) + 1
    if hp < span_h or wp < span_w or kh < 1 or kw < 1:  # conv_output_size says what is wrong
        try:
            conv_output_size(hp, kh, sh, 0, dh), conv_output_size(wp, kw, sw, 0, dw)
        except ValueError as err:
            x_shown, w_shown = shown or (x_shape, w_shape)
            raise ValueError(
                f"{fn}: the kernel of w (shape {w_shown}) does not fit in x of shape {x_shown} "
                f"with padding {pads} and dilation {dilation}: {err}"
            ) from None
    # conv_output_size's formula, on sizes checked above.
    out = ((hp - span_h) // sh + 1, (wp - span_w) // sw + 1)
    return _Geometry((h, w), (kh, kw), stride, dilation, pads, out)


def _conv2d_args(x, w, b, stride, padding, dilation, fn="conv2d"):
    x, w, b = _operands(fn, x, w, b, "(N, C_in, H, W)", "(C_out, C_in, kh, kw)")
    stride = as_pair(stride, "stride", minimum=1)
    dilation = as_pair(dilation, "dilation", minimum=1)
    pads = resolve_padding(padding, w.shape[2:], stride, dilation)
    return x, w, b, _conv_geometry(fn, x.shape, w.shape, stride, pads, dilation)


def _conv_transpose2d_args(x, w, b, stride, padding, output_padding, dilation):
    fn = "conv_transpose2d"
    x, w, b = _operands(fn, x, w, b, "(N, C_in, H, W)", "(C_in, C_out, kh, kw)", transposed=True)
    stride = as_pair(stride, "stride", minimum=1)
    dilation = as_pair(dilation, "dilation", minimum=1)
    padding = as_pair(padding, "padding", minimum=0)
    output_padding = as_pair(output_padding, "output_padding", minimum=0)
    try:
        out = tuple(
            conv_transpose_output_size(*args)
            for args in zip(x.shape[2:], w.shape[2:], stride, padding, output_padding, dilation)
        )
    except ValueError as err:
        raise ValueError(
            f"{fn}: x of shape {x.shape}, w of shape {w.shape}, stride {stride}, padding {padding}, "
            f"output_padding {output_padding}, dilation {dilation}: {err}"
        ) from None
    # The geometry of the direct convolution, which maps the output back to x's size.
    pads = ((padding[0], padding[0]), (padding[1], padding[1]))
    return x, w, b, _Geometry(out, w.shape[2:], stride, dilation, pads, x.shape[2:])


# ---------------------------------------------------------------------------
# Work buffers
# ---------------------------------------------------------------------------

def release_work_buffers():
    """Free the memory that conv2d and conv_transpose2d keep for their temporaries."""
    _work.clear()


def work_buffer_limit(nbytes=None):
    """The most memory (bytes) kept between calls for the convolutions' big temporaries.

    With ``nbytes``, set it (0 keeps nothing: every call allocates afresh) and let go of
    what is kept; returns the limit in force. The default is 64 MiB, or
    ``CNNLIB_WORK_BUFFERS_MB`` from the environment.
    """
    if nbytes is not None:
        if not isinstance(nbytes, (int, np.integer)) or nbytes < 0:
            raise ValueError(f"work_buffer_limit: nbytes must be an int >= 0, got {nbytes!r}")
        _work.limit = int(nbytes)
        _work.clear()
    return _work.limit


# ---------------------------------------------------------------------------
# One image, one kernel (SciPy semantics)
# ---------------------------------------------------------------------------

def _correlate_image(fn, image, kernel, mode, flip):
    image = as_float_array(image, "image")
    kernel = as_float_array(kernel, "kernel")
    check_ndim(image, 2, "image", "(H, W)")
    check_ndim(kernel, 2, "kernel", "(kh, kw)")
    if mode not in _MODES:
        raise ValueError(f"{fn}: mode must be one of {_MODES}, got {mode!r}")
    if image.size == 0 or kernel.size == 0:
        raise ValueError(f"{fn}: image and kernel must not be empty, got shapes {image.shape} and {kernel.shape}")
    if mode == "valid" and (kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]):
        raise ValueError(
            f"{fn}: in mode 'valid' the kernel must fit in the image, got kernel of shape "
            f"{kernel.shape} and image of shape {image.shape}"
        )
    if mode == "valid":
        pads = ((0, 0), (0, 0))
    elif mode == "full":
        pads = tuple((k - 1, k - 1) for k in kernel.shape)
    else:
        # SciPy centres 'same' in the full output: for an even kernel one more zero goes
        # after the image when correlating, and before it when convolving.
        pads = tuple(((k - 1) // 2, k // 2) for k in kernel.shape)
        if flip:
            pads = tuple(p[::-1] for p in pads)
    if flip:
        kernel = kernel[::-1, ::-1]
    x, w, _ = _operands(fn, image[None, None], kernel[None, None], None, "(N, C, H, W)", "(O, C, kh, kw)")
    geo = _conv_geometry(fn, x.shape, w.shape, (1, 1), pads, (1, 1))
    return infer(x, w, None, geo)[0, 0]


@error_prefix
def correlate2d(image, kernel, mode="valid"):
    """2-D cross-correlation of one image with one kernel, as ``scipy.signal.correlate2d``.

    ``out[r, c] = sum_{i, j} image[r + i, c + j] * kernel[i, j]`` (in "valid" mode).

    image: (H, W); kernel: (kh, kw); mode: "valid" (only where the kernel fits; result
    (H - kh + 1, W - kw + 1)), "same" (result (H, W), centred as SciPy does) or "full"
    (every overlap; result (H + kh - 1, W + kw - 1)). The default is "valid", as for a
    layer; SciPy's default is "full": pass ``mode`` explicitly when comparing. Unlike SciPy,
    a kernel larger than the image in "valid" mode is an error, not a silent swap of the
    two arguments.
    """
    return _correlate_image("correlate2d", image, kernel, mode, flip=False)


@error_prefix
def convolve2d(image, kernel, mode="valid"):
    """2-D convolution of one image with one kernel, as ``scipy.signal.convolve2d``.

    :func:`correlate2d` with the kernel flipped in both axes:
    ``full[r, c] = sum_{i, j} image[r - i, c - j] * kernel[i, j]``.
    Shapes and modes as in :func:`correlate2d`.
    """
    return _correlate_image("convolve2d", image, kernel, mode, flip=True)


# ---------------------------------------------------------------------------
# conv1d and conv2d
# ---------------------------------------------------------------------------

@error_prefix
def conv1d(x, w, b=None, stride=1, padding=0, dilation=1):
    """1-D convolution layer (cross-correlation), as ``torch.nn.functional.conv1d``.

    x: (N, C_in, L); w: (C_out, C_in, K); b: (C_out,) or None.
    stride, dilation: int >= 1. padding: int >= 0 (zeros on each side), or "valid" (none),
    "same" (L_out = L; stride 1 only) or "full" (dilation*(K - 1) on each side).

    Returns (N, C_out, L_out), ``L_out = floor((L + 2p - d(K - 1) - 1) / s) + 1``.
    """
    x, w, b = _operands("conv1d", x, w, b, "(N, C_in, L)", "(C_out, C_in, K)")
    stride = as_tuple(stride, 1, "stride", minimum=1)
    dilation = as_tuple(dilation, 1, "dilation", minimum=1)
    pads = resolve_padding(padding, w.shape[2:], stride, dilation)
    # A signal is an image of height 1.
    x4, w4 = x[:, :, None, :], w[:, :, None, :]
    geo = _conv_geometry("conv1d", x4.shape, w4.shape, (1,) + stride, ((0, 0),) + pads,
                         (1,) + dilation, shown=(x.shape, w.shape))
    return infer(x4, w4, b, geo)[:, :, 0, :]


@error_prefix
def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    """2-D convolution layer (cross-correlation), as ``torch.nn.functional.conv2d``.

    x: (N, C_in, H, W); w: (C_out, C_in, kh, kw); b: (C_out,) or None.
    stride, dilation: int >= 1 or an (h, w) pair. padding: int >= 0 or an (h, w) pair
    (zeros on each side), or "valid" (none), "same" (output size = input size; stride 1
    only; an odd total puts the extra zero after, as PyTorch does) or "full"
    (dilation*(k - 1) on each side).

    Returns (N, C_out, H_out, W_out) with ``H_out = floor((H + 2p - d(kh - 1) - 1) / s) + 1``
    (W_out likewise). The same numbers as :func:`cnnlib.conv_reference.conv2d`.
    """
    x, w, b, geo = _conv2d_args(x, w, b, stride, padding, dilation)
    return infer(x, w, b, geo)


@error_prefix
def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    """:func:`conv2d` that also returns the cache needed by :func:`conv2d_backward`.

    Arguments and output as in :func:`conv2d`. The cache keeps what the chosen strategy's
    backward needs (its columns) and a reference to ``w`` (do not change ``w`` in place
    before the backward pass).
    """
    x, w, b, geo = _conv2d_args(x, w, b, stride, padding, dilation, "conv2d_forward")
    strategy = choose("training", w.shape, geo, x.dtype)
    y, saved = strategy.forward(x, w, b, geo)
    cache = {"op": "conv2d", "strategy": strategy, "saved": saved, "w": w, "has_bias": b is not None,
             "geometry": geo, "out_shape": y.shape, "dtype": y.dtype}
    return y, cache


@error_prefix
def conv2d_backward(grad_out, cache):
    """Gradients of :func:`conv2d_forward`.

    grad_out: (N, C_out, H_out, W_out), the gradient of the loss w.r.t. the output.
    Returns (dx, dw, db) shaped like x (N, C_in, H, W), w (C_out, C_in, kh, kw) and
    b (C_out,); db is None when the forward pass had no bias. The same numbers as
    :func:`cnnlib.conv_reference.conv2d_backward`.
    """
    grad_out = check_grad("conv2d", grad_out, cache)
    dx, dw, db = cache["strategy"].backward(grad_out, cache["saved"], cache["w"], cache["geometry"],
                                            cache["has_bias"])
    return dx, dw, db


# ---------------------------------------------------------------------------
# Transposed convolution
# ---------------------------------------------------------------------------

@error_prefix
def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, *, dilation=1):
    """Transposed 2-D convolution, as ``torch.nn.functional.conv_transpose2d``.

    The gradient of :func:`conv2d` w.r.t. its input, used as a layer (an upsampling one
    when stride > 1); stride, padding and dilation are those of that direct convolution.

    x: (N, C_in, H, W); w: (C_in, C_out, kh, kw) (PyTorch's layout); b: (C_out,) or None.
    stride, dilation: int >= 1 or an (h, w) pair; padding: int >= 0 or a pair;
    output_padding: int or pair, each smaller than the stride or the dilation: the rows
    and columns it adds at the bottom and right pick one of the output sizes that the
    direct convolution maps to (H, W). ``dilation`` is keyword-only: PyTorch's 7th
    positional argument is ``groups``.

    Returns (N, C_out, H_out, W_out) with
    ``H_out = (H - 1)s - 2p + d(kh - 1) + output_padding + 1`` (W_out likewise). The same
    numbers as :func:`cnnlib.conv_reference.conv_transpose2d`.
    """
    x, w, b, geo = _conv_transpose2d_args(x, w, b, stride, padding, output_padding, dilation)
    return choose("transposed", w.shape, geo, x.dtype).forward(x, w, b, geo)


@error_prefix
def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0, output_padding=0, *, dilation=1):
    """:func:`conv_transpose2d` that also returns the cache for :func:`conv_transpose2d_backward`.

    Arguments and output as in :func:`conv_transpose2d`; the cache keeps x (as columns)
    and a reference to ``w``.
    """
    x, w, b, geo = _conv_transpose2d_args(x, w, b, stride, padding, output_padding, dilation)
    x_cols = _columns(x)
    y = choose("transposed", w.shape, geo, x.dtype).forward(x, w, b, geo, x_cols)
    cache = {"op": "conv_transpose2d", "x_cols": x_cols, "w": w, "has_bias": b is not None,
             "geometry": geo, "out_shape": y.shape, "dtype": y.dtype}
    return y, cache


@error_prefix
def conv_transpose2d_backward(grad_out, cache):
    """Gradients of :func:`conv_transpose2d_forward`.

    grad_out: (N, C_out, H_out, W_out). Returns (dx, dw, db) shaped like x (N, C_in, H, W),
    w (C_in, C_out, kh, kw) and b (C_out,); db is None without bias. The input gradient
    is the direct convolution of grad_out with w: one im2col and two products.
    """
    grad_out = check_grad("conv_transpose2d", grad_out, cache)
    x_cols, w, geo = cache["x_cols"], cache["w"], cache["geometry"]
    n, (h, w_in) = grad_out.shape[0], geo.out
    cols = _im2col(grad_out, geo)  # (C_out*kh*kw, H*W*N)
    dx = _nchw(_matmul(_flat(w), cols).reshape(w.shape[0], h, w_in, n))
    dw = _times_transposed(x_cols, cols).reshape(w.shape)
    db = grad_out.sum(axis=(0, 2, 3)) if cache["has_bias"] else None
    return dx, dw, db


# ---------------------------------------------------------------------------
# The convolution as a matrix
# ---------------------------------------------------------------------------

@error_prefix
def conv2d_matrix(w, input_size, stride=1, padding=0, dilation=1):
    """The dense matrix M of the convolution with weights w on inputs of size input_size.

    w: (C_out, C_in, kh, kw); input_size: H or (H, W); stride, padding, dilation as in
    :func:`conv2d`. Returns M, (C_out*H_out*W_out, C_in*H*W), such that for one sample
    x of shape (C_in, H, W): ``M @ x.reshape(-1) == conv2d(x[None], w, ...).reshape(-1)``.

    M is mostly zeros and its rows repeat the same weights, shifted: a convolution is a
    sparse dense layer with tied weights. ``M.T`` is the transposed convolution.
    """
    w = as_float_array(w, "w")
    check_ndim(w, 4, "w", "(C_out, C_in, kh, kw)")
    h, wd = as_pair(input_size, "input_size", minimum=1)
    c_out, c_in, kh, kw = w.shape
    stride = as_pair(stride, "stride", minimum=1)
    dilation = as_pair(dilation, "dilation", minimum=1)
    pads = resolve_padding(padding, (kh, kw), stride, dilation)
    geo = _conv_geometry("conv2d_matrix", (1, c_in, h, wd), w.shape, stride, pads, dilation)
    (oh, ow), (sh, sw), (dh, dw), (top, left) = geo.out, stride, dilation, (pads[0][0], pads[1][0])
    # Output pixel (o, r, q) reads through tap (c, i, j) the input pixel
    # (c, r*sh + i*dh - top, q*sw + j*dw - left): there M[(o, r, q), (c, row, col)] = w[o, c, i, j].
    o, c, i, j, r, q = np.ix_(*(np.arange(k) for k in (c_out, c_in, kh, kw, oh, ow)))
    row = r * sh + i * dh - top
    col = q * sw + j * dw - left
    inside = (row >= 0) & (row < h) & (col >= 0) & (col < wd)  # taps on padding add nothing
    m_index, x_index, inside, values = np.broadcast_arrays(
        (o * oh + r) * ow + q, (c * h + row) * wd + col, inside, w[..., None, None])
    m = np.zeros((c_out * oh * ow, c_in * h * wd), w.dtype)
    m[m_index[inside], x_index[inside]] = values[inside]
    return m
