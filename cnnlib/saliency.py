"""Which pixels does a classifier look at? Gradient saliency, occlusion, and two scores.

* :func:`saliency_map` (Simonyan et al., 2013): ``|dS_c/dx|``, the magnitude of the
  gradient of the class score with respect to every pixel;
* :func:`occlusion_sensitivity` (Zeiler & Fergus, 2014): how much the score drops when a
  patch of the image is covered;
* :func:`saliency_in_box` and :func:`pointing_game` score a map against the known
  object box of a synthetic image.
"""
from __future__ import annotations

import numpy as np

from ._checks import as_float_array, as_pair, check_ndim
from .losses import softmax
from .train import predict_scores


def _targets(target, scores):
    """``target`` (an int, one per sample, or None for the predicted class) as ``(n,)`` ints."""
    n, num_classes = scores.shape
    if target is None:
        return scores.argmax(axis=1)
    t = np.asarray(target)
    if t.dtype.kind not in "iu" or t.ndim > 1:
        raise ValueError(f"target must be an int or an int array of shape ({n},), got {target!r}")
    t = np.broadcast_to(t, (n,)) if t.ndim == 0 else t
    if t.shape != (n,):
        raise ValueError(f"target must have shape ({n},), one class per image, got {t.shape}")
    if t.min() < 0 or t.max() >= num_classes:
        raise ValueError(f"target classes must lie in [0, {num_classes}), got {t.min()}..{t.max()}")
    return t


def _check_images(x):
    x = as_float_array(x, "x")
    check_ndim(x, 4, "x", "(N, C, H, W)")
    return x


def _upstream(scores, target, wrt):
    """Gradient of the chosen output (score S_c or probability p_c) w.r.t. the scores."""
    n, k = scores.shape
    rows = np.arange(n)
    onehot = np.zeros_like(scores)
    onehot[rows, target] = 1
    if wrt == "score":
        return onehot
    p = softmax(scores)
    # dp_c / dS_j = p_c (delta_cj - p_j)
    return p[rows, target][:, None] * (onehot - p)


def saliency_map(model, x, target, reduce="max", wrt="score"):
    """Gradient saliency ``|d out_c / d x|`` of every pixel for class ``target``.

    ``x``: images ``(N, C, H, W)``; ``target``: a class index, one per image ``(N,)``, or
    None for each image's predicted class.
    ``wrt="score"`` differentiates the unnormalised class score S_c (the upstream
    gradient is one-hot: one for class c, zero elsewhere); ``wrt="prob"`` the softmax
    probability p_c, which also rises when the *other* scores fall.
    ``reduce``: ``"max"`` (Simonyan et al.) or ``"mean"`` of ``|gradient|`` over channels.

    Returns ``(N, H, W)``. Runs in evaluation mode; the model's parameter gradients are
    zeroed afterwards.
    """
    if reduce not in ("max", "mean"):
        raise ValueError(f"reduce must be 'max' or 'mean', got {reduce!r}")
    if wrt not in ("score", "prob"):
        raise ValueError(f"wrt must be 'score' or 'prob', got {wrt!r}")
    x = _check_images(x)
    was_training = model.training
    model.eval()
    try:
        scores = model(x)
        check_ndim(scores, 2, "model output", "(N, num_classes)")
        target = _targets(target, scores)
        grad = np.abs(model.backward(_upstream(scores, target, wrt)))
    finally:
        model.zero_grad()
        model.train(was_training)
    return grad.max(axis=1) if reduce == "max" else grad.mean(axis=1)


def _patch_masks(size, patch, stride):
    """Boolean masks ``(P, H, W)``, one per patch position, in row-major order."""
    (h, w), (ph, pw), (sh, sw) = size, patch, stride
    top = np.arange(0, h - ph + 1, sh)
    left = np.arange(0, w - pw + 1, sw)
    rows = (np.arange(h) >= top[:, None]) & (np.arange(h) < top[:, None] + ph)  # (Ph, H)
    cols = (np.arange(w) >= left[:, None]) & (np.arange(w) < left[:, None] + pw)  # (Pw, W)
    masks = rows[:, None, :, None] & cols[None, :, None, :]
    return masks.reshape(-1, h, w), (len(top), len(left))


