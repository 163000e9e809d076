"""The fast routes of the convolution, each a strategy, and the table that chooses one.

:mod:`cnnlib.conv_reference` says *what* a convolution computes, one kernel tap at a time;
this module computes the same numbers several times faster. Each route is a
:class:`Strategy`: a name, a rule saying when it applies (from the weights' shape, the
geometry and the dtype) and the functions that run it. :data:`STRATEGIES` holds one table
per job, and :func:`choose` takes the first strategy of a table that applies: that is the
only place where a route is chosen. The tests run every strategy of every table against
the reference on one grid of cases.

Memory layout. Inside, the 4-D arrays are stored **batch-last**, (C, H, W, N): the N samples
of a pixel sit next to each other in memory. Then one matrix product covers the whole
batch, and a kernel tap's view of a channel is made of long contiguous runs (a whole row of
W*N numbers), which NumPy copies and adds several times faster than many short rows. The
strategies return NCHW *views* of that memory, and :mod:`cnnlib.conv` hands them out as
they are: NCHW arrays whose strides differ from C order's, which every NumPy operation takes
as it takes any array (no other module reasons about them). A C-order copy would cost a
transposing copy per call (W2 forward 1.6-2.5x slower, W3a 1.4-2x, measured on the machine of
benchmarks/README.md's record of 2026-12-03; the peak memory of a W4 forward
and backward 8.4x x.nbytes instead of 6.4x), and the next layer's batch-last copy would
transpose it back.

The routes:

* forward, **im2col**: the input is copied into a zero-padded buffer (C_in, Hp, Wp, N); a
  strided *view* of it with one axis per kernel tap, (C_in, kh, kw, H_out, W_out, N), copied
  once, gives the columns (C_in*kh*kw, H_out*W_out*N), and one matrix product
  ``w.reshape(C_out, C_in*kh*kw) @ columns`` is the output (C_out, H_out, W_out, N). The
  bias rides along: an extra column of the weights meets an extra row of ones.
* forward, **row shifts** (stride 1 along the rows, few output maps for many input maps):
  only the kw taps of a kernel row are copied into columns (C_in*kw, Hp*W_out*N); one matrix
  product with the kh kernel rows stacked, (kh*C_out, C_in*kw), gives what each kernel row
  adds at every padded row, and output row r sums kernel row i's part at padded row
  r + i*dh: kh - 1 shifted slice-adds. See :func:`_row_shifts_pay` for when.
* forward, **one product per output row** (a kernel of several rows, no dilation along the
  rows): the kw taps' columns of every padded row are stored row after row,
  (Hp, C_in*kw, W_out*N), so the kh padded rows that an output row reads form one plain
  strided matrix; a batched matmul over the output rows reads them in place and returns
  the output as (H_out, C_out, W_out, N). See :func:`_per_row_product`. Its backward
  (stride 1 along the rows) is two batched products of the same kind.
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
  d(k - 1) - p where that is not negative; :func:`_correlation_geometry`), which one product per
  output row computes faster where it applies.
"""
from __future__ import annotations

import contextlib
import math
import os
import threading
from typing import Callable, NamedTuple, Optional

import numpy as np


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


class _WorkBuffers:
    """Memory for the big temporaries of a call, kept for the next call.

    Why: the C library gives the memory of a large freed array back to the system, and every
    4 KiB page of the next call's array is then zeroed by the kernel on its first write (a
    page fault): ~2,000 faults per W4 float32 forward in a first version of this code,
    depending on what had run before. ``with _work.array(name, shape, dtype) as a:`` lends
    the buffer kept under ``name`` for the duration of the block (uninitialised; grown if
    too small). Only arrays that die with the block (nothing returned or cached is made from
    them) are made this way, so a result never shares memory with another call, and every
    strategy writes a lent array before it reads it (the tests lend arrays full of NaN to
    check). A buffer lent to one thread is not lent to another (which gets a fresh one).

    At most ``limit`` bytes are kept in all (``CNNLIB_WORK_BUFFERS_MB`` in the environment,
    default 64 MiB; 0 keeps nothing); arrays under 1 MiB are simply allocated (the C library
    reuses those without faults). See :func:`cnnlib.conv.work_buffer_limit`.
    """

    SMALL_BYTES = 2**20

    def __init__(self, limit):
        self.limit = limit
        self.poison = False  # tests: fill every lent array with NaN
        self._free = {}  # name -> a 1-D uint8 array that is not lent out
        self._lock = threading.Lock()

    def array(self, name, shape, dtype):
        return _Loan(self, name, shape, np.dtype(dtype))

    def keep(self, name, buf):
        """Keep ``buf`` for the next loan of ``name`` if it fits under the limit."""
        with self._lock:
            kept = sum(b.size for b in self._free.values())
            if name not in self._free and kept + buf.size <= self.limit:
                self._free[name] = buf

    def kept_bytes(self):
        with self._lock:
            return sum(b.size for b in self._free.values())

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
            out = np.empty(self.shape, self.dtype)
        else:
            with self.pool._lock:
                buf = self.pool._free.pop(self.name, None)
            if buf is None or buf.size < nbytes:
                buf = np.empty(nbytes, np.uint8)
            self.buf = buf
            out = buf[:nbytes].view(self.dtype).reshape(self.shape)
        if self.pool.poison:
            out.fill(np.nan)
        return out

    def __exit__(self, *exc_info):
        if self.buf is not None:
            self.pool.keep(self.name, self.buf)


