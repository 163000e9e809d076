"""Convolutions in NumPy: 2-D correlation of one image, conv1d/conv2d, transposed conv2d.

Arrays are NCHW and the layers follow ``torch.nn.functional``: ``conv2d`` is a
cross-correlation (the kernel is not flipped). Output size along each axis::

    convolution:  out = floor((n + 2p - d(k - 1) - 1) / s) + 1
    transposed:   out = (n - 1)s - 2p + d(k - 1) + output_padding + 1

How the layers are computed. Inside, the 4-D arrays are stored **batch-last**, (C, H, W, N):
the N samples of a pixel sit next to each other in memory. Then one matrix product covers
the whole batch, and a kernel tap's view of a channel is made of long contiguous runs (a
whole row of W*N numbers), which NumPy copies and adds several times faster than many short
rows. Results are handed back as NCHW *views* of that memory (``y.transpose(3, 0, 1, 2)``):
``y[n, c, h, w]`` is what it should be, only ``y.strides`` tell (a layer computed by one
product per output row stores (H, C, W, N), also batch-last). Element-wise NumPy code
keeps that order (ReLU, pooling, the next convolution), but an element-wise operation on
two arrays laid out differently (one batch-last, one NCHW) runs up to ~5x slower;
``np.ascontiguousarray(y)`` makes an NCHW copy.

* forward, **im2col**: the input is copied into a zero-padded buffer (C_in, Hp, Wp, N); a
  strided *view* of it with one axis per kernel tap, (C_in, kh, kw, H_out, W_out, N), copied
  once, gives the columns (C_in*kh*kw, H_out*W_out*N), and one matrix product
  ``w.reshape(C_out, C_in*kh*kw) @ columns`` is the output (C_out, H_out, W_out, N). The
  bias rides along: an extra column of the weights meets an extra row of ones.
* forward, **row shifts** (stride 1 along the rows, few output maps for many input maps):
  only the kw taps of a kernel row are copied into columns (C_in*kw, Hp*W_out*N); one matrix
  product with the kh kernel rows stacked, (kh*C_out, C_in*kw), gives what each kernel row
  adds at every padded row, and output row r sums kernel row i's part at padded row
  r + i*dh: kh - 1 shifted slice-adds. See :func:`_uses_row_shifts` for when.
* forward, **one product per output row** (a kernel of several rows, no dilation along the
  rows): the kw taps' columns of every padded row are stored row after row,
  (Hp, C_in*kw, W_out*N), so the kh padded rows that an output row reads form one plain
  strided matrix; a batched matmul over the output rows reads them in place and returns
  the output as (H_out, C_out, W_out, N). See :func:`_per_row_product`. Its backward
  (stride 1 along the rows) is two batched products of the same kind. The rules:
  :func:`_forward_path` for :func:`conv2d_forward`, :func:`_conv2d_inference` for
  :func:`conv2d`.
* forward without a cache (:func:`conv2d`, where one product per row does not apply): im2col
  a block of output rows at a time, into one reused buffer that stays in the CPU's cache
  between its copy and its product (:func:`_conv2d_blocked`), or the row shifts for layers
  with many output maps.
* backward: ``dw = grad @ columns.T`` over the whole batch (db comes from the ones row); the
  input gradient is **col2im**: one product gives ``w[:, :, i, j].T @ grad`` for every
  kernel tap (i, j), and each is added onto the pixels that tap read (one slice-add per
  tap). After a row-shift forward, its adjoint: the gradient placed once per kernel row
  (shifted by that row), one product, then kw slice-adds. After a per-row forward: see
  :func:`_per_row_backward`.
* input gradient for a stride s > 1, **by phases**: the input pixels whose row is r mod s
  (and column q mod s) receive only the taps i with i*d = r mod s, so they are a stride-1
  convolution of the gradient with those taps. One convolution computes all s*s phases,
  then a pixel shuffle puts each phase in place: no strided slice-adds. See
  :func:`_by_phases`.
* the transposed convolution is that input gradient, used as a layer. With stride 1 and
  no cache to keep, it is also a direct correlation of x with the flipped kernel (padding
  d(k - 1) - p where that is not negative; :func:`_as_correlation`), which one product per
  output row computes faster where it applies.
"""
from __future__ import annotations

import contextlib
import math
import threading
from typing import NamedTuple

import numpy as np

from ._checks import (
    as_float_array, as_pair, as_tuple, check_grad, check_ndim, resolve_padding, result_dtype,
)
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
]

_MODES = ("valid", "same", "full")


class _Geometry(NamedTuple):
    """Where the kernel taps of a (direct) convolution read: all im2col and col2im need."""

    in_size: tuple   # (H, W) of the direct convolution's input, before padding
    kernel: tuple    # (kh, kw)
    stride: tuple    # (sh, sw)
    dilation: tuple  # (dh, dw)
    pads: tuple      # ((top, bottom), (left, right))
    out: tuple       # (H_out, W_out)

    @property
    def padded(self):
        """(Hp, Wp): the size of the padded input."""
        (h, w), ((top, bottom), (left, right)) = self.in_size, self.pads
        return h + top + bottom, w + left + right


