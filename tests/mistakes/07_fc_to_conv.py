"""Plausible wrong answers for notebook 07; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points.
"""

MISTAKES = {
    "reshape_hwc_order": {
        "cell": "linear_to_conv_weight",
        "source": '''def linear_to_conv_weight(weight, in_shape):
    c, h, w = in_shape
    weight = np.asarray(weight)
    return weight.reshape(weight.shape[0], h, w, c).transpose(0, 3, 1, 2)''',
        "fails": ["test_linear_to_conv_weight"],
    },
    "library_call_fc_to_conv": {
        "cell": "linear_to_conv_weight",
        "source": '''def linear_to_conv_weight(weight, in_shape):
    lin = Linear(int(np.prod(in_shape)), np.shape(weight)[0], rng=0)
    lin.weight = np.asarray(weight, dtype=np.float32)
    return cnnlib.fc_to_conv(lin, in_shape).weight''',
        "fails": ["test_linear_to_conv_weight"],
    },
    "padding_one_side": {
        "cell": "feature_map_size",
        "source": '''def feature_map_size(n, layers):
    for kernel, stride, padding in layers:
        n = (n + padding - kernel) // stride + 1
    return int(n)''',
        "fails": ["test_feature_map_size"],
    },
    "last_crop_missing": {
        "cell": "crops",
        "source": '''def crops(x, size, stride):
    x = np.asarray(x)
    _, h, w = x.shape
    n_rows, n_cols = (h - size) // stride, (w - size) // stride
    return np.array([[x[:, i * stride:i * stride + size, j * stride:j * stride + size]
                      for j in range(n_cols)] for i in range(n_rows)])''',
        "fails": ["test_crops"],
    },
    "mirror_rows": {
        "cell": "ten_crop",
        "source": '''def ten_crop(x, size):
    x = np.asarray(x)
    _, h, w = x.shape
    top, left = (h - size) // 2, (w - size) // 2
    five = [x[:, :size, :size], x[:, :size, w - size:], x[:, h - size:, :size], x[:, h - size:, w - size:],
            x[:, top:top + size, left:left + size]]
    return np.array(five + [c[:, ::-1, :] for c in five])''',
        "fails": ["test_ten_crop"],
    },
    "conv_cost_without_positions": {
        "cell": "multiply_adds",
        "source": '''def multiply_adds(model, input_shape):
    total = 0
    for layer in model:
        if isinstance(layer, (Conv2d, Linear)):
            total += layer.weight.size
    return int(total)''',
        "fails": ["test_multiply_adds"],
    },
}

# Library twins that compute the whole answer: each must lose the exercise's points.
SHORTCUTS = {
    "weights_by_fc_to_conv": {
        "cell": "linear_to_conv_weight",
        "source": '''def linear_to_conv_weight(weight, in_shape):
    layer = Linear(int(np.prod(in_shape)), weight.shape[0])
    layer.weight = np.asarray(weight, dtype=np.float32)
    return cnnlib.convert.fc_to_conv(layer, in_shape).weight''',
        "fails": ["test_linear_to_conv_weight"],
    },
    "size_by_library": {
        "cell": "feature_map_size",
        "source": '''from cnnlib.shapes import conv_output_size

def feature_map_size(n, layers):
    for kernel, stride, padding in layers:
        n = conv_output_size(n, kernel, stride=stride, padding=padding)
    return int(n)''',
        "fails": ["test_feature_map_size"],
    },
}