def _limit_from_environment():
    try:
        return max(0, int(float(os.environ.get("CNNLIB_WORK_BUFFERS_MB", 64)) * 2**20))
    except ValueError:
        return 64 * 2**20


_work = _WorkBuffers(_limit_from_environment())


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
    (C, Hp, Wp, N), in a work array, to be read only; without padding, x itself where its
    memory is already in that order. (A class, not a generator: it is on every call's path.)"""

    def __init__(self, x, geo):
        super().__init__(_work, "padded", (x.shape[1], *geo.padded, x.shape[0]), x.dtype)
        self.x, self.top, self.left = x, geo.pads[0][0], geo.pads[1][0]

    def __enter__(self):
        if self.shape[1:3] == self.x.shape[2:]:  # no padding: x itself, if already batch-last
            view = self.x.transpose(1, 2, 3, 0)  # (one sample, or a strategy's result)
            if view.flags.c_contiguous:
                return view
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


# ---------------------------------------------------------------------------
# Forward routes of conv2d. Each takes checked arguments (x, w, b, geo) and returns the
# output as an NCHW view; those that keep a cache also return what their backward needs.
# ---------------------------------------------------------------------------

def _im2col_forward(x, w, b, geo):
    """conv2d by im2col: the output and the columns (:func:`_im2col`) its backward needs."""
    (n, c_out), (oh, ow) = (x.shape[0], w.shape[0]), geo.out
    cols = _im2col(x, geo, bias=b is not None)
    w_cols = _with_bias(_flat(w), b)
    if x.dtype == np.float32 and c_out < 8:
        # One product per output row: for so few rows of weights OpenBLAS's float32 product
        # of all the columns at once is 2-3x slower (in float64 or from 8 maps on, it is not).
        y = np.matmul(w_cols, cols.reshape(-1, oh, ow * n).transpose(1, 0, 2))  # (H_out, C_out, W_out*N)
        return y.reshape(oh, c_out, ow, n).transpose(3, 1, 0, 2), cols
    y = w_cols @ cols  # (C_out, H_out*W_out*N)
    return _nchw(y.reshape(c_out, oh, ow, n)), cols


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
    return _nchw(y.reshape(c_out, oh, ow, n)), cols


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

    The same columns and product as :func:`_im2col_forward`, but never all the columns at once:
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
    w_rows = w.transpose(0, 2, 1, 3).reshape(c_out, kh, k)  # kernel row i's weights
    if bias:  # then b (with kernel row 0) or 0, which meet the ones row of the columns
        w_rows = np.concatenate([w_rows, np.zeros((c_out, kh, 1), cols.dtype)], axis=2)
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
    z = infer(x, w_phases.reshape(sh * sw * c, a_maps, uh, uw), None, phase_geo)
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


def _correlation_geometry(geo):
    """The geometry of a stride-1 transposed convolution computed as a direct correlation
    of x with the flipped kernel, or None where that needs negative padding.

    y[o, a] = sum over taps i of x[a + p - i*d] w[:, o, i] is a correlation of x with the
    flipped kernel, transposed to (C_out, C_in, kh, kw), on x padded by d(k - 1) - p before
    (and as much after as makes the output size, output_padding included). None where that
    padding would be negative (p > d(k - 1)) or the stride is not 1.
    """
    if geo.stride != (1, 1):
        return None
    pads = []
    for n_in, n_out, k, d, (p, _) in zip(geo.out, geo.in_size, geo.kernel, geo.dilation, geo.pads):
        before = d * (k - 1) - p
        if before < 0:
            return None
        pads.append((before, n_out - n_in + d * (k - 1) - before))  # before + output_padding
    return _Geometry(geo.out, geo.kernel, (1, 1), geo.dilation, tuple(pads), geo.in_size)


def _flipped(w):
    """The transposed convolution's weights (C_in, C_out, kh, kw) as a direct kernel
    (C_out, C_in, kh, kw), flipped in both axes."""
    return w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3)


