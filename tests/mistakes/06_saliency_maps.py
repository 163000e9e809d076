"""Plausible wrong answers for notebook 06; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points:
only its own exercise's, since a later exercise is graded with references of the earlier ones.
"""

MISTAKES = {
    "one_hot_all_rows": {
        "cell": "one_hot_grad",
        "source": '''def one_hot_grad(scores_shape, target):
    grad = np.zeros(scores_shape)
    grad[:, target] = 1.0
    return grad''',
        "fails": ["test_one_hot_grad"],
    },
    "no_abs": {
        "cell": "reduce_channels",
        "source": '''def reduce_channels(grad, how="max"):
    grad = np.asarray(grad, dtype=float)
    return grad.max(axis=1) if how == "max" else grad.mean(axis=1)''',
        "fails": ["test_reduce_channels"],
    },
    "abs_of_signed_mean": {
        "cell": "reduce_channels",
        "source": '''def reduce_channels(grad, how="max"):
    grad = np.asarray(grad, dtype=float)
    return np.abs(grad).max(axis=1) if how == "max" else np.abs(grad.mean(axis=1))''',
        "fails": ["test_reduce_channels"],
    },
    "probability_gradient": {
        "cell": "my_saliency",
        "source": '''def my_saliency(model, x, target):
    scores = model.forward(x)
    p = cnnlib.softmax(scores)
    onehot = one_hot_grad(scores.shape, target)
    pc = (p * onehot).sum(axis=1, keepdims=True)
    grad = model.backward(pc * (onehot - p))
    model.zero_grad()
    return reduce_channels(grad, "max")''',
        "fails": ["test_my_saliency"],
    },
    "occlude_in_place": {
        "cell": "occlude",
        "source": '''def occlude(x, top, left, patch, fill=0.0):
    x[:, top:top + patch, left:left + patch] = fill
    return x''',
        "fails": ["test_occlude"],
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

def my_saliency(model, x, target):
    return _s(model, x, target)''',
        "fails": ["test_my_saliency"],
    },
    "share_by_library": {
        "cell": "share_in_box",
        "source": '''import cnnlib.saliency

def share_in_box(sal, box):
    return float(cnnlib.saliency.saliency_in_box(np.asarray(sal, dtype=float)[None], np.array([box]))[0])''',
        "fails": ["test_share_in_box"],
    },
}
