"""Pooling: max, average, Lp, adaptive and global pooling of NCHW arrays.

A pooling layer slides a window over every channel separately and summarises each
window by one number; it has no weights. Nothing here loops over pixels or windows:
tap (i, j) of *every* window is one strided sub-grid of the (padded) input,

    x[:, :, i : i + s_h*(H_out-1) + 1 : s_h,  j : j + s_w*(W_out-1) + 1 : s_w],

so a k_h×k_w pooling is k_h·k_w whole-array operations (max pooling, being separable,
takes the max over a window's rows first and then over its columns: k_h + k_w - 2). Names,
arguments and results follow ``torch.nn.functional``.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._checks import as_float_array, as_pair, check_grad, check_ndim, error_prefix
from .shapes import conv_output_size

__all__ = [
    "max_pool2d", "max_pool2d_forward", "max_pool2d_backward",
    "avg_pool2d", "avg_pool2d_forward", "avg_pool2d_backward",
    "lp_pool2d", "lp_pool2d_forward", "lp_pool2d_backward",
    "adaptive_avg_pool2d", "adaptive_avg_pool2d_forward", "adaptive_avg_pool2d_backward",
    "adaptive_max_pool2d", "adaptive_max_pool2d_forward", "adaptive_max_pool2d_backward",
    "global_avg_pool2d", "global_max_pool2d",
]


# --------------------------------------------------------------------------- helpers

def _check_x(x):
    x = as_float_array(x, "x")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    if x.shape[2] == 0 or x.shape[3] == 0:
        raise ValueError(f"x must have a non-empty height and width, got shape {x.shape}")
    return x


def _window_args(x, kernel_size, stride, padding):
    """Check the arguments of a sliding-window pooling.

    Returns ``x`` as a float array, ``kernel``, ``stride`` and ``padding`` as (h, w)
    pairs, and the output's (H_out, W_out).
    """
    x = _check_x(x)
    kernel = as_pair(kernel_size, "kernel_size", minimum=1)
    stride = kernel if stride is None else as_pair(stride, "stride", minimum=1)
    padding = as_pair(padding, "padding", minimum=0)
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(
            f"padding must be at most half of kernel_size, got padding={padding} and kernel_size={kernel}"
        )
    in_hw = x.shape[2:]
    if any(n + 2 * p < k for n, k, p in zip(in_hw, kernel, padding)):
        raise ValueError(
            f"kernel_size={kernel} is larger than the padded input: x has shape {x.shape} "
            f"(height and width {in_hw}) and padding={padding}"
        )
    out_hw = tuple(conv_output_size(n, k, s, p) for n, k, s, p in zip(in_hw, kernel, stride, padding))
    return x, kernel, stride, padding, out_hw


def _taps(kernel, stride, out_hw):
    """Yield ``(rows, cols)`` slices: tap (i, j) of every window, as one strided sub-grid."""
    (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out_hw
    for i in range(kh):
        for j in range(kw):
            yield slice(i, i + sh * (ho - 1) + 1, sh), slice(j, j + sw * (wo - 1) + 1, sw)


def _pad(x, padding, value):
    """``x`` with ``padding`` = (ph, pw) rows/columns of ``value`` on each side (no copy if 0)."""
    ph, pw = padding
    if ph == pw == 0:
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=x.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    return xp


def _unpad(xp, padding):
    """Inverse of ``_pad``: drop the border (the gradient that reached the padding)."""
    ph, pw = padding
    if ph == pw == 0:
        return xp
    return xp[:, :, ph:xp.shape[2] - ph, pw:xp.shape[3] - pw].copy()


def _window_sum(xp, kernel, stride, out_hw):
    """Sum of every window: a running sum over the kernel taps."""
    windows = (xp[:, :, rows, cols] for rows, cols in _taps(kernel, stride, out_hw))
    total = next(windows).copy()
    for window in windows:
        total += window
    return total


def _window_sum_backward(grad, padded_shape, kernel, stride):
    """Gradient of ``_window_sum``: every tap of a window receives the window's gradient."""
    dxp = np.zeros(padded_shape, dtype=grad.dtype)
    for rows, cols in _taps(kernel, stride, grad.shape[2:]):
        dxp[:, :, rows, cols] += grad  # overlapping windows accumulate
    return dxp