# ---------------------------------------------------------------------------
# Backward routes: (grad_out, saved, w, geo, has_bias) -> (dx, dw, db); ``saved`` is what
# the strategy's forward returned beside the output.
# ---------------------------------------------------------------------------

def _per_row_forward(x, w, b, geo):
    """conv2d by one product per output row, keeping its columns for the backward."""
    shape = _row_columns_shape(x.shape, w.shape, geo, b is not None)
    cols = _row_columns(x, geo, w.shape[3], np.empty(shape, x.dtype))
    return _per_row_product(cols, w, b, geo), cols


@contextlib.contextmanager
def _grad_batch_last(grad_out):
    """``with _grad_batch_last(grad_out) as g:`` the output gradient as (C_out, H_out*W_out*N)."""
    n, c_out, oh, ow = grad_out.shape
    with _work.array("grad", (c_out, oh, ow, n), grad_out.dtype) as g:
        yield _batch_last(grad_out, g).reshape(c_out, oh * ow * n)


def _im2col_backward(grad_out, cols, w, geo, bias):
    """Gradients after an im2col forward: dw = g @ cols.T (db from the ones row), and dx by
    col2im (stride 1) or by phases."""
    (n, c_out), (c_in, kh, kw), (oh, ow) = grad_out.shape[:2], w.shape[1:], geo.out
    with _grad_batch_last(grad_out) as g:
        dwb = _times_transposed(g, cols)  # (C_out, C_in*kh*kw [+ 1])
        dw = dwb[:, :c_in * kh * kw].reshape(w.shape)
        db = dwb[:, -1] if bias else None
        if geo.stride == (1, 1):
            dx = _col2im(g, w, geo, n)
        else:
            dx = _nchw(_by_phases(_nchw(g.reshape(c_out, oh, ow, n)), w, geo))
    return dx, dw, db


def _row_shifts_backward(grad_out, cols, w, geo, bias):
    """Gradients after a row-shift forward: its adjoint, from the gradient shifted once per kernel row."""
    (n, c_out), (c_in, kh, kw) = grad_out.shape[:2], w.shape[1:]
    with _grad_batch_last(grad_out) as g, _shifted_rows(g, geo, n) as shifted:
        dwb = _times_transposed(shifted, cols)  # (kh*C_out, C_in*kw [+ 1])
        dx = _col2im_rows(shifted, w, geo, n)
    dw = dwb[:, :c_in * kw].reshape(kh, c_out, c_in, kw).transpose(1, 2, 0, 3)
    db = dwb[:c_out, -1] if bias else None
    return dx, dw, db


# ---------------------------------------------------------------------------
# Routes of the transposed convolution: (x, w, b, geo, x_cols) -> y, an NCHW view; geo is
# the direct convolution's, x_cols x batch-last (C_in, H*W*N) if the caller made it.
# ---------------------------------------------------------------------------

def _transposed_as_correlation(x, w, b, geo, x_cols=None):
    return _conv2d_per_row(x, _flipped(w), b, _correlation_geometry(geo))


def _transposed_by_phases(x, w, b, geo, x_cols=None):
    return _nchw(_by_phases(x, w, geo, b))


def _transposed_col2im(x, w, b, geo, x_cols=None, by_rows=False):
    n = x.shape[0]
    x_cols = _columns(x) if x_cols is None else x_cols
    if by_rows:
        with _shifted_rows(x_cols, geo, n) as shifted:
            y = _col2im_rows(shifted, w, geo, n)
    else:
        y = _col2im(x_cols, w, geo, n)
    if b is not None:
        y += b[:, None, None]
    return y


def _transposed_col2im_rows(x, w, b, geo, x_cols=None):
    return _transposed_col2im(x, w, b, geo, x_cols, by_rows=True)


# ---------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------

