"""The convolution, plainly: forward, backward and transposed, to read beside the notebooks.

Every function here computes exactly what its namesake in :mod:`cnnlib.conv` computes
(``torch.nn.functional``'s semantics, NCHW arrays), in the plainest vectorised NumPy: one
step per kernel tap (i, j), each step a single ``einsum`` over the whole batch, all
channels and all output pixels at once. No buffers, no memory layouts, no special cases.
``cnnlib.conv`` computes the same numbers faster by several routes (see its
``STRATEGIES``); the tests check every route against this module.

Notation (one axis; the other is the same): input size ``H``, kernel size ``k``,
stride ``s``, padding ``p`` (zeros on each side), dilation ``d``. Tap ``i`` of output
row ``r`` reads padded input row ``r*s + i*d``, so::

    H_out = floor((H + 2p - d(k - 1) - 1) / s) + 1

The only loops are over the ``kh * kw`` kernel taps: never over pixels or samples.
"""
from __future__ import annotations

import numpy as np

from ._checks import as_pair, resolve_padding
from .shapes import conv_output_size

__all__ = ["conv2d", "conv2d_backward", "conv_transpose2d"]


def _taps(kernel, stride, dilation, out_size):
    """For every kernel tap (i, j): the slices of the padded input that it reads, one
    element per output pixel: rows i*d, i*d + s, ..., i*d + s*(H_out - 1)."""
    (kh, kw), (sh, sw), (dh, dw), (oh, ow) = kernel, stride, dilation, out_size
    for i in range(kh):
        for j in range(kw):
            yield i, j, (slice(i * dh, i * dh + sh * (oh - 1) + 1, sh),
                         slice(j * dw, j * dw + sw * (ow - 1) + 1, sw))


def _geometry(x_shape, w_shape, stride, padding, dilation):
    stride, dilation = as_pair(stride, "stride", 1), as_pair(dilation, "dilation", 1)
    pads = resolve_padding(padding, w_shape[2:], stride, dilation)
    padded = [n + before + after for n, (before, after) in zip(x_shape[2:], pads)]
    out = tuple(conv_output_size(n, k, s, 0, d) for n, k, s, d in zip(padded, w_shape[2:], stride, dilation))
    return stride, dilation, pads, out


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    """2-D convolution (cross-correlation) of a batch, as ``torch.nn.functional.conv2d``.

    x: (N, C_in, H, W); w: (C_out, C_in, kh, kw); b: (C_out,) or None. Returns
    (N, C_out, H_out, W_out)::

        out[n, o, r, q] = b[o] + sum_{c, i, j} w[o, c, i, j] * xp[n, c, r*sh + i*dh, q*sw + j*dw]

    where xp is x with ``padding`` zeros around it. Each tap (i, j) adds one matrix
    product of the channels: ``w[:, :, i, j] @ (the pixels that tap reads)``.
    """
    stride, dilation, pads, out_size = _geometry(x.shape, w.shape, stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), *pads))
    out = np.zeros((x.shape[0], w.shape[0], *out_size), np.result_type(x, w))
    for i, j, (rows, cols) in _taps(w.shape[2:], stride, dilation, out_size):
        out += np.einsum("ncrq,oc->norq", xp[:, :, rows, cols], w[:, :, i, j])
    if b is not None:
        out += b[:, None, None]
    return out


def conv2d_backward(grad_out, x, w, stride=1, padding=0, dilation=1, has_bias=True):
    """Gradients (dx, dw, db) of :func:`conv2d`, given dL/d(out) ``grad_out`` (N, C_out, H_out, W_out).

    The forward adds, for each tap, ``w[:, :, i, j]`` times the pixels that tap reads; so
    each tap's weight collects the products of the gradient with those pixels, and those
    pixels collect the gradient times the weight (added up where windows overlap)::

        dw[o, c, i, j] = sum_{n, r, q} grad_out[n, o, r, q] * xp[n, c, r*sh + i*dh, q*sw + j*dw]
        dxp[n, c, r*sh + i*dh, q*sw + j*dw] += sum_o grad_out[n, o, r, q] * w[o, c, i, j]
        db[o] = sum_{n, r, q} grad_out[n, o, r, q]

    and dx is dxp without its padding. ``db`` is None when ``has_bias`` is false.
    """
    stride, dilation, pads, out_size = _geometry(x.shape, w.shape, stride, padding, dilation)
    xp = np.pad(x, ((0, 0), (0, 0), *pads))
    dxp, dw = np.zeros_like(xp, grad_out.dtype), np.zeros_like(w, grad_out.dtype)
    for i, j, (rows, cols) in _taps(w.shape[2:], stride, dilation, out_size):
        dw[:, :, i, j] = np.einsum("norq,ncrq->oc", grad_out, xp[:, :, rows, cols])
        dxp[:, :, rows, cols] += np.einsum("norq,oc->ncrq", grad_out, w[:, :, i, j])
    (top, _), (left, _) = pads
    dx = dxp[:, :, top:top + x.shape[2], left:left + x.shape[3]]
    return dx, dw, grad_out.sum(axis=(0, 2, 3)) if has_bias else None


def conv_transpose2d(x, w, b=None, stride=1, padding=0, output_padding=0, *, dilation=1):
    """Transposed 2-D convolution, as ``torch.nn.functional.conv_transpose2d``.

    x: (N, C_in, H, W); w: (C_in, C_out, kh, kw); b: (C_out,) or None. Returns
    (N, C_out, H_out, W_out) with ``H_out = (H - 1)s - 2p + d(kh - 1) + output_padding + 1``.

    The scatter view: every input pixel (h, v) stamps its kernel, scaled by its value, onto
    the output at rows h*s + i*d and columns v*s + j*d; stamps that overlap add up::

        yp[n, o, h*sh + i*dh, v*sw + j*dw] += sum_c x[n, c, h, v] * w[c, o, i, j]

    Then ``padding`` rows and columns are cut from each side of yp (output_padding rows
    and columns at the bottom and right are kept). This is :func:`conv2d_backward`'s dx
    with the roles of x and grad_out exchanged.
    """
    stride, dilation = as_pair(stride, "stride", 1), as_pair(dilation, "dilation", 1)
    (ph, pw), (oph, opw) = as_pair(padding, "padding", 0), as_pair(output_padding, "output_padding", 0)
    (h, wd), (kh, kw), (sh, sw), (dh, dw) = x.shape[2:], w.shape[2:], stride, dilation
    full = ((h - 1) * sh + dh * (kh - 1) + 1 + oph, (wd - 1) * sw + dw * (kw - 1) + 1 + opw)
    yp = np.zeros((x.shape[0], w.shape[1], *full), np.result_type(x, w))
    for i, j, (rows, cols) in _taps((kh, kw), stride, dilation, (h, wd)):
        yp[:, :, rows, cols] += np.einsum("nchv,co->nohv", x, w[:, :, i, j])
    out = yp[:, :, ph:full[0] - ph, pw:full[1] - pw]
    return out + b[:, None, None] if b is not None else out
