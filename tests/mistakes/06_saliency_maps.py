"""Plausible wrong answers for notebook 06; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points:
only its own exercise's, since a later exercise is graded with references of the earlier ones.
"""

_SALIENCY_HEAD = '''def my_saliency(model, x, target, reduce="max"):
    scores = model.forward(x)
    n = scores.shape[0]
    t = np.broadcast_to(np.asarray(target), (n,))
    upstream = np.zeros_like(scores)
'''

_OCCLUSION_HEAD = '''def occlusion_map(model, x, target, window=3, stride=1, baseline=0.0):
    x = np.asarray(x)
    n, _, h, w = x.shape
    rows = np.arange(n)
    target = np.broadcast_to(np.asarray(target), (n,))
    base = model(x)[rows, target]
    total = np.zeros((n, h, w))
    count = np.zeros((h, w))
'''

_SANITY_HEAD = '''def sanity_check(model, x, target, method, seed=0):
    trained = method(model, x, target)
'''

MISTAKES = {
    "saliency_of_the_probability": {
        "cell": "my_saliency",
        "source": _SALIENCY_HEAD + '''    upstream[np.arange(n), t] = 1.0
    p = cnnlib.softmax(scores)
    grad = np.abs(model.backward(p[np.arange(n), t][:, None] * (upstream - p)))
    model.zero_grad()
    return grad.max(axis=1) if reduce == "max" else grad.mean(axis=1)''',
        "fails": ["test_my_saliency"],
    },
    "saliency_no_abs": {
        "cell": "my_saliency",
        "source": _SALIENCY_HEAD + '''    upstream[np.arange(n), t] = 1.0
    grad = model.backward(upstream)
    model.zero_grad()
    return grad.max(axis=1) if reduce == "max" else grad.mean(axis=1)''',
        "fails": ["test_my_saliency"],
    },
    "saliency_abs_of_signed_mean": {
        "cell": "my_saliency",
        "source": _SALIENCY_HEAD + '''    upstream[np.arange(n), t] = 1.0
    grad = model.backward(upstream)
    model.zero_grad()
    return np.abs(grad).max(axis=1) if reduce == "max" else np.abs(grad.mean(axis=1))''',
        "fails": ["test_my_saliency"],
    },
    "saliency_one_hot_all_rows": {
        "cell": "my_saliency",
        "source": _SALIENCY_HEAD + '''    upstream[:, target] = 1.0
    grad = np.abs(model.backward(upstream))
    model.zero_grad()
    return grad.max(axis=1) if reduce == "max" else grad.mean(axis=1)''',
        "fails": ["test_my_saliency"],
    },
    "occlusion_sum_not_mean": {
        "cell": "occlusion_map",
        "source": _OCCLUSION_HEAD + '''    for top in range(0, h - window + 1, stride):
        for left in range(0, w - window + 1, stride):
            covered = x.copy()
            covered[:, :, top:top + window, left:left + window] = baseline
            total[:, top:top + window, left:left + window] += (base - model(covered)[rows, target])[:, None, None]
    return total''',
        "fails": ["test_occlusion_map"],
    },
    "occlusion_last_position_missing": {
        "cell": "occlusion_map",
        "source": _OCCLUSION_HEAD + '''    for top in range(0, h - window, stride):
        for left in range(0, w - window, stride):
            covered = x.copy()
            covered[:, :, top:top + window, left:left + window] = baseline
            total[:, top:top + window, left:left + window] += (base - model(covered)[rows, target])[:, None, None]
            count[top:top + window, left:left + window] += 1
    return total / np.maximum(count, 1)''',
        "fails": ["test_occlusion_map"],
    },
    "occlusion_covers_the_input_itself": {
        "cell": "occlusion_map",
        "source": _OCCLUSION_HEAD + '''    for top in range(0, h - window + 1, stride):
        for left in range(0, w - window + 1, stride):
            x[:, :, top:top + window, left:left + window] = baseline
            total[:, top:top + window, left:left + window] += (base - model(x)[rows, target])[:, None, None]
            count[top:top + window, left:left + window] += 1
    return total / np.maximum(count, 1)''',
        "fails": ["test_occlusion_map"],
    },
    "occlusion_rise_not_drop": {
        "cell": "occlusion_map",
        "source": _OCCLUSION_HEAD + '''    for top in range(0, h - window + 1, stride):
        for left in range(0, w - window + 1, stride):
            covered = x.copy()
            covered[:, :, top:top + window, left:left + window] = baseline
            total[:, top:top + window, left:left + window] += (model(covered)[rows, target] - base)[:, None, None]
            count[top:top + window, left:left + window] += 1
    return total / np.maximum(count, 1)''',
        "fails": ["test_occlusion_map"],
    },
    "spearman_of_the_values": {
        "cell": "spearman",
        "source": '''def spearman(a, b):
    a, b = np.ravel(a).astype(float), np.ravel(b).astype(float)
    if a.std() == 0 or b.std() == 0:
        return 0.0
    return float(np.corrcoef(a, b)[0, 1])''',
        "fails": ["test_spearman"],
    },
    "spearman_ties_ranked_by_order": {
        "cell": "spearman",
        "source": '''def spearman(a, b):
    ra = np.argsort(np.argsort(np.ravel(a))).astype(float)
    rb = np.argsort(np.argsort(np.ravel(b))).astype(float)
    if np.ptp(np.ravel(a)) == 0 or np.ptp(np.ravel(b)) == 0:
        return 0.0
    return float(np.corrcoef(ra, rb)[0, 1])''',
        "fails": ["test_spearman"],
    },
    "spearman_nan_for_a_constant": {
        "cell": "spearman",
        "source": '''def spearman(a, b):
    def ranks(v):
        r = np.empty(len(v))
        r[np.argsort(v, kind="stable")] = np.arange(1, len(v) + 1)
        _, g = np.unique(v, return_inverse=True)
        return (np.bincount(g, weights=r) / np.bincount(g))[g]
    with np.errstate(invalid="ignore", divide="ignore"):
        return float(np.corrcoef(ranks(np.ravel(a)), ranks(np.ravel(b)))[0, 1])''',
        "fails": ["test_spearman"],
    },
    "sanity_each_layer_alone": {
        "cell": "sanity_check",
        "source": _SANITY_HEAD + '''    rng = np.random.default_rng(seed)
    rows = []
    for i in reversed(range(len(model))):
        if getattr(model[i], "weight", None) is None:
            continue
        randomised = copy.deepcopy(model)
        reinitialise(randomised[i], rng)
        maps = method(randomised, x, target)
        rows.append([spearman(a, b) for a, b in zip(trained, maps)])
    return np.array(rows)''',
        "fails": ["test_sanity_check"],
    },
    "sanity_bottom_up": {
        "cell": "sanity_check",
        "source": _SANITY_HEAD + '''    randomised = copy.deepcopy(model)
    rng = np.random.default_rng(seed)
    rows = []
    for layer in randomised:
        if getattr(layer, "weight", None) is None:
            continue
        reinitialise(layer, rng)
        maps = method(randomised, x, target)
        rows.append([spearman(a, b) for a, b in zip(trained, maps)])
    return np.array(rows)''',
        "fails": ["test_sanity_check"],
    },
    "sanity_randomises_the_model_itself": {
        "cell": "sanity_check",
        "source": _SANITY_HEAD + '''    rng = np.random.default_rng(seed)
    rows = []
    for layer in reversed(list(model)):
        if getattr(layer, "weight", None) is None:
            continue
        reinitialise(layer, rng)
        maps = method(model, x, target)
        rows.append([spearman(a, b) for a, b in zip(trained, maps)])
    return np.array(rows)''',
        "fails": ["test_sanity_check"],
    },
    "sanity_pearson_instead_of_spearman": {
        "cell": "sanity_check",
        "source": _SANITY_HEAD + '''    randomised = copy.deepcopy(model)
    rng = np.random.default_rng(seed)
    rows = []
    for layer in reversed(list(randomised)):
        if getattr(layer, "weight", None) is None:
            continue
        reinitialise(layer, rng)
        maps = method(randomised, x, target)
        rows.append([np.corrcoef(a.ravel(), b.ravel())[0, 1] for a, b in zip(trained, maps)])
    return np.array(rows)''',
        "fails": ["test_sanity_check"],
    },
    "box_end_inclusive": {
        "cell": "share_in_box",
        "source": '''def share_in_box(sal, box):
    top, left, bottom, right = box
    sal = np.asarray(sal, dtype=float)
    total = sal.sum()
    return float(sal[top:bottom + 1, left:right + 1].sum() / total) if total > 0 else 0.0''',
        "fails": ["test_share_in_box"],
    },
}