# ---------------------------------------------------------------------------
# Argument checking
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
    try:
        out = (conv_output_size(h + top + bottom, kh, sh, 0, dh),
               conv_output_size(w + left + right, kw, sw, 0, dw))
    except ValueError as err:
        x_shown, w_shown = shown or (x_shape, w_shape)
        raise ValueError(
            f"{fn}: the kernel of w (shape {w_shown}) does not fit in x of shape {x_shown} "
            f"with padding {pads} and dilation {dilation}: {err}"
        ) from None
    return _Geometry((h, w), (kh, kw), stride, dilation, pads, out)


# ---------------------------------------------------------------------------
# Work buffers
# ---------------------------------------------------------------------------

class _WorkBuffers:
    """Memory for the big temporaries of a call, kept for the next call.

    Why: the C library gives the memory of a large freed array back to the system, and every
    4 KiB page of the next call's array is then zeroed by the kernel on its first write (a
    page fault): ~2,000 faults per W4 float32 forward in a first version of this code,
    depending on what had run before. ``with _work.array(name, shape, dtype) as a:`` lends
    the buffer kept under ``name`` for the duration of the block (uninitialised; grown if
    too small). Only arrays that die with the block (nothing returned or cached is made from
    them) are made this way, so a result never shares memory with another call. A buffer
    lent to one thread is not lent to another (which gets a fresh one). One buffer per name
    is kept, none above 64 MiB; arrays under 1 MiB are simply allocated (the C library
    reuses those without faults). :func:`release_work_buffers` frees the kept buffers.
    """

    KEEP_BYTES = 64 * 2**20
    SMALL_BYTES = 2**20

    def __init__(self):
        self._free = {}  # name -> a 1-D uint8 array that is not lent out
        self._lock = threading.Lock()

    def array(self, name, shape, dtype):
        return _Loan(self, name, shape, np.dtype(dtype))

    def clear(self):
        with self._lock:
            self._free.clear()


class _Loan:
    """One ``with _work.array(...)`` block: takes a buffer on entry, gives it back on exit."""

    def __init__(self, pool, name, shape, dtype):
        self.pool, self.name, self.shape, self.dtype, self.buf = pool, name, shape, dtype, None

    def __enter__(self):
        nbytes = math.prod(self.shape) * self.dtype.itemsize
        if nbytes < self.pool.SMALL_BYTES:
            return np.empty(self.shape, self.dtype)
        with self.pool._lock:
            buf = self.pool._free.pop(self.name, None)
        if buf is None or buf.size < nbytes:
            buf = np.empty(nbytes, np.uint8)
        self.buf = buf
        return buf[:nbytes].view(self.dtype).reshape(self.shape)

    def __exit__(self, *exc_info):
        if self.buf is not None and self.buf.size <= self.pool.KEEP_BYTES:
            with self.pool._lock:
                self.pool._free.setdefault(self.name, self.buf)


_work = _WorkBuffers()


def release_work_buffers():
    """Free the memory that conv2d and conv_transpose2d keep for their temporaries."""
    _work.clear()


# ---------------------------------------------------------------------------
# The machinery: batch-last copies, im2col, col2im
# ---------------------------------------------------------------------------

def _batch_last(a, out, top=0, left=0):
    """Copy a (N, C, h, w) into out (C, H, W, N) at rows top.., columns left..; zeros around it."""
    h, w = a.shape[2:]
    if out.shape[1:3] != (h, w):  # zero the border
        out[:, :top] = 0
        out[:, top + h:] = 0
        out[:, top:top + h, :left] = 0
        out[:, top:top + h, left + w:] = 0
    out[:, top:top + h, left:left + w] = a.transpose(1, 2, 3, 0)
    return out


def _columns(x):
    """x (N, C, H, W) as a new batch-last matrix (C, H*W*N): column (h, w, n) is x[n, :, h, w]."""
    n, c, h, w = x.shape
    return _batch_last(x, np.empty((c, h, w, n), x.dtype)).reshape(c, h * w * n)


def _nchw(a):
    """A batch-last array (C, H, W, N) seen as (N, C, H, W): a view, nothing is copied."""
    return a.transpose(3, 0, 1, 2)


class _Padded(_Loan):
    """``with _Padded(x, geo) as padded:`` x (N, C, H, W) zero-padded and batch-last,
    (C, Hp, Wp, N), in a work array. (A class, not a generator: it is on every call's path.)"""

    def __init__(self, x, geo):
        super().__init__(_work, "padded", (x.shape[1], *geo.padded, x.shape[0]), x.dtype)
        self.x, self.top, self.left = x, geo.pads[0][0], geo.pads[1][0]

    def __enter__(self):
        return _batch_last(self.x, super().__enter__(), self.top, self.left)


def _with_ones(cols, k, bias):
    """cols (k [+ 1], L): if bias, its last row set to ones (what the bias multiplies)."""
    if bias:
        cols[k] = 1
    return cols


def _windows(padded, geo, start=0, stop=None):
    """The kernel windows of output rows start..stop: a view (C, kh, kw, rows, W_out, N).

    windows[c, i, j, r, q, n] = padded[c, (start + r)*sh + i*dh, q*sw + j*dw, n] of the
    batch-last padded input (C, Hp, Wp, N); built like np.lib.stride_tricks.as_strided but
    without its ~3 us overhead.
    """
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = geo.kernel, geo.stride, geo.dilation, geo.out
    stop = oh if stop is None else stop
    c, n = padded.shape[0], padded.shape[3]
    s_c, s_h, s_w, s_n = padded.strides
    return np.ndarray((c, kh, kw, stop - start, ow, n), padded.dtype, padded, start * sh * s_h,
                      (s_c, dh * s_h, dw * s_w, sh * s_h, sw * s_w, s_n))


