"""Plausible wrong answers for notebook 08; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points.
"""

RESIDUAL_HEAD = '''class ResidualBlock(Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def named_children(self):
        return (("body", self.body),)

    def forward(self, x):
        return x + self.body(x)
'''

MISTAKES = {
    "bias_not_counted": {
        "cell": "conv_params",
        "source": '''def conv_params(c_in, c_out, k, bias=True):
    kh, kw = (k, k) if np.isscalar(k) else k
    return int(c_out * c_in * kh * kw)''',
        "fails": ["test_conv_params"],
    },
    "skip_forgotten_in_backward": {
        "cell": "ResidualBlock",
        "source": RESIDUAL_HEAD + '''
    def backward(self, grad_out):
        return self.body.backward(grad_out)''',
        "fails": ["test_ResidualBlock"],
    },
    "body_forgotten_in_backward": {
        "cell": "ResidualBlock",
        "source": RESIDUAL_HEAD + '''
    def backward(self, grad_out):
        return grad_out''',
        "fails": ["test_ResidualBlock"],
    },
    "3x3_instead_of_1x1": {
        "cell": "build_model",
        "source": '''def build_model(rng):
    return Sequential(
        Conv2d(1, 8, 3, padding=1, rng=rng), ReLU(),
        Conv2d(8, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        ResidualBlock(Sequential(Conv2d(16, 16, 3, padding=1, rng=rng), ReLU(),
                                 Conv2d(16, 16, 3, padding=1, rng=rng))), ReLU(),
        Conv2d(16, 32, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        Flatten(), Linear(32 * 2 * 2, 10, rng=rng))''',
        "fails": ["test_build_model"],
    },
    "transposed_confusion_matrix": {
        "cell": "confusion_matrix",
        "source": '''def confusion_matrix(y_true, y_pred, n_classes):
    m = np.zeros((n_classes, n_classes), dtype=int)
    np.add.at(m, (np.asarray(y_pred), np.asarray(y_true)), 1)
    return m''',
        "fails": ["test_confusion_matrix"],
    },
    "column_sums_per_class": {
        "cell": "per_class_accuracy",
        "source": '''def per_class_accuracy(cm):
    cm = np.asarray(cm, dtype=float)
    return np.diag(cm) / cm.sum(axis=0)''',
        "fails": ["test_per_class_accuracy"],
    },
}

# Library twins that compute the whole answer: each must lose the exercise's points.
SHORTCUTS = {
    "count_by_building_the_layer": {
        "cell": "conv_params",
        "source": '''def conv_params(c_in, c_out, k, bias=True):
    return cnnlib.nn.Conv2d(c_in, c_out, k, bias=bias).num_parameters()''',
        "fails": ["test_conv_params"],
    },
    "residual_wraps_library_block": {
        "cell": "ResidualBlock",
        "source": '''class ResidualBlock(Module):
    def __init__(self, body):
        super().__init__()
        self.body = body
        self._inner = cnnlib.nn.Residual(body)

    def named_children(self):
        return (("body", self.body),)

    def forward(self, x):
        return self._inner(x)

    def backward(self, grad_out):
        return self._inner.backward(grad_out)''',
        "fails": ["test_ResidualBlock"],
    },
    "confusion_by_sklearn": {
        "cell": "confusion_matrix",
        "source": '''from sklearn.metrics import confusion_matrix as _sk

def confusion_matrix(y_true, y_pred, n_classes):
    return _sk(y_true, y_pred, labels=np.arange(n_classes))''',
        "fails": ["test_confusion_matrix"],
    },
}

# Correct answers written differently from the solution: each must earn full marks.
CORRECT = {
    "confusion_by_bincount": {
        "cell": "confusion_matrix",
        "source": '''def confusion_matrix(y_true, y_pred, n_classes):
    flat = np.asarray(y_true, dtype=int) * n_classes + np.asarray(y_pred, dtype=int)
    return np.bincount(flat, minlength=n_classes * n_classes).reshape(n_classes, n_classes)''',
    },
    "per_class_with_errstate": {
        "cell": "per_class_accuracy",
        "source": '''def per_class_accuracy(cm):
    cm = np.asarray(cm, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cm.sum(axis=1) > 0, cm.diagonal() / cm.sum(axis=1), np.nan)''',
    },
}