def occlusion_sensitivity(model, x, target, patch=3, stride=1, fill=0.0, wrt="score",
                          batch_size=512, return_grid=False):
    """Drop of the class score when a ``patch`` is covered with ``fill`` (Zeiler & Fergus).

    Every patch position ``(top, left) = (i*stride, j*stride)`` that fits in the image is
    tried; all occluded copies of all images go through the model in batches of
    ``batch_size``. ``target`` as in :func:`saliency_map`. ``wrt``: ``"score"`` (unnormalised S_c) or ``"prob"`` (softmax p_c).

    Returns ``(N, H, W)``: for each pixel, the mean drop ``out_c(x) - out_c(occluded x)``
    over the patches that cover it (0 where no patch does), so it can be compared with
    :func:`saliency_map`. With ``return_grid=True`` it also returns the drops per patch
    position, ``(N, H_p, W_p)`` with ``H_p = (H - patch_h) // stride + 1``.
    """
    if wrt not in ("score", "prob"):
        raise ValueError(f"wrt must be 'score' or 'prob', got {wrt!r}")
    x = _check_images(x)
    n, c, h, w = x.shape
    patch, stride = as_pair(patch, "patch", 1), as_pair(stride, "stride", 1)
    if patch[0] > h or patch[1] > w:
        raise ValueError(f"patch {patch} is larger than the images ({h}, {w})")
    masks, grid = _patch_masks((h, w), patch, stride)
    p = len(masks)

    def output(scores, t):
        return (softmax(scores) if wrt == "prob" else scores)[np.arange(len(t)), t]

    base_scores = predict_scores(model, x, batch_size)
    target = _targets(target, base_scores)
    base = output(base_scores, target)
    occluded = np.empty(n * p, dtype=np.float64)
    fill = np.asarray(fill, dtype=x.dtype)
    for start in range(0, n * p, batch_size):
        k = np.arange(start, min(start + batch_size, n * p))  # flat (image, patch) index
        img, pos = k // p, k % p
        batch = np.where(masks[pos][:, None], fill, x[img])
        occluded[k] = output(predict_scores(model, batch, batch_size), target[img])
    drops = base[:, None] - occluded.reshape(n, p)
    coverage = masks.sum(axis=0)
    heat = np.einsum("np,phw->nhw", drops, masks) / np.maximum(coverage, 1)
    return (heat, drops.reshape(n, *grid)) if return_grid else heat


def _check_boxes(sal, boxes):
    sal = as_float_array(sal, "sal")
    check_ndim(sal, 3, "sal", "(N, H, W)")
    boxes = np.asarray(boxes)
    if boxes.shape != (len(sal), 4):
        raise ValueError(f"boxes must have shape ({len(sal)}, 4) as (top, left, bottom, right), "
                         f"got {boxes.shape}")
    return sal, boxes


def _box_masks(boxes, size, tolerance=0):
    """Boolean masks ``(N, H, W)``: inside box i, grown by ``tolerance`` pixels."""
    rows = np.arange(size[0])[None, :, None]
    cols = np.arange(size[1])[None, None, :]
    top, left, bottom, right = (boxes[:, i, None, None] for i in range(4))
    return ((rows >= top - tolerance) & (rows < bottom + tolerance)
            & (cols >= left - tolerance) & (cols < right + tolerance))


def saliency_in_box(sal, boxes):
    """Share of each map's (non-negative) mass inside the object box, ``(N,)`` in [0, 1].

    ``sal``: ``(N, H, W)``; ``boxes``: ``(N, 4)`` as ``(top, left, bottom, right)``,
    bottom/right exclusive (as :func:`cnnlib.data.make_shapes_scenes` returns). Negative
    values (an occlusion map can have some) are clipped to 0. A map spread uniformly
    scores the box's share of the image area: compare with that baseline.
    """
    sal, boxes = _check_boxes(sal, boxes)
    sal = np.maximum(sal, 0)
    inside = (sal * _box_masks(boxes, sal.shape[1:])).sum(axis=(1, 2))
    total = sal.sum(axis=(1, 2))
    return np.divide(inside, total, out=np.zeros_like(total), where=total > 0)


def pointing_game(sal, boxes, tolerance=0):
    """Hit or miss per image ``(N,)`` bool: is the map's maximum inside the (grown) box?

    Zhang et al. (2016) allow ``tolerance`` pixels around the box; ``hits.mean()`` is the
    pointing accuracy.
    """
    sal, boxes = _check_boxes(sal, boxes)
    n, h, w = sal.shape
    flat = sal.reshape(n, -1).argmax(axis=1)
    r, c = np.unravel_index(flat, (h, w))
    return _box_masks(boxes, (h, w), tolerance)[np.arange(n), r, c]