def _im2col(x, geo, bias=False):
    """Columns (C*kh*kw [+ 1], H_out*W_out*N) of x (N, C, H, W), rows in the order (c, i, j).

    Column (r, q, n) holds the window of output pixel (r, q) of sample n. With ``bias``, a
    last row of ones.
    """
    n, c = x.shape[:2]
    (kh, kw), (oh, ow) = geo.kernel, geo.out
    k = c * kh * kw
    cols = np.empty((k + bias, oh * ow * n), x.dtype)
    with _Padded(x, geo) as buf:
        windows = _windows(buf, geo)
        cols[:k].reshape(windows.shape)[...] = windows  # the one big copy
    return _with_ones(cols, k, bias)


def _im2col_rows(x, geo, bias=False):
    """The columns of the row-shift forward: (C*kw [+ 1], Hp*W_out*N), rows in the order (c, j).

    Column (h, q, n) of row (c, j) is padded[c, h, q*sw + j*dw, n]: for output pixel (r, q),
    kernel row i reads column (r + i*dh, q, n). With ``bias``, a last row of ones.
    """
    n, c = x.shape[:2]
    kw, sw, dw, hp, ow = geo.kernel[1], geo.stride[1], geo.dilation[1], geo.padded[0], geo.out[1]
    cols = np.empty((c * kw + bias, hp * ow * n), x.dtype)
    with _Padded(x, geo) as buf:
        s_c, s_h, s_w, s_n = buf.strides
        windows = np.ndarray((c, kw, hp, ow, n), buf.dtype, buf, 0, (s_c, dw * s_w, s_h, sw * s_w, s_n))
        cols[:c * kw].reshape(windows.shape)[...] = windows
    return _with_ones(cols, c * kw, bias)


def _uses_row_shifts(w_shape, geo):
    """Whether the forward goes by row shifts (:func:`_conv2d_rows`) rather than by im2col.

    It needs stride 1 along the rows and a kernel of several rows. Its two big matrices
    (columns of C_in*kw rows, their product of kh*C_out rows) are then no larger than
    im2col's columns (C_in*kh*kw rows) when C_out <= C_in*kw: few output maps for many
    input maps. (On the course's layers it is then 1.1-2x faster.)
    """
    c_out, c_in, kh, kw = w_shape
    return geo.stride[0] == 1 and kh > 1 and c_out <= c_in * kw


def _flat(w):
    """A 4-D weight (A, B, kh, kw) as the matrix (A, B*kh*kw), columns in the order (b, i, j)."""
    a, b, kh, kw = w.shape
    return w.reshape(a, b * kh * kw)


def _rows_weights(w):
    """w (A, B, kh, kw) as (kh*A, B*kw): kernel row i in the rows [i*A, (i+1)*A), columns (b, j)."""
    a, b, kh, kw = w.shape
    return w.transpose(2, 0, 1, 3).reshape(kh * a, b * kw)


def _with_bias(w_matrix, b):
    """The weight matrix (A, K) with b as an extra last column (A, K + 1), which meets the ones row.

    b fills the top len(b) rows of that column (all of them, or kernel row 0 of the stacked
    row-shift weights), zeros the others.
    """
    if b is None:
        return w_matrix
    column = np.zeros((w_matrix.shape[0], 1), w_matrix.dtype)
    column[:len(b), 0] = b
    return np.concatenate([w_matrix, column], axis=1)


def _matmul(a, b, out=None):
    """np.matmul, except for an inner dimension of 1, where NumPy+OpenBLAS is ~10x slow."""
    return np.multiply(a, b, out=out) if a.shape[-1] == 1 else np.matmul(a, b, out=out)


def _times_transposed(a, b):
    """a @ b.T for two wide matrices (A, L) and (B, L), as (b @ a.T).T: OpenBLAS does that faster."""
    return (b @ a.T).T


def _conv2d(x, w, b, geo):
    """conv2d of checked arguments: the output (N, C_out, H_out, W_out) and what the backward needs.

    The second result is (columns, path): the path that :func:`_forward_path` chose and the
    columns it made (:func:`_im2col`'s, :func:`_im2col_rows`' or :func:`_row_columns`').
    """
    path = _forward_path(w.shape, geo, x.dtype)
    if path == "per row":
        shape = _row_columns_shape(x.shape, w.shape, geo, b is not None)
        cols = _row_columns(x, geo, w.shape[3], np.empty(shape, x.dtype))
        return _per_row_product(cols, w, b, geo), (cols, path)
    if path == "row shifts":
        return _conv2d_rows(x, w, b, geo)
    (n, c_out), (oh, ow) = (x.shape[0], w.shape[0]), geo.out
    cols = _im2col(x, geo, bias=b is not None)
    w_cols = _with_bias(_flat(w), b)
    if x.dtype == np.float32 and c_out < 8:
        # One product per output row: for so few rows of weights OpenBLAS's float32 product
        # of all the columns at once is 2-3x slower (in float64 or from 8 maps on, it is not).
        y = np.matmul(w_cols, cols.reshape(-1, oh, ow * n).transpose(1, 0, 2))  # (H_out, C_out, W_out*N)
        return y.reshape(oh, c_out, ow, n).transpose(3, 1, 0, 2), (cols, "im2col")
    y = w_cols @ cols  # (C_out, H_out*W_out*N)
    return _nchw(y.reshape(c_out, oh, ow, n)), (cols, "im2col")