# --------------------------------------------------------------------------- max pooling

def _window_max(xp, kernel, stride, out_hw):
    """Largest value of every window, in two steps: the max over the kh rows of each
    window, on whole padded rows (long contiguous runs, which NumPy handles fastest), then
    the max of that over the kw columns of each window. (k_h - 1) + (k_w - 1) whole-array
    maxima instead of k_h·k_w - 1, and 1.5x faster on a 2×2 pooling."""
    (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out_hw
    rows = [xp[:, :, i:i + sh * (ho - 1) + 1:sh, :] for i in range(kh)]
    row_max = np.maximum(rows[0], rows[1]) if kh > 1 else rows[0]
    for row in rows[2:]:
        np.maximum(row_max, row, out=row_max)
    cols = [row_max[:, :, :, j:j + sw * (wo - 1) + 1:sw] for j in range(kw)]
    out = np.maximum(cols[0], cols[1]) if kw > 1 else cols[0].copy()
    for col in cols[2:]:
        np.maximum(out, col, out=out)
    return out


@error_prefix
def max_pool2d_forward(x, kernel_size, stride=None, padding=0):
    """Max pooling: each output is the largest value in its window.

    ``x`` (N, C, H, W) -> out (N, C, H_out, W_out) with, per axis,
    ``H_out = floor((H + 2p - k) / s) + 1``. ``kernel_size``, ``stride`` (default:
    ``kernel_size``) and ``padding`` are ints or (h, w) pairs. The padding is -inf, so
    it never wins; as in PyTorch it may be at most half the kernel.

    Returns ``(out, cache)``; ``cache`` is what ``max_pool2d_backward`` needs.
    """
    x, kernel, stride, padding, out_hw = _window_args(x, kernel_size, stride, padding)
    out = _window_max(_pad(x, padding, -np.inf), kernel, stride, out_hw)
    cache = {"op": "max_pool2d", "x": x, "out": out, "out_shape": out.shape, "dtype": x.dtype,
             "kernel": kernel, "stride": stride, "padding": padding}
    return out, cache


@error_prefix
def max_pool2d_backward(grad_out, cache):
    """Gradient of max pooling: each window's gradient goes to the position of its max.

    On ties the first max in row-major window order takes it all (PyTorch's rule);
    a position that is the max of several overlapping windows collects all their
    gradients. ``grad_out`` (N, C, H_out, W_out) -> dx (N, C, H, W); it should be
    finite (a NaN or inf would reach every position of its window).
    """
    grad_out = check_grad("max_pool2d", grad_out, cache)
    x, out, kernel, stride, padding = (cache[k] for k in ("x", "out", "kernel", "stride", "padding"))
    remaining = np.empty_like(out)
    remaining[...] = grad_out
    # NaN never equals the max, so a padded tap never takes the gradient.
    xp = _pad(x, padding, np.nan)
    dxp = np.zeros_like(xp)
    for rows, cols in _taps(kernel, stride, out.shape[2:]):
        # Multiplying by the mask is several times faster than np.where on a random mask.
        routed = remaining * (xp[:, :, rows, cols] == out)
        dxp[:, :, rows, cols] += routed
        remaining -= routed  # a window's gradient goes to its first max only
    return _unpad(dxp, padding)


@error_prefix
def max_pool2d(x, kernel_size, stride=None, padding=0):
    """Max pooling of ``x`` (N, C, H, W); see ``max_pool2d_forward``."""
    return max_pool2d_forward(x, kernel_size, stride, padding)[0]


# --------------------------------------------------------------------------- average pooling

def _avg_divisor(in_hw, kernel, stride, padding, out_hw, count_include_pad, dtype):
    """Number of values each window averages: k_h·k_w, or (H_out, W_out) counts of real pixels."""
    if count_include_pad:
        return kernel[0] * kernel[1]
    counts = []
    for n, k, s, p, m in zip(in_hw, kernel, stride, padding, out_hw):
        start = np.arange(m) * s - p
        counts.append(np.minimum(start + k, n) - np.maximum(start, 0))
    return np.multiply.outer(*counts).astype(dtype)


@error_prefix
def avg_pool2d_forward(x, kernel_size, stride=None, padding=0, *, count_include_pad=True):
    """Average pooling: each output is the mean of its window.

    ``x`` (N, C, H, W) -> out (N, C, H_out, W_out), ``H_out = floor((H + 2p - k) / s) + 1``.
    The padding is zeros; with ``count_include_pad`` (the default, as in PyTorch) they
    count in the mean, otherwise a window is divided by its number of real pixels.
    ``count_include_pad`` is keyword-only: PyTorch's 5th argument is ``ceil_mode``.

    Returns ``(out, cache)``.
    """
    x, kernel, stride, padding, out_hw = _window_args(x, kernel_size, stride, padding)
    xp = _pad(x, padding, 0)
    divisor = _avg_divisor(x.shape[2:], kernel, stride, padding, out_hw, count_include_pad, x.dtype)
    out = _window_sum(xp, kernel, stride, out_hw)
    out /= divisor
    cache = {"op": "avg_pool2d", "padded_shape": xp.shape, "out_shape": out.shape, "dtype": x.dtype,
             "kernel": kernel, "stride": stride, "padding": padding, "divisor": divisor}
    return out, cache


@error_prefix
def avg_pool2d_backward(grad_out, cache):
    """Gradient of average pooling: each window spreads grad/divisor evenly over its pixels.

    ``grad_out`` (N, C, H_out, W_out) -> dx (N, C, H, W).
    """
    g = check_grad("avg_pool2d", grad_out, cache) / cache["divisor"]
    dxp = _window_sum_backward(g, cache["padded_shape"], cache["kernel"], cache["stride"])
    return _unpad(dxp, cache["padding"])


@error_prefix
def avg_pool2d(x, kernel_size, stride=None, padding=0, *, count_include_pad=True):
    """Average pooling of ``x`` (N, C, H, W); see ``avg_pool2d_forward``."""
    return avg_pool2d_forward(x, kernel_size, stride, padding, count_include_pad=count_include_pad)[0]


# --------------------------------------------------------------------------- Lp pooling

def _check_norm_type(norm_type):
    if (not isinstance(norm_type, numbers.Real) or isinstance(norm_type, bool)
            or not norm_type > 0):
        raise ValueError(f"norm_type must be a positive number, got {norm_type!r}")
    return float(norm_type)


@error_prefix
def lp_pool2d_forward(x, norm_type, kernel_size, stride=None):
    """Lp (power-average) pooling: each output is ``(sum of x**p over its window) ** (1/p)``.

    ``p = norm_type > 0``: p = 1 is sum pooling, p = 2 the L2 norm of the window, and
    p = inf max pooling of ``|x|``. No padding: ``H_out = floor((H - k) / s) + 1``;
    ``stride`` defaults to ``kernel_size``. As in PyTorch, a window whose sum is negative
    (possible for odd p) gives NaN unless 1/p is an integer.

    Returns ``(out, cache)``.
    """
    p = _check_norm_type(norm_type)
    x, kernel, stride, _, out_hw = _window_args(x, kernel_size, stride, 0)
    if p == np.inf:  # the limit p -> inf, as in PyTorch
        out, max_cache = max_pool2d_forward(np.abs(x), kernel, stride)
        return out, {"op": "lp_pool2d", "p": p, "x": x, "max_cache": max_cache,
                     "out_shape": out.shape, "dtype": x.dtype}
    total = _window_sum(x ** p, kernel, stride, out_hw)
    out = total ** (1 / p)
    cache = {"op": "lp_pool2d", "p": p, "x": x, "total": total, "out": out, "out_shape": out.shape,
             "dtype": x.dtype, "kernel": kernel, "stride": stride}
    return out, cache


@error_prefix
def lp_pool2d_backward(grad_out, cache):
    """Gradient of Lp pooling: ``d out / d x = out**(1-p) * x**(p-1)`` for x in the window.

    Windows whose sum of x**p is 0 get gradient 0, as in PyTorch.
    ``grad_out`` (N, C, H_out, W_out) -> dx (N, C, H, W).
    """
    g = check_grad("lp_pool2d", grad_out, cache)
    p, x = cache["p"], cache["x"]
    if p == np.inf:
        return max_pool2d_backward(g, cache["max_cache"]) * np.sign(x)
    total, out = cache["total"], cache["out"]
    # d out / d total = (1/p) total**(1/p - 1) = out / (p * total)
    d_total = np.zeros_like(total)
    np.divide(g * out, p * total, out=d_total, where=total != 0)
    d_pow = _window_sum_backward(d_total, x.shape, cache["kernel"], cache["stride"])
    return d_pow * (p * x ** (p - 1))


@error_prefix
def lp_pool2d(x, norm_type, kernel_size, stride=None):
    """Lp pooling of ``x`` (N, C, H, W); see ``lp_pool2d_forward``."""
    return lp_pool2d_forward(x, norm_type, kernel_size, stride)[0]


# --------------------------------------------------------------------------- adaptive pooling

def _adaptive_args(x, output_size):
    """Check ``x``; return it and ``output_size`` as an (H_out, W_out) pair (None: keep the input's)."""
    x = _check_x(x)
    if isinstance(output_size, (tuple, list)) and len(output_size) == 2:
        output_size = tuple(n if o is None else o for o, n in zip(output_size, x.shape[2:]))
    return x, as_pair(output_size, "output_size", minimum=1)


def _adaptive_bins(n_in, n_out):
    """PyTorch's bins: bin i covers ``[floor(i*n_in/n_out), ceil((i+1)*n_in/n_out))``.

    They cover the input, and overlap by one when n_out does not divide n_in.
    """
    i = np.arange(n_out)
    return i * n_in // n_out, ((i + 1) * n_in + n_out - 1) // n_out


def _bin_average_matrix(n_in, n_out, dtype):
    """The (n_out, n_in) matrix whose row i averages the inputs in bin i."""
    start, end = _adaptive_bins(n_in, n_out)
    pos = np.arange(n_in)
    in_bin = (start[:, None] <= pos) & (pos < end[:, None])
    return (in_bin / (end - start)[:, None]).astype(dtype)


@error_prefix
def adaptive_avg_pool2d_forward(x, output_size):
    """Adaptive average pooling: the mean of each of H_out×W_out bins, whatever the input size.

    ``x`` (N, C, H, W) -> out (N, C, H_out, W_out); ``output_size`` is an int or an
    (H_out, W_out) pair, where None keeps that input size. Rows are split into the bins
    ``[floor(i*H/H_out), ceil((i+1)*H/H_out))``, columns likewise. A bin average is
    separable, so ``out = A_h @ x @ A_w.T`` with the bin-averaging matrices A.

    Returns ``(out, cache)``.
    """
    x, (ho, wo) = _adaptive_args(x, output_size)
    rows = _bin_average_matrix(x.shape[2], ho, x.dtype)
    cols = _bin_average_matrix(x.shape[3], wo, x.dtype)
    out = rows @ x @ cols.T
    return out, {"op": "adaptive_avg_pool2d", "rows": rows, "cols": cols, "out_shape": out.shape,
                 "dtype": x.dtype}


@error_prefix
def adaptive_avg_pool2d_backward(grad_out, cache):
    """Gradient of adaptive average pooling: ``dx = A_h.T @ grad_out @ A_w``.

    ``grad_out`` (N, C, H_out, W_out) -> dx (N, C, H, W).
    """
    g = check_grad("adaptive_avg_pool2d", grad_out, cache)
    return cache["rows"].T @ g @ cache["cols"]


@error_prefix
def adaptive_avg_pool2d(x, output_size):
    """Adaptive average pooling of ``x`` (N, C, H, W); see ``adaptive_avg_pool2d_forward``."""
    return adaptive_avg_pool2d_forward(x, output_size)[0]


def _bin_max(x, n_out, axis):
    """Max over the adaptive bins along ``axis``, and the index along ``axis`` where it is."""
    start, end = _adaptive_bins(x.shape[axis], n_out)
    index_shape = [1] * x.ndim
    index_shape[axis] = n_out
    best = np.take(x, start, axis=axis)
    arg = np.broadcast_to(start.reshape(index_shape), best.shape)
    for d in range(1, int((end - start).max())):
        idx = np.minimum(start + d, end - 1)  # a shorter bin repeats its last element
        value = np.take(x, idx, axis=axis)
        # PyTorch's test: a strictly larger value (so the first max wins) or a NaN
        better = (value > best) | np.isnan(value)
        best = np.where(better, value, best)
        arg = np.where(better, idx.reshape(index_shape), arg)
    return best, arg


@error_prefix
def adaptive_max_pool2d_forward(x, output_size):
    """Adaptive max pooling: the max of each of H_out×W_out bins, whatever the input size.

    Shapes and bins as in ``adaptive_avg_pool2d_forward``. The max is separable: first
    the max over each column bin of every row, then over the row bins of those.

    Returns ``(out, cache)``.
    """
    x, (ho, wo) = _adaptive_args(x, output_size)
    n, c, h, w = x.shape
    row_max, col_arg = _bin_max(x, wo, axis=3)        # (N, C, H, W_out)
    out, row_arg = _bin_max(row_max, ho, axis=2)      # (N, C, H_out, W_out)
    # The first row holding the bin's max, then the first column of that row holding it:
    # the first max in row-major order, PyTorch's tie rule.
    col = np.take_along_axis(col_arg, row_arg, axis=2)
    plane = np.arange(n * c).reshape(n, c, 1, 1) * (h * w)
    flat_index = plane + row_arg * w + col
    return out, {"op": "adaptive_max_pool2d", "x_shape": x.shape, "out_shape": out.shape,
                 "dtype": x.dtype, "flat_index": flat_index}


@error_prefix
def adaptive_max_pool2d_backward(grad_out, cache):
    """Gradient of adaptive max pooling: each bin's gradient goes to its max.

    Overlapping bins that share their max add up. ``grad_out`` (N, C, H_out, W_out)
    -> dx (N, C, H, W).
    """
    g = check_grad("adaptive_max_pool2d", grad_out, cache)
    x_shape = cache["x_shape"]
    dx = np.bincount(cache["flat_index"].ravel(), weights=g.ravel(), minlength=int(np.prod(x_shape)))
    return dx.reshape(x_shape).astype(g.dtype)


@error_prefix
def adaptive_max_pool2d(x, output_size):
    """Adaptive max pooling of ``x`` (N, C, H, W); see ``adaptive_max_pool2d_forward``."""
    return adaptive_max_pool2d_forward(x, output_size)[0]


# --------------------------------------------------------------------------- global pooling

@error_prefix
def global_avg_pool2d(x):
    """Global average pooling: the mean of each channel, (N, C, H, W) -> (N, C), as
    :class:`cnnlib.nn.GlobalAvgPool2d`. (``adaptive_avg_pool2d(x, 1)`` keeps (N, C, 1, 1).)"""
    return _check_x(x).mean(axis=(2, 3))


@error_prefix
def global_max_pool2d(x):
    """Global max pooling: the max of each channel, (N, C, H, W) -> (N, C).
    (``adaptive_max_pool2d(x, 1)`` keeps (N, C, 1, 1).)"""
    return _check_x(x).max(axis=(2, 3))
