"""Which pixels does a classifier look at? Gradient saliency, occlusion, and two scores.

* :func:`saliency_map` (Simonyan et al., 2013): ``|dS_c/dx|``, the magnitude of the
  gradient of the class score with respect to every pixel;
* :func:`occlusion_sensitivity` (Zeiler & Fergus, 2014): how much the score drops when a
  patch of the image is covered;
* :func:`gradient_times_input`, :func:`smoothgrad` (Smilkov et al., 2017) and
  :func:`integrated_gradients` (Sundararajan et al., 2017): three variants of the gradient;
* :func:`rank_correlation` (Spearman), :func:`reinitialise` and
  :func:`cascading_randomisation`: the sanity check of Adebayo et al. (2018);
* :func:`saliency_in_box` and :func:`pointing_game` score a map against the known
  object box of a synthetic image.
"""
from __future__ import annotations

import copy

import numpy as np

from ._checks import as_float_array, as_pair, check_ndim
from .losses import softmax
from .nn import init_weight
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


def _input_gradient(model, x, target):
    """Signed ``dS_target/dx`` ``(N, C, H, W)`` (evaluation mode, parameter gradients zeroed)."""
    was_training = model.training
    model.eval()
    try:
        scores = model(x)
        check_ndim(scores, 2, "model output", "(N, num_classes)")
        target = _targets(target, scores)
        return model.backward(_upstream(scores, target, "score"))
    finally:
        model.zero_grad()
        model.train(was_training)


def _reduce(a, reduce):
    if reduce not in ("max", "mean"):
        raise ValueError(f"reduce must be 'max' or 'mean', got {reduce!r}")
    a = np.abs(a)
    return a.max(axis=1) if reduce == "max" else a.mean(axis=1)


def gradient_times_input(model, x, target, reduce="max"):
    """``|x * dS_c/dx|`` reduced over channels, ``(N, H, W)``; ``target`` as in :func:`saliency_map`.

    Multiplying by the input makes the map follow the image: bright pixels score high
    whatever the weights, which is why it fails the randomisation check of Adebayo et al.
    """
    x = _check_images(x)
    return _reduce(x * _input_gradient(model, x, target), reduce)


def smoothgrad(model, x, target, samples=25, noise_level=0.15, reduce="max", seed=0):
    """SmoothGrad (Smilkov et al., 2017): the mean gradient map over noisy copies, ``(N, H, W)``.

    Each of ``samples`` copies of every image gets Gaussian noise of standard deviation
    ``noise_level * (max - min)`` of that image; the result is the mean of the
    :func:`saliency_map` maps (``reduce`` as there) of the copies. ``target`` is
    resolved on the clean images (None: each image's predicted class).
    """
    x = _check_images(x)
    if not (isinstance(samples, (int, np.integer)) and samples >= 1):
        raise ValueError(f"samples must be a positive int, got {samples!r}")
    target = _targets(target, predict_scores(model, x))
    rng = np.random.default_rng(seed)
    sigma = noise_level * (x.max(axis=(1, 2, 3)) - x.min(axis=(1, 2, 3)))
    total = np.zeros((x.shape[0],) + x.shape[2:])
    for _ in range(samples):
        noisy = x + (sigma[:, None, None, None] * rng.standard_normal(x.shape)).astype(x.dtype)
        total += saliency_map(model, noisy, target, reduce=reduce)
    return total / samples


def integrated_gradients(model, x, target, baseline=0.0, steps=32, reduce="max", signed=False):
    """Integrated gradients (Sundararajan et al., 2017) from ``baseline`` to ``x``.

    The attribution of input ``i`` is ``(x_i - x'_i)`` times the mean of ``dS_c/dx_i``
    along the straight path ``x' + a (x - x')``, at the midpoints ``a = (k + 1/2) / steps``.
    The signed attributions ``(N, C, H, W)`` (``signed=True``) add up to about
    ``S_c(x) - S_c(x')`` (completeness); by default their ``|.|`` reduced over the channels,
    ``(N, H, W)``. ``baseline``: a number or an array broadcastable to ``x``.
    """
    x = _check_images(x)
    if not (isinstance(steps, (int, np.integer)) and steps >= 1):
        raise ValueError(f"steps must be a positive int, got {steps!r}")
    base = np.broadcast_to(np.asarray(baseline, dtype=x.dtype), x.shape)
    target = _targets(target, predict_scores(model, x))
    total = np.zeros(x.shape)
    for k in range(steps):
        a = (k + 0.5) / steps
        total += _input_gradient(model, (base + a * (x - base)).astype(x.dtype), target)
    attr = (x - base) * total / steps
    return attr if signed else _reduce(attr, reduce)


def _ranks(v):
    """Ranks 1..n of the entries of ``v`` (1-D); tied values share their mean rank."""
    order = np.argsort(v, kind="stable")
    ranks = np.empty(len(v))
    ranks[order] = np.arange(1, len(v) + 1)
    _, group = np.unique(v, return_inverse=True)
    return (np.bincount(group, weights=ranks) / np.bincount(group))[group]


def rank_correlation(a, b):
    """Spearman's rank correlation of two arrays of the same shape (flattened), a float.

    The Pearson correlation of the ranks; tied values share their mean rank. 0.0 when
    either array is constant (its ranks carry no order).
    """
    a, b = np.asarray(a, dtype=np.float64).ravel(), np.asarray(b, dtype=np.float64).ravel()
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same size, got {a.size} and {b.size}")
    ra, rb = _ranks(a) - (a.size + 1) / 2, _ranks(b) - (b.size + 1) / 2
    denom = np.sqrt((ra @ ra) * (rb @ rb))
    return float(ra @ rb / denom) if denom > 0 else 0.0


def reinitialise(layer, rng):
    """Draw ``layer.weight`` afresh in place (He normal, std ``sqrt(2 / weight[0].size)``,
    from ``rng``) and set its bias to zero: the layer forgets what it learned."""
    w = layer.weight
    layer.weight = init_weight(w.shape, w[0].size, w[0].size, rng=rng, dtype=w.dtype)
    if getattr(layer, "bias", None) is not None:
        layer.bias = np.zeros_like(layer.bias)


def cascading_randomisation(model, x, target, method=None, seed=0):
    """The cascading randomisation check of Adebayo et al. (2018), ``(L, N)``.

    ``model``: a Sequential; ``method(model, x, target) -> (N, H, W)`` maps (default
    :func:`saliency_map`). On a copy of the model the L layers with a weight are
    re-initialised one after the other from the output down (:func:`reinitialise`, one
    generator ``np.random.default_rng(seed)`` for the whole cascade); row l holds, per
    image, the :func:`rank_correlation` of the trained model's map with the map after the
    top l + 1 such layers were re-initialised. ``target`` None: the trained model's
    predicted classes. The model itself is not changed.
    """
    method = saliency_map if method is None else method
    x = _check_images(x)
    target = _targets(target, predict_scores(model, x))
    trained = method(model, x, target)
    m = copy.deepcopy(model)
    rng = np.random.default_rng(seed)
    rho = []
    for i in reversed(range(len(m))):
        if getattr(m[i], "weight", None) is None:
            continue
        reinitialise(m[i], rng)
        maps = method(m, x, target)
        rho.append([rank_correlation(u, v) for u, v in zip(trained, maps)])
    return np.array(rho)


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
