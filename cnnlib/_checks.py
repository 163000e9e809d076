"""Argument checking shared by every public function.

Every check raises ``ValueError`` with a message that names the argument and the
offending shape or value, so that a student sees *what* was wrong, not a NumPy
broadcasting error three calls deeper.
"""
from __future__ import annotations

import functools
import numbers

import numpy as np

PADDING_MODES = ("valid", "same", "full")


def error_prefix(fn):
    """Decorate a public function so that every ValueError it raises starts with its name,
    ``"conv2d: x must be 4-D ..."``, whichever helper found the problem."""
    name = fn.__name__

    @functools.wraps(fn)
    def checked(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except ValueError as err:
            message = str(err)
            if message.startswith(f"{name}: "):
                raise
            if message.startswith(f"{name}_forward: "):  # max_pool2d calls max_pool2d_forward
                message = message[len(name) + len("_forward: "):]
            raise ValueError(f"{name}: {message}") from None

    return checked


def as_float_array(a, name):
    """Return ``a`` as a floating NumPy array without copying when possible.

    float32 and float64 are kept; booleans and integers become float64.
    Anything else (strings, objects, complex numbers) is a ``ValueError``.
    """
    arr = np.asarray(a)
    kind = arr.dtype.kind
    if kind == "f":
        if arr.dtype.itemsize < 4:  # float16: compute in float32
            return arr.astype(np.float32)
        return arr
    if kind in "biu":
        return arr.astype(np.float64)
    raise ValueError(f"{name} must hold real numbers, got dtype {arr.dtype}")


def check_grad(fn, grad_out, cache):
    """Check the arguments of a backward call ``<fn>_backward(grad_out, cache)``.

    ``cache`` must be the dict that ``<fn>_forward`` returned (its ``"op"`` is ``fn``; it also
    holds the forward output's shape ``"out_shape"`` and its ``"dtype"``), and ``grad_out`` an
    array of real numbers of that shape. Returns ``grad_out`` as an array of the forward's dtype.
    """
    if not isinstance(cache, dict) or cache.get("op") != fn:
        raise ValueError(f"{fn}_backward: cache must be the second result of {fn}_forward")
    grad_out = as_float_array(grad_out, "grad_out")
    if grad_out.shape != cache["out_shape"]:
        raise ValueError(
            f"{fn}_backward: grad_out must have the forward output's shape {cache['out_shape']}, "
            f"got shape {grad_out.shape}"
        )
    return grad_out.astype(cache["dtype"], copy=False)


def result_dtype(*arrays):
    """The floating dtype of a computation on ``arrays`` (float32 only if all are)."""
    return np.result_type(*[a.dtype for a in arrays if a is not None])


def check_ndim(arr, ndim, name, layout):
    """Raise unless ``arr.ndim == ndim``; ``layout`` names the axes, e.g. ``"(N, C, H, W)"``."""
    if arr.ndim != ndim:
        raise ValueError(
            f"{name} must be {ndim}-D with shape {layout}, got {arr.ndim}-D array of shape {arr.shape}"
        )


def _is_int(v):
    # ``type(v) is int`` first: the common case, ~10x cheaper than the ABC check.
    return type(v) is int or (isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_)))


def as_tuple(value, n, name, minimum=None):
    """Turn an int or a length-``n`` sequence of ints into a tuple of ``n`` Python ints.

    ``minimum`` (inclusive) is checked for every entry.
    """
    if _is_int(value):
        out = (int(value),) * n
    else:
        try:
            out = tuple(value)
        except TypeError:
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}") from None
        if len(out) != n or not all(_is_int(v) for v in out):
            raise ValueError(f"{name} must be an int or a tuple of {n} ints, got {value!r}")
        out = tuple(int(v) for v in out)
    if minimum is not None and out and min(out) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return out


def as_pair(value, name, minimum=None):
    """``as_tuple(value, 2, name, minimum)``: the (h, w) form of an int-or-pair argument."""
    return as_tuple(value, 2, name, minimum)


def resolve_padding(padding, kernel_size, stride, dilation):
    """Padding for each spatial axis as ``((before, after), ...)``.

    ``padding`` is an int, a tuple with one int per axis (the same on both sides), or
    one of ``"valid"`` (0), ``"same"`` (output size = input size; stride 1 only; an odd
    total goes one extra on the after side, as in PyTorch) or ``"full"``
    (``dilation * (k - 1)`` on each side).
    """
    n = len(kernel_size)
    if isinstance(padding, str):
        if padding not in PADDING_MODES:
            raise ValueError(f"padding must be an int, a tuple or one of {PADDING_MODES}, got {padding!r}")
        if padding == "valid":
            return ((0, 0),) * n
        total = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
        if padding == "full":
            return tuple((t, t) for t in total)
        if any(s != 1 for s in stride):
            raise ValueError(f"padding='same' needs stride 1, got stride={stride}")
        return tuple((t // 2, t - t // 2) for t in total)
    return tuple([(p, p) for p in as_tuple(padding, n, "padding", minimum=0)])