def _conv2d_rows(x, w, b, geo):
    """conv2d by row shifts (stride 1 along the rows): the output and its columns.

    One matrix product applies each of the kh kernel rows at every padded row, z[i] =
    w[:, :, i, :] @ columns; output row r then sums z[i] at padded row r + i*dh.
    """
    (n, c_out, kh), (oh, ow) = (x.shape[0], w.shape[0], w.shape[2]), geo.out
    cols = _im2col_rows(x, geo, bias=b is not None)
    w_rows = _with_bias(_rows_weights(w), b)  # (kh*C_out, C_in*kw [+ 1]); b with kernel row 0
    step, span = geo.dilation[0] * ow * n, oh * ow * n  # one padded row of the columns is ow*n long
    with _work.array("rows product", (kh, c_out, cols.shape[1]), x.dtype) as z:
        _matmul(w_rows, cols, out=z.reshape(kh * c_out, cols.shape[1]))
        y = z[0, :, :span] + z[1, :, step:step + span]
        for i in range(2, kh):
            y += z[i, :, i * step:i * step + span]
    return _nchw(y.reshape(c_out, oh, ow, n)), (cols, "row shifts")


# The inference forward (conv2d, no cache) computes im2col in blocks of output rows: blocks
# of a few hundred KiB of columns (each is copied, then read straight back by the product,
# while still in the core's L2 cache) when the product does little work per column (fewer
# than _BLOCK_MAPS output maps). With more maps the product is bound by arithmetic, not by
# memory: then the row shifts where they apply, else blocks as large as _MAX_BLOCK_BYTES.
_BLOCK_BYTES = 2**19
_BLOCK_MAPS = 32
_MAX_BLOCK_BYTES = 2**25


