"""Plausible wrong answers for notebook 08; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points.
The open-ended exercise 6 is graded by hand (`explain_my_model`); only its budget check
(`test_build_my_model`) is autograded.
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

BUILD_LAYERS = '''Sequential(
        Conv2d(1, 8, 3, padding=1, rng=rng), ReLU(),
        Conv2d(8, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        ResidualBlock(Sequential(Conv2d(16, 16, 3, padding=1, rng=rng), ReLU(),
                                 Conv2d(16, 16, 3, padding=1, rng=rng))), ReLU(),
        Conv2d(16, 32, 1, rng=rng), ReLU(), MaxPool2d(2),
        Flatten(), Linear(32 * 2 * 2, 10, rng=rng))'''

MISTAKES = {
    "bias_not_counted": {
        "cell": "conv_params",
        "source": '''def conv_params(c_in, c_out, k, bias=True):
    kh, kw = (k, k) if np.isscalar(k) else k
    return int(c_out * c_in * kh * kw)''',
        "fails": ["test_conv_params"],
    },
    "kernel_not_squared": {
        "cell": "conv_params",
        "source": '''def conv_params(c_in, c_out, k, bias=True):
    side = k if np.isscalar(k) else k[0] * k[1]
    return int(c_out * c_in * side + (c_out if bias else 0))''',
        "fails": ["test_conv_params"],
    },
    "input_channels_forgotten": {
        "cell": "conv_params",
        "source": '''def conv_params(c_in, c_out, k, bias=True):
    kh, kw = (k, k) if np.isscalar(k) else k
    return int(c_out * kh * kw + (c_out if bias else 0))''',
        "fails": ["test_conv_params"],
    },
    "forward_without_skip": {
        "cell": "ResidualBlock",
        "source": '''class ResidualBlock(Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def named_children(self):
        return (("body", self.body),)

    def forward(self, x):
        return self.body(x)

    def backward(self, grad_out):
        return grad_out + self.body.backward(grad_out)''',
        "fails": ["test_ResidualBlock"],
    },
    "skip_forgotten_in_backward": {
        "cell": "ResidualBlock",
        "source": RESIDUAL_HEAD + '''
    def backward(self, grad_out):
        return self.body.backward(grad_out)''',
        "fails": ["test_ResidualBlock_backward"],
    },
    "body_forgotten_in_backward": {
        "cell": "ResidualBlock",
        "source": RESIDUAL_HEAD + '''
    def backward(self, grad_out):
        return grad_out''',
        "fails": ["test_ResidualBlock_backward"],
    },
    "body_backward_called_twice": {
        "cell": "ResidualBlock",
        "source": RESIDUAL_HEAD + '''
    def backward(self, grad_out):
        through_body = self.body.backward(grad_out)
        self.body.backward(grad_out)          # "to be sure": accumulates the parameter gradients twice
        return grad_out + through_body''',
        "fails": ["test_ResidualBlock_backward"],
    },
    "3x3_instead_of_1x1": {
        "cell": "build_model",
        "source": '''def build_model(rng):
    model = Sequential(
        Conv2d(1, 8, 3, padding=1, rng=rng), ReLU(),
        Conv2d(8, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        ResidualBlock(Sequential(Conv2d(16, 16, 3, padding=1, rng=rng), ReLU(),
                                 Conv2d(16, 16, 3, padding=1, rng=rng))), ReLU(),
        Conv2d(16, 32, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        Flatten(), Linear(32 * 2 * 2, 10, rng=rng))
    model[5].body[2].weight[...] = 0
    return model''',
        "fails": ["test_build_model"],
    },
    "no_zero_start": {
        "cell": "build_model",
        "source": "def build_model(rng):\n    return " + BUILD_LAYERS,
        "fails": ["test_build_model"],
    },
    "whole_body_zeroed": {
        "cell": "build_model",
        "source": "def build_model(rng):\n    model = " + BUILD_LAYERS + '''
    model[5].body[0].weight[...] = 0
    model[5].body[2].weight[...] = 0
    return model''',
        "fails": ["test_build_model"],
    },
    "over_budget": {
        "cell": "build_my_model",
        "source": '''def build_my_model(rng):
    # wider everywhere: 16 channels in block 1 and no second pooling (12,794 parameters)
    model = Sequential(
        Conv2d(1, 16, 3, padding=1, rng=rng), ReLU(),
        Conv2d(16, 16, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        ResidualBlock(Sequential(Conv2d(16, 16, 3, padding=1, rng=rng), ReLU(),
                                 Conv2d(16, 16, 3, padding=1, rng=rng))), ReLU(),
        Conv2d(16, 32, 1, rng=rng), ReLU(),
        Flatten(), Linear(32 * 4 * 4, 10, rng=rng))
    model[5].body[2].weight[...] = 0
    return model''',
        "fails": ["test_build_my_model"],
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
        "fails": ["test_ResidualBlock", "test_ResidualBlock_backward"],
    },
    "residual_subclasses_library_block": {
        "cell": "ResidualBlock",
        "source": '''class ResidualBlock(Residual):
    """cnnlib's block under the exercise's name."""''',
        "fails": ["test_ResidualBlock", "test_ResidualBlock_backward"],
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
    "conv_params_from_a_tuple": {
        "cell": "conv_params",
        "source": '''def conv_params(c_in, c_out, k, bias=True):
    shape = (c_out, c_in) + (tuple(k) if isinstance(k, (tuple, list)) else (k, k))
    return int(np.prod(shape)) + (c_out if bias else 0)''',
    },
    "residual_with_cache_check": {
        "cell": "ResidualBlock",
        "source": '''class ResidualBlock(Module):
    def __init__(self, body):
        super().__init__()
        self.body = body

    def named_children(self):
        return (("body", self.body),)

    def forward(self, x):
        out = self.body(x)
        out = out + x
        return self._save(out, True)

    def backward(self, grad_out):
        grad_out, _ = self._require_cache(grad_out)
        through_body = self.body.backward(grad_out)
        return through_body + grad_out''',
    },
    "build_from_a_list": {
        "cell": "build_model",
        "source": '''def build_model(rng):
    layers = [Conv2d(1, 8, 3, padding=1, rng=rng), ReLU(), Conv2d(8, 16, 3, padding=1, rng=rng), ReLU(),
              MaxPool2d(2)]
    first = Conv2d(16, 16, 3, padding=1, rng=rng)
    last = Conv2d(16, 16, 3, padding=1, rng=rng)
    last.weight[:] = 0.0
    layers += [ResidualBlock(Sequential(first, ReLU(), last)), ReLU()]
    layers += [Conv2d(16, 32, 1, rng=rng), ReLU(), MaxPool2d(2), Flatten(), Linear(128, 10, rng=rng)]
    return Sequential(*layers)''',
    },
    "my_model_without_residual": {
        "cell": "build_my_model",
        "source": '''def build_my_model(rng):
    # wider early layers, no residual block, no second pooling (5,130 parameters)
    return Sequential(
        Conv2d(1, 16, 3, padding=1, rng=rng), ReLU(),
        Conv2d(16, 24, 3, padding=1, rng=rng), ReLU(), MaxPool2d(2),
        Conv2d(24, 8, 1, rng=rng), ReLU(),
        Flatten(), Linear(8 * 4 * 4, 10, rng=rng))''',
    },
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