class Strategy(NamedTuple):
    """One route of a convolution.

    ``valid(w_shape, geo)``: whether it computes the right numbers for this weight shape and
    geometry; ``applies(w_shape, geo, dtype)``: whether the table should choose it (valid,
    and faster than the strategies below it there). ``w_shape`` is the weight shape of the
    call: (C_out, C_in, kh, kw) for conv2d, (C_in, C_out, kh, kw) for conv_transpose2d, and
    ``geo`` always the geometry of the direct convolution. ``forward(x, w, b, geo)`` runs it;
    ``backward(grad_out, saved, w, geo, has_bias)``, in the "training" table only, takes
    what the forward saved.
    """

    name: str
    valid: Callable
    applies: Callable
    forward: Callable
    backward: Optional[Callable] = None


def _always(w_shape, geo, dtype=None):
    return True


def _rows_in_place(w_shape, geo, dtype=None):
    """One product per output row reads the kh rows of a window in place: no row dilation."""
    return w_shape[2] > 1 and geo.dilation[0] == 1


def _row_stride_1(w_shape, geo, dtype=None):
    return w_shape[2] > 1 and geo.stride[0] == 1


def _per_row_trains(w_shape, geo, dtype=None):
    """One product per row in place, and its backward: stride 1 along the rows too."""
    return _rows_in_place(w_shape, geo) and _row_stride_1(w_shape, geo)


def _row_shifts_pay(w_shape, geo):
    """The row shifts' two big matrices (columns of C_in*kw rows, their product of kh*C_out
    rows) are no larger than im2col's columns (C_in*kh*kw rows) when C_out <= C_in*kw: few
    output maps for many input maps (then 1.1-2x faster on the course's layers)."""
    c_out, c_in, kh, kw = w_shape
    return c_out <= c_in * kw


def _flipped_shape(w_shape):
    return (w_shape[1], w_shape[0], *w_shape[2:])


def _as_correlation_valid(w_shape, geo, dtype=None):
    direct = _correlation_geometry(geo)
    return direct is not None and _rows_in_place(_flipped_shape(w_shape), direct)


def _unit_stride(w_shape, geo, dtype=None):
    return geo.stride == (1, 1)


#: One table per job; in each, the first strategy that applies runs. "training" is
#: conv2d_forward and its backward (a cache is kept); "inference" is conv2d (nothing kept);
#: "transposed" is conv_transpose2d (its backward is always one im2col and two products).
STRATEGIES = {
    "training": (
        Strategy("per row", _per_row_trains, _per_row_trains, _per_row_forward, _per_row_backward),
        Strategy("row shifts", _row_stride_1,
                 lambda w_shape, geo, dtype: _row_stride_1(w_shape, geo) and _row_shifts_pay(w_shape, geo),
                 _conv2d_rows, _row_shifts_backward),
        Strategy("im2col", _always, _always, _im2col_forward, _im2col_backward),
    ),
    "inference": (
        Strategy("per row", _rows_in_place, _rows_in_place, _conv2d_per_row),
        # With many maps the product is bound by arithmetic, not by memory (see _BLOCK_MAPS).
        Strategy("row shifts", _row_stride_1,
                 lambda w_shape, geo, dtype: (w_shape[0] >= _BLOCK_MAPS and _row_stride_1(w_shape, geo)
                                              and _row_shifts_pay(w_shape, geo)),
                 lambda x, w, b, geo: _conv2d_rows(x, w, b, geo)[0]),
        Strategy("im2col blocks", _always, _always, _conv2d_blocked),
    ),
    "transposed": (
        Strategy("as correlation", _as_correlation_valid, _as_correlation_valid, _transposed_as_correlation),
        Strategy("by phases", _always, lambda w_shape, geo, dtype: not _unit_stride(w_shape, geo),
                 _transposed_by_phases),
        Strategy("col2im rows", _row_stride_1, _row_stride_1, _transposed_col2im_rows),
        Strategy("col2im", _unit_stride, _unit_stride, _transposed_col2im),
    ),
}


def choose(job, w_shape, geo, dtype):
    """The strategy of :data:`STRATEGIES` ``[job]`` that runs for these arguments: the first that applies."""
    for strategy in STRATEGIES[job]:
        if strategy.applies(w_shape, geo, dtype):
            return strategy
    raise AssertionError(f"no {job} strategy applies")  # the last one of each table always does


def strategy(job, name):
    """The strategy called ``name`` in the table of ``job``."""
    for s in STRATEGIES[job]:
        if s.name == name:
            return s
    raise KeyError(f"no {job} strategy {name!r}: {[s.name for s in STRATEGIES[job]]}")


def infer(x, w, b, geo):
    """conv2d of checked arguments, keeping nothing: an NCHW view (N, C_out, H_out, W_out)."""
    return choose("inference", w.shape, geo, x.dtype).forward(x, w, b, geo)