def _conv2d_blocked(x, w, b, geo):
    """conv2d without a cache (inference): im2col and the product, a block of output rows
    at a time, in a reused buffer.

    The same columns and product as :func:`_conv2d`, but never all the columns at once:
    with few output maps the product is bound by reading its columns, and a block it reads
    right after it was written comes from the cache, not from memory (W3a, W5: 1.3-1.7x
    faster than all at once). Returns (N, C_out, H_out, W_out), an NCHW view.
    """
    (n, c_in), (c_out, _, kh, kw), (oh, ow) = x.shape[:2], w.shape, geo.out
    k, bias = c_in * kh * kw, b is not None
    row_bytes = (k + bias) * ow * n * x.dtype.itemsize  # the columns of one output row
    block = _MAX_BLOCK_BYTES if c_out >= _BLOCK_MAPS else _BLOCK_BYTES
    rows = max(1, min(oh, block // max(row_bytes, 1)))  # (row_bytes is 0 for an empty batch)
    w_cols = _with_bias(_flat(w), b)
    y = np.empty((c_out, oh * ow * n), x.dtype)
    with _Padded(x, geo) as padded, _work.array("block", ((k + bias) * rows * ow * n,), x.dtype) as buf:
        for start in range(0, oh, rows):
            stop = min(start + rows, oh)
            windows = _windows(padded, geo, start, stop)
            cols = buf[:(k + bias) * (stop - start) * ow * n].reshape(k + bias, (stop - start) * ow * n)
            cols[:k].reshape(windows.shape)[...] = windows
            _matmul(w_cols, _with_ones(cols, k, bias), out=y[:, start * ow * n:stop * ow * n])
    return _nchw(y.reshape(c_out, oh, ow, n))


def _uses_row_products(w_shape, geo, dtype):
    """Whether conv2d goes by one product per output row (:func:`_per_row_product`): a
    kernel of several rows, no dilation along the rows, and not float32 with fewer than 8
    output maps (for so few rows of weights OpenBLAS's float32 products are 2-3x slow;
    im2col does better then).
    """
    c_out, kh = w_shape[0], w_shape[2]
    return kh > 1 and geo.dilation[0] == 1 and not (dtype == np.float32 and c_out < 8)


def _forward_path(w_shape, geo, dtype):
    """How :func:`conv2d_forward` computes a layer: "per row", "row shifts" or "im2col".

    One product per output row where it applies and the rows have stride 1 (its backward,
    :func:`_per_row_backward`, needs that); else the row shifts where they apply; else im2col.
    """
    if geo.stride[0] == 1 and _uses_row_products(w_shape, geo, dtype):
        return "per row"
    return "row shifts" if _uses_row_shifts(w_shape, geo) else "im2col"


def _row_columns(x, geo, kw, out):
    """Fill ``out`` (Hp, C_in*kw [+ 1], W_out, N) with the columns of the per-row product of
    x (N, C_in, H, W) and return it: row (c, j) of padded row h holds
    padded[c, h, q*sw + j*dw, n] at (q, n); a last row of ones if ``out`` has one (for the bias).
    """
    (n, c_in), hp, sw, dw, ow = x.shape[:2], geo.padded[0], geo.stride[1], geo.dilation[1], geo.out[1]
    with _Padded(x, geo) as padded:
        s_c, s_h, s_w, s_n = padded.strides
        taps = np.ndarray((hp, c_in, kw, ow, n), x.dtype, padded, 0, (s_h, s_c, dw * s_w, sw * s_w, s_n))
        out[:, :c_in * kw].reshape(taps.shape)[...] = taps
    if out.shape[1] > c_in * kw:
        out[:, -1] = 1
    return out


def _row_columns_shape(x_shape, w_shape, geo, bias):
    return (geo.padded[0], x_shape[1] * w_shape[3] + bias, geo.out[1], x_shape[0])


def _rows_read(a, count, kh, step=1):
    """The kh consecutive rows that each of ``count`` outputs reads from a (rows, K, L), one
    output every ``step`` rows: a strided view (count, kh*K, L), nothing is copied."""
    k, span = a.shape[1], math.prod(a.shape[2:])  # a is C-contiguous
    return np.ndarray((count, kh * k, span), a.dtype, a, 0, (step * a.strides[0], a.strides[1], a.itemsize))


def _per_row_product(cols, w, b, geo):
    """conv2d by one matrix product per output row, from :func:`_row_columns`' columns.
    Returns (N, C_out, H_out, W_out), an NCHW view of (H_out, C_out, W_out, N).

    The kh padded rows that output row r reads, r*sh .. r*sh + kh - 1, are consecutive in
    the columns: a plain strided matrix (kh*(C_in*kw [+ 1]), W_out*N) with rows (i, c, j),
    which the product reads in place. One batched matmul of the weights
    (C_out, kh*(C_in*kw [+ 1])) with these H_out matrices gives the output
    (H_out, C_out, W_out*N): no shifted rows to add and no product larger than the output
    (W4: 1.2x faster than the row shifts).
    """
    (c_out, c_in, kh, kw), (oh, ow), n = w.shape, geo.out, cols.shape[3]
    k, bias = c_in * kw, b is not None
    w_rows = np.zeros((c_out, kh, k + bias), cols.dtype)  # kernel row i's weights, then b or 0
    w_rows[:, :, :k] = w.transpose(0, 2, 1, 3).reshape(c_out, kh, k)
    if bias:
        w_rows[:, 0, k] = b
    y = np.matmul(w_rows.reshape(c_out, kh * (k + bias)), _rows_read(cols, oh, kh, geo.stride[0]))
    return y.reshape(oh, c_out, ow, n).transpose(3, 1, 0, 2)


def _per_row_backward(grad_out, cols, w, geo, bias):
    """Gradients (dx, dw, db) of the per-row forward (stride 1 along the rows), from its
    columns (:func:`_row_columns`).

    With the output gradient stored (rows, C_out, W_out*N) between kh - 1 zero rows above
    and below: dw = sum over output rows r of g_r @ B_r^T (B_r as in the forward; db comes
    from the ones row), and padded row h of the columns receives
    sum_i w_i^T g_(h - i), a product with the kh consecutive rows g_(h-kh+1) .. g_h: one
    batched matmul over the padded rows, then kw slice-adds move column (c, j) j*dw pixels
    right. dx is an NCHW view of (H, C_in, W, N).
    """
    (n, c_out), (c_in, kh, kw), (oh, ow) = grad_out.shape[:2], w.shape[1:], geo.out
    (hp, wp), sw, dw = geo.padded, geo.stride[1], geo.dilation[1]
    k, span = c_in * kw, ow * n
    padded = np.zeros((hp, c_in, wp, n), grad_out.dtype)
    rows = oh + 2 * (kh - 1)
    with _work.array("grad rows", (rows, c_out, ow, n), grad_out.dtype) as g_rows:
        g_rows[:kh - 1] = 0
        g_rows[kh - 1 + oh:] = 0
        g_rows[kh - 1:kh - 1 + oh] = grad_out.transpose(2, 1, 3, 0)
        g = g_rows[kh - 1:kh - 1 + oh].reshape(oh, c_out, span)
        # B_r @ g_r^T is faster in OpenBLAS than g_r @ B_r^T.
        dwb = np.matmul(_rows_read(cols, oh, kh), g.transpose(0, 2, 1)).sum(axis=0)  # (kh*(k + bias), C_out)
        dwb = dwb.reshape(kh, k + bias, c_out)
        grad_w = dwb[:, :k].reshape(kh, c_in, kw, c_out).transpose(3, 1, 0, 2)
        db = dwb[0, k] if bias else None
        # Columns (c, j) of g_rows' rows h .. h + kh - 1 meet kernel rows kh - 1 .. 0.
        w_flipped = w[:, :, ::-1].transpose(1, 3, 2, 0).reshape(k, kh * c_out)
        with _work.array("column grads", (hp, c_in, kw, ow, n), grad_out.dtype) as dcols:
            np.matmul(w_flipped, _rows_read(g_rows.reshape(rows, c_out, span), hp, kh),
                      out=dcols.reshape(hp, k, span))
            for j in range(kw):
                padded[:, :, j * dw:j * dw + (ow - 1) * sw + 1:sw] += dcols[:, :, j]
    (top, _), (left, _) = geo.pads
    height, width = geo.in_size
    return padded[top:top + height, :, left:left + width].transpose(3, 1, 0, 2), grad_w, db


def _conv2d_per_row(x, w, b, geo):
    """conv2d without a cache by one product per output row, its columns in a work array."""
    shape = _row_columns_shape(x.shape, w.shape, geo, b is not None)
    with _work.array("row columns", shape, x.dtype) as cols:
        return _per_row_product(_row_columns(x, geo, w.shape[3], cols), w, b, geo)


def _conv2d_inference(x, w, b, geo):
    """conv2d of checked arguments, keeping nothing: one product per output row where that
    applies, else the row shifts for many output maps, else im2col in blocks.
    Returns (N, C_out, H_out, W_out), an NCHW view."""
    if _uses_row_products(w.shape, geo, x.dtype):
        return _conv2d_per_row(x, w, b, geo)
    if w.shape[0] >= _BLOCK_MAPS and _uses_row_shifts(w.shape, geo):
        return _conv2d_rows(x, w, b, geo)[0]
    return _conv2d_blocked(x, w, b, geo)


def _by_phases(x, w, geo, b=None):
    """The transposed convolution of x for a stride above 1: one direct convolution, then a
    pixel shuffle. (:func:`_col2im` by another route.)

    x: (N, A, H_out, W_out), shaped like the output of the direct convolution of ``geo``;
    w: (A, C, kh, kw); b: (C,) or None. Returns (C, H, W, N), batch-last, with (H, W) =
    geo.in_size.

    Tap i of the direct convolution reads padded row P = s*a + i*d for input row a, so
    ``x[a]`` reaches padded row P = s*R + rho with phase rho = (i*d) mod s and
    R = a + (i*d) // s. The rows of one phase are thus a stride-1 correlation of x with
    the taps of that phase, at row offsets u = (i*d) // s < U = (k - 1)*d // s + 1. All
    s_h*s_w phases come from one convolution of x (zero-padded by U - 1 in front) with a
    U_h x U_w kernel and s_h*s_w*C output maps (zeros where a phase lacks a tap); each
    phase's maps then fill every s-th row and column of the output. This replaces kh*kw
    strided slice-adds by a single product (1.4-1.6x faster on the benchmark's 2x
    upsampling).
    """
    n, a_maps = x.shape[:2]
    c, kh, kw = w.shape[1:]
    (sh, sw), (dh, dw), (height, width) = geo.stride, geo.dilation, geo.in_size
    (top, _), (left, _) = geo.pads
    uh, uw = (kh - 1) * dh // sh + 1, (kw - 1) * dw // sw + 1
    rows, cols = -(-(top + height) // sh), -(-(left + width) // sw)  # R, S of every phase
    i, j = np.arange(kh) * dh, np.arange(kw) * dw
    w_phases = np.zeros((sh, sw, c, a_maps, uh, uw), w.dtype)
    w_phases[(i % sh)[:, None], (j % sw)[None, :], :, :,
             (uh - 1 - i // sh)[:, None], (uw - 1 - j // sw)[None, :]] = w.transpose(2, 3, 1, 0)
    x = x[:, :, :rows, :cols]  # rows of x past R's range reach no output pixel
    h, wd = x.shape[2:]
    phase_geo = _Geometry((h, wd), (uh, uw), (1, 1), (1, 1),
                          ((uh - 1, rows - h), (uw - 1, cols - wd)), (rows, cols))
    z = _conv2d_inference(x, w_phases.reshape(sh * sw * c, a_maps, uh, uw), None, phase_geo)
    z = z.transpose(1, 2, 3, 0).reshape(sh, sw, c, rows, cols, n)
    out = np.empty((c, height, width, n), x.dtype)
    for rho in range(min(sh, height)):
        r0 = (top + rho) // sh
        r1 = r0 + len(range(rho, height, sh))
        for sigma in range(min(sw, width)):
            c0 = (left + sigma) // sw
            c1 = c0 + len(range(sigma, width, sw))
            phase = z[(top + rho) % sh, (left + sigma) % sw, :, r0:r1, c0:c1]
            if b is None:
                out[:, rho::sh, sigma::sw] = phase
            else:
                np.add(phase, b[:, None, None, None], out=out[:, rho::sh, sigma::sw])
    return out


def _col2im(g, w, geo, n):
    """The input gradient of a stride-1 convolution, given its output gradient: w^T g, then
    col2im. (For a larger stride: :func:`_by_phases`.)

    g: (A, H_out*W_out*N), the output gradient, batch-last; w: (A, C, kh, kw). Every kernel
    tap (i, j) adds w[:, :, i, j].T @ g onto the pixels it read (the adjoint of
    :func:`_im2col`). Returns (N, C, H, W), with (H, W) = geo.in_size, an NCHW view.
    """
    channels, kh, kw = w.shape[1:]
    (oh, ow), (dh, dw) = geo.out, geo.dilation
    padded = np.zeros((channels, *geo.padded, n), g.dtype)
    taps = w.transpose(2, 3, 1, 0).reshape(kh * kw * channels, -1)  # rows (i, j, c)
    with _work.array("taps @ g", (kh, kw, channels, oh, ow, n), g.dtype) as product:
        _matmul(taps, g, out=product.reshape(kh * kw * channels, -1))  # every tap at once
        for i in range(kh):
            for j in range(kw):
                padded[:, i * dh:i * dh + oh, j * dw:j * dw + ow] += product[i, j]
    (top, _), (left, _) = geo.pads
    height, width = geo.in_size
    return _nchw(padded[:, top:top + height, left:left + width])


@contextlib.contextmanager
def _shifted_rows(g, geo, n):
    """The output gradient g (A, H_out*W_out*N) once for every kernel row, at that row's
    offset: a work array (kh*A, Hp*W_out*N) whose block i is g moved down i*dh rows, zeros
    elsewhere (what kernel row i sent to each padded row).
    """
    a, kh, hp, (oh, ow), dh = g.shape[0], geo.kernel[0], geo.padded[0], geo.out, geo.dilation[0]
    with _work.array("shifted grad", (kh, a, hp, ow * n), g.dtype) as shifted:
        for i in range(kh):
            shifted[i, :, :i * dh] = 0
            shifted[i, :, i * dh:i * dh + oh] = g.reshape(a, oh, ow * n)
            shifted[i, :, i * dh + oh:] = 0
        yield shifted.reshape(kh * a, hp * ow * n)


def _col2im_rows(shifted, w, geo, n):
    """:func:`_col2im` for stride 1 along the rows, the adjoint of the row-shift forward.

    shifted: (kh*A, Hp*W_out*N) from :func:`_shifted_rows`; w: (A, C, kh, kw). One matrix
    product gives the gradient of the columns of :func:`_im2col_rows`; its row (c, j) is
    then added onto channel c, j*dw pixels to the right.
    """
    channels, kw = w.shape[1], w.shape[3]
    (hp, _), ow, sw, dw = geo.padded, geo.out[1], geo.stride[1], geo.dilation[1]
    padded = np.zeros((channels, *geo.padded, n), shifted.dtype)
    with _work.array("column grads", (channels, kw, hp, ow, n), shifted.dtype) as dcols:
        _matmul(_rows_weights(w).T, shifted, out=dcols.reshape(channels * kw, -1))
        for j in range(kw):
            padded[:, :, j * dw:j * dw + (ow - 1) * sw + 1:sw] += dcols[:, j]
    (top, _), (left, _) = geo.pads
    height, width = geo.in_size
    return _nchw(padded[:, top:top + height, left:left + width])


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
    return _conv2d(x, w, None, geo)[0][0, 0]


def correlate2d(image, kernel, mode="valid"):
    """2-D cross-correlation of one image with one kernel, as ``scipy.signal.correlate2d``.

    ``out[r, c] = sum_{i, j} image[r + i, c + j] * kernel[i, j]`` (in "valid" mode).

    image: (H, W); kernel: (kh, kw); mode: "valid" (only where the kernel fits; result
    (H - kh + 1, W - kw + 1)), "same" (result (H, W), centred as SciPy does) or "full"
    (every overlap; result (H + kh - 1, W + kw - 1)). Unlike SciPy, a kernel larger than
    the image in "valid" mode is an error, not a silent swap of the two arguments.
    """
    return _correlate_image("correlate2d", image, kernel, mode, flip=False)


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
    return _conv2d(x4, w4, b, geo)[0][:, :, 0, :]


def _conv2d_args(x, w, b, stride, padding, dilation):
    x, w, b = _operands("conv2d", x, w, b, "(N, C_in, H, W)", "(C_out, C_in, kh, kw)")
    stride = as_pair(stride, "stride", minimum=1)
    dilation = as_pair(dilation, "dilation", minimum=1)
    pads = resolve_padding(padding, w.shape[2:], stride, dilation)
    return x, w, b, _conv_geometry("conv2d", x.shape, w.shape, stride, pads, dilation)


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    """2-D convolution layer (cross-correlation), as ``torch.nn.functional.conv2d``.

    x: (N, C_in, H, W); w: (C_out, C_in, kh, kw); b: (C_out,) or None.
    stride, dilation: int >= 1 or an (h, w) pair. padding: int >= 0 or an (h, w) pair
    (zeros on each side), or "valid" (none), "same" (output size = input size; stride 1
    only; an odd total puts the extra zero after, as PyTorch does) or "full"
    (dilation*(k - 1) on each side).

    Returns (N, C_out, H_out, W_out) with ``H_out = floor((H + 2p - d(kh - 1) - 1) / s) + 1``
    (W_out likewise): a new array, stored batch-last (see the module docstring).
    """
    x, w, b, geo = _conv2d_args(x, w, b, stride, padding, dilation)
    return _conv2d_inference(x, w, b, geo)


def conv2d_forward(x, w, b=None, stride=1, padding=0, dilation=1):
    """:func:`conv2d` that also returns the cache needed by :func:`conv2d_backward`.

    Arguments and output as in :func:`conv2d`. The cache keeps the columns of the forward
    (im2col's, the row shifts' or the per-row product's) and a reference to ``w`` (do not
    change ``w`` in place before the backward pass).
    """
    x, w, b, geo = _conv2d_args(x, w, b, stride, padding, dilation)
    y, (cols, path) = _conv2d(x, w, b, geo)
    cache = {"op": "conv2d", "cols": cols, "path": path, "w": w, "has_bias": b is not None,
             "geometry": geo, "out_shape": y.shape, "dtype": y.dtype}
    return y, cache


def conv2d_backward(grad_out, cache):
    """Gradients of :func:`conv2d_forward`.

    grad_out: (N, C_out, H_out, W_out), the gradient of the loss w.r.t. the output.
    Returns (dx, dw, db) shaped like x (N, C_in, H, W), w (C_out, C_in, kh, kw) and
    b (C_out,); db is None when the forward pass had no bias.
    """
    grad_out = check_grad("conv2d", grad_out, cache)
    w, cols, path, geo = cache["w"], cache["cols"], cache["path"], cache["geometry"]
    (n, c_out), (c_in, kh, kw), (oh, ow) = grad_out.shape[:2], w.shape[1:], geo.out
    bias = cache["has_bias"]
    if path == "per row":
        return _per_row_backward(grad_out, cols, w, geo, bias)
    with _work.array("grad", (c_out, oh, ow, n), grad_out.dtype) as g:
        g = _batch_last(grad_out, g).reshape(c_out, oh * ow * n)
        # dw = g @ cols.T, summed over the batch and the pixels; db comes with it, from the
        # ones row of the columns.
        if path == "row shifts":
            with _shifted_rows(g, geo, n) as shifted:
                dwb = _times_transposed(shifted, cols)  # (kh*C_out, C_in*kw [+ 1])
                dx = _col2im_rows(shifted, w, geo, n)
            dw = dwb[:, :c_in * kw].reshape(kh, c_out, c_in, kw).transpose(1, 2, 0, 3)
            db = dwb[:c_out, -1] if bias else None
        else:
            dwb = _times_transposed(g, cols)  # (C_out, C_in*kh*kw [+ 1])
            dw = dwb[:, :c_in * kh * kw].reshape(w.shape)
            db = dwb[:, -1] if bias else None
            if geo.stride == (1, 1):
                dx = _col2im(g, w, geo, n)
            else:
                dx = _nchw(_by_phases(_nchw(g.reshape(c_out, oh, ow, n)), w, geo))
    return dx, dw, db


# ---------------------------------------------------------------------------
# Transposed convolution
# ---------------------------------------------------------------------------

def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1):
    """Transposed 2-D convolution, as ``torch.nn.functional.conv_transpose2d``.

    The gradient of :func:`conv2d` w.r.t. its input, used as a layer (an upsampling one
    when stride > 1); stride, padding and dilation are those of that direct convolution.

    x: (N, C_in, H, W); w: (C_in, C_out, kh, kw) (PyTorch's layout); b: (C_out,) or None.
    stride, dilation: int >= 1 or an (h, w) pair; padding: int >= 0 or a pair;
    output_padding: int or pair, each smaller than the stride or the dilation: the rows
    and columns it adds at the bottom and right pick one of the output sizes that the
    direct convolution maps to (H, W).

    Returns (N, C_out, H_out, W_out) with
    ``H_out = (H - 1)s - 2p + d(kh - 1) + output_padding + 1`` (W_out likewise), stored
    batch-last like the results of :func:`conv2d`.
    """
    x, w, b, geo = _conv_transpose2d_args(x, w, b, stride, padding, output_padding, dilation)
    if geo.stride == (1, 1):
        flipped, direct = _as_correlation(x, w, geo)
        if direct is not None and _uses_row_products(flipped.shape, direct, x.dtype):
            return _conv2d_per_row(x, flipped, b, direct)
    return _conv_transpose2d(x, w, b, geo)


def _as_correlation(x, w, geo):
    """A stride-1 transposed convolution as a direct one: (kernel, geometry), or (None, None).

    y[o, a] = sum over taps i of x[a + p - i*d] w[:, o, i] is a correlation of x with the
    flipped kernel, transposed to (C_out, C_in, kh, kw), on x padded by d(k - 1) - p before
    (and as much after as makes the output size, output_padding included). None where that
    padding would be negative (p > d(k - 1)).
    """
    pads = []
    for n_in, n_out, k, d, (p, _) in zip(x.shape[2:], geo.in_size, geo.kernel, geo.dilation, geo.pads):
        before = d * (k - 1) - p
        if before < 0:
            return None, None
        pads.append((before, n_out - n_in + d * (k - 1) - before))  # before + output_padding
    flipped = w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)
    return flipped, _Geometry(x.shape[2:], geo.kernel, (1, 1), geo.dilation, tuple(pads), geo.in_size)


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
    geo = _Geometry(out, w.shape[2:], stride, dilation, pads, x.shape[2:])
    return x, w, b, geo


def conv_transpose2d_forward(x, w, b=None, stride=1, padding=0, output_padding=0, dilation=1):
    """:func:`conv_transpose2d` that also returns the cache for :func:`conv_transpose2d_backward`.

    Computed as the input gradient of the direct convolution: for stride 1, one matrix
    product with ``w`` and a col2im; for a larger stride, one direct convolution and a
    pixel shuffle (see the module docstring).
    """
    x, w, b, geo = _conv_transpose2d_args(x, w, b, stride, padding, output_padding, dilation)
    x_cols = _columns(x)
    y = _conv_transpose2d(x, w, b, geo, x_cols)
    cache = {"op": "conv_transpose2d", "x_cols": x_cols, "w": w, "has_bias": b is not None,
             "geometry": geo, "out_shape": y.shape, "dtype": y.dtype}
    return y, cache


def _conv_transpose2d(x, w, b, geo, x_cols=None):
    """conv_transpose2d of checked arguments. x_cols: x batch-last, (C_in, H*W*N), if made."""
    if geo.stride != (1, 1):
        return _nchw(_by_phases(x, w, geo, b))
    n = x.shape[0]
    if x_cols is None:
        x_cols = _columns(x)
    if w.shape[2] > 1:
        with _shifted_rows(x_cols, geo, n) as shifted:
            y = _col2im_rows(shifted, w, geo, n)
    else:
        y = _col2im(x_cols, w, geo, n)
    if b is not None:
        y += b[:, None, None]
    return y


def conv_transpose2d_backward(grad_out, cache):
    """Gradients of :func:`conv_transpose2d_forward`.

    grad_out: (N, C_out, H_out, W_out). Returns (dx, dw, db) shaped like x (N, C_in, H, W),
    w (C_in, C_out, kh, kw) and b (C_out,); db is None without bias. The input gradient
    is the direct convolution of grad_out with w.
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
