"""Plausible wrong answers for notebook 01; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points.
"""

MISTAKES = {
    "window_off_by_one": {
        "cell": "conv1d_dependency",
        "source": '''def conv1d_dependency(n, k, stride=1, padding=0):
    n_out = (n + 2 * padding - k) // stride + 1
    D = np.zeros((n_out, n), dtype=int)
    for i in range(n_out):
        for j in range(i * stride - padding, i * stride - padding + k - 1):
            if 0 <= j < n:
                D[i, j] = 1
    return D''',
        "fails": ["test_conv1d_dependency"],
    },
    "conv_params_without_input_channels": {
        "cell": "layer_costs",
        "source": '''def layer_costs(c_in, h, w, c_out, k):
    n_in, n_out = c_in * h * w, c_out * h * w
    return {"dense_params": n_in * n_out, "dense_mult_adds": n_in * n_out,
            "conv_params": c_out * k * k, "conv_mult_adds": n_out * k * k}''',
        "fails": ["test_layer_costs"],
    },
    "own_stride_included": {
        "cell": "receptive_fields",
        "source": '''def receptive_fields(layers):
    r, jump, out = 1, 1, []
    for layer in layers:
        k, s = layer[0], layer[1]
        d = layer[2] if len(layer) > 2 else 1
        jump *= s
        r += d * (k - 1) * jump
        out.append(r)
    return out''',
        "fails": ["test_receptive_fields"],
    },
    "previous_stride_not_product": {
        "cell": "receptive_fields",
        "source": '''def receptive_fields(layers):
    r, previous_stride, out = 1, 1, []
    for layer in layers:
        k, s = layer[0], layer[1]
        d = layer[2] if len(layer) > 2 else 1
        r += d * (k - 1) * previous_stride
        previous_stride = s
        out.append(r)
    return out''',
        "fails": ["test_receptive_fields"],
    },
    "receptive_field_n_times_k": {
        "cell": "stack_weights",
        "source": '''def stack_weights(n_layers, k=3):
    r = n_layers * k
    return r, n_layers * k * k, r * r''',
        "fails": ["test_stack_weights"],
    },
    "one_hot_at_corner": {
        "cell": "input_gradient",
        "source": '''def input_gradient(layers, size, weights=None):
    x = np.zeros((1, 1, size, size))
    caches = []
    for l, layer in enumerate(layers):
        k, s = layer[0], layer[1]
        d = layer[2] if len(layer) > 2 else 1
        w = np.ones((1, 1, k, k)) if weights is None else np.asarray(weights[l], dtype=float)[None, None]
        x, cache = cnnlib.conv2d_forward(x, w, stride=s, dilation=d)
        caches.append(cache)
    grad = np.zeros_like(x)
    grad[0, 0, 0, 0] = 1.0
    for cache in reversed(caches):
        grad, _, _ = cnnlib.conv2d_backward(grad, cache)
    return grad[0, 0]''',
        "fails": ["test_input_gradient"],
    },
}

# Library twins that compute the whole answer: each must lose the exercise's points.
SHORTCUTS = {
    "dependency_from_library_matrix": {
        "cell": "conv1d_dependency",
        "source": '''from cnnlib.conv import conv2d_matrix

def conv1d_dependency(n, k, stride=1, padding=0):
    M = conv2d_matrix(np.ones((1, 1, 1, k)), (1, n), stride=(1, stride), padding=(0, padding))
    return (M != 0).astype(int)''',
        "fails": ["test_conv1d_dependency"],
    },
    "receptive_fields_by_library": {
        "cell": "receptive_fields",
        "source": '''from cnnlib.shapes import receptive_field

def receptive_fields(layers):
    return receptive_field(layers, per_layer=True)''',
        "fails": ["test_receptive_fields"],
    },
}
