"""Softmax and the cross-entropy loss, computed stably from unnormalised scores (logits)."""
from __future__ import annotations

import numpy as np

from ._checks import as_float_array, check_ndim


def log_softmax(logits, axis=-1):
    """``log(softmax(logits))`` without overflow.

    ``log_softmax(z)_k = z_k - max(z) - log(sum_j exp(z_j - max(z)))``: subtracting the
    maximum makes every exponent <= 0, so logits of 1e4 give no ``inf`` and no ``nan``.
    """
    z = as_float_array(logits, "logits")
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax(logits, axis=-1):
    """Class probabilities ``exp(z_k) / sum_j exp(z_j)`` along ``axis``, computed stably."""
    z = as_float_array(logits, "logits")
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def check_labels(labels, n, num_classes):
    """``labels`` as an int64 array of shape ``(n,)`` with values in ``[0, num_classes)``."""
    y = np.asarray(labels)
    if y.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers (class indices), got dtype {y.dtype}")
    if y.shape != (n,):
        raise ValueError(f"labels must have shape ({n},), one per row of logits, got {y.shape}")
    if n and (y.min() < 0 or y.max() >= num_classes):
        raise ValueError(
            f"labels must lie in [0, {num_classes}) for {num_classes} classes, "
            f"got values from {y.min()} to {y.max()}"
        )
    return y.astype(np.int64, copy=False)


def cross_entropy(logits, labels):
    """Mean cross-entropy loss of a batch and its gradient with respect to the logits.

    ``logits``: ``(N, K)`` unnormalised class scores; ``labels``: ``(N,)`` ints in [0, K).
    ``loss = -mean_i log softmax(logits_i)[labels_i]`` and
    ``grad_logits = (softmax(logits) - onehot(labels)) / N``.

    Returns ``(loss, grad_logits)``: a Python float and an array shaped like ``logits``.
    """
    z = as_float_array(logits, "logits")
    check_ndim(z, 2, "logits", "(N, K)")
    n, k = z.shape
    if n == 0:
        raise ValueError("logits is empty: the batch has no samples")
    y = check_labels(labels, n, k)
    logp = log_softmax(z)
    rows = np.arange(n)
    loss = -logp[rows, y].mean()
    grad = np.exp(logp)
    grad[rows, y] -= 1
    grad /= n
    return float(loss), grad