# Library twins that compute the whole answer: each must lose the exercise's points.
SHORTCUTS = {
    "saliency_by_library": {
        "cell": "my_saliency",
        "source": '''from cnnlib.saliency import saliency_map as _s

def my_saliency(model, x, target, reduce="max"):
    return _s(model, x, target, reduce=reduce)''',
        "fails": ["test_my_saliency"],
    },
    "occlusion_by_library": {
        "cell": "occlusion_map",
        "source": '''import cnnlib.saliency as _lib

def occlusion_map(model, x, target, window=3, stride=1, baseline=0.0):
    return _lib.occlusion_sensitivity(model, x, target, patch=window, stride=stride, fill=baseline)''',
        "fails": ["test_occlusion_map"],
    },
    "spearman_by_library": {
        "cell": "spearman",
        "source": '''from cnnlib.saliency import rank_correlation

def spearman(a, b):
    return rank_correlation(a, b)''',
        "fails": ["test_spearman"],
    },
    "spearman_by_scipy": {
        "cell": "spearman",
        "source": '''import scipy.stats

def spearman(a, b):
    a, b = np.ravel(a), np.ravel(b)
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(scipy.stats.spearmanr(a, b)[0])''',
        "fails": ["test_spearman"],
    },
    "sanity_by_library": {
        "cell": "sanity_check",
        "source": '''from cnnlib.saliency import cascading_randomisation

def sanity_check(model, x, target, method, seed=0):
    return cascading_randomisation(model, x, target, method, seed=seed)''',
        "fails": ["test_sanity_check"],
    },
    "share_by_library": {
        "cell": "share_in_box",
        "source": '''import cnnlib.saliency

def share_in_box(sal, box):
    return float(cnnlib.saliency.saliency_in_box(np.asarray(sal, dtype=float)[None], np.array([box]))[0])''',
        "fails": ["test_share_in_box"],
    },
}

# Right answers written differently from the solution: each must earn full marks.
CORRECT = {
    "saliency_eye_rows": {
        "cell": "my_saliency",
        "source": '''def my_saliency(model, x, target, reduce="max"):
    scores = model(x)
    k = scores.shape[1]
    t = np.full(len(scores), target) if np.ndim(target) == 0 else np.asarray(target)
    grad = model.backward(np.eye(k, dtype=scores.dtype)[t])
    model.zero_grad()
    reducer = {"max": np.max, "mean": np.mean}[reduce]
    return reducer(np.abs(grad), axis=1)''',
    },
    "occlusion_one_batch_per_position": {
        "cell": "occlusion_map",
        "source": '''def occlusion_map(model, x, target, window=3, stride=1, baseline=0.0):
    n, c, h, w = np.shape(x)
    t = np.broadcast_to(target, (n,))
    pick = lambda s: s[np.arange(n), t]
    corners = [(i, j) for i in range(0, h - window + 1, stride) for j in range(0, w - window + 1, stride)]
    masks = np.zeros((len(corners), h, w), dtype=bool)
    for k, (i, j) in enumerate(corners):
        masks[k, i:i + window, j:j + window] = True
    base = pick(model(x))
    drops = np.stack([base - pick(model(np.where(m, baseline, x).astype(np.asarray(x).dtype)))
                      for m in masks], axis=1)                          # (n, positions)
    cover = masks.sum(axis=0)
    return np.einsum("np,phw->nhw", drops, masks) / np.where(cover > 0, cover, 1)''',
    },
    "spearman_ranks_by_loop_over_values": {
        "cell": "spearman",
        "source": '''def spearman(a, b):
    def ranks(v):
        v = np.ravel(v).astype(float)
        r = np.zeros(v.size)
        for value in np.unique(v):
            below = np.sum(v < value)
            same = v == value
            r[same] = below + (same.sum() + 1) / 2
        return r
    ra, rb = ranks(a), ranks(b)
    if ra.std() == 0 or rb.std() == 0:
        return 0.0
    return float(np.mean((ra - ra.mean()) * (rb - rb.mean())) / (ra.std() * rb.std()))''',
    },
    "sanity_indices_first": {
        "cell": "sanity_check",
        "source": '''def sanity_check(model, x, target, method, seed=0):
    before = method(model, x, target)
    net = copy.deepcopy(model)
    weighted = [i for i, layer in enumerate(net) if getattr(layer, "weight", None) is not None]
    rng = np.random.default_rng(seed)
    out = np.zeros((len(weighted), len(before)))
    for row, i in enumerate(weighted[::-1]):
        reinitialise(net[i], rng)
        after = method(net, x, target)
        out[row] = [spearman(before[j], after[j]) for j in range(len(before))]
    return out''',
    },
    "share_by_mask": {
        "cell": "share_in_box",
        "source": '''def share_in_box(sal, box):
    sal = np.asarray(sal, dtype=float)
    rows, cols = np.indices(sal.shape)
    top, left, bottom, right = box
    inside = (rows >= top) & (rows < bottom) & (cols >= left) & (cols < right)
    return float((sal * inside).sum() / sal.sum()) if sal.sum() > 0 else 0.0''',
    },
}
