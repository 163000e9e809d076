"""Plausible wrong answers for notebook 02; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points.
"""

MISTAKES = {
    "transposed_matrix": {
        "cell": "conv_matrix",
        "source": '''def conv_matrix(kernel, input_shape, stride=1):
    kernel = np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    H, W = input_shape
    h_out, w_out = (H - kh) // stride + 1, (W - kw) // stride + 1
    M = np.zeros((H * W, h_out * w_out))
    for i in range(h_out):
        for j in range(w_out):
            for a in range(kh):
                for b in range(kw):
                    M[(i * stride + a) * W + j * stride + b, i * w_out + j] = kernel[a, b]
    return M''',
        "fails": ["test_conv_matrix"],
    },
    "output_width_as_row_step": {
        "cell": "conv_matrix",
        "source": '''def conv_matrix(kernel, input_shape, stride=1):
    kernel = np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    H, W = input_shape
    h_out, w_out = (H - kh) // stride + 1, (W - kw) // stride + 1
    M = np.zeros((h_out * w_out, H * W))
    for i in range(h_out):
        for j in range(w_out):
            for a in range(kh):
                for b in range(kw):
                    M[i * w_out + j, (i * stride + a) * w_out + j * stride + b] = kernel[a, b]
    return M''',
        "fails": ["test_conv_matrix"],
    },
    "stride_ignored_in_columns": {
        "cell": "conv_matrix",
        "source": '''def conv_matrix(kernel, input_shape, stride=1):
    kernel = np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    H, W = input_shape
    h_out, w_out = (H - kh) // stride + 1, (W - kw) // stride + 1
    M = np.zeros((h_out * w_out, H * W))
    for i in range(h_out):
        for j in range(w_out):
            for a in range(kh):
                for b in range(kw):
                    M[i * w_out + j, (i + a) * W + j + b] = kernel[a, b]
    return M''',
        "fails": ["test_conv_matrix"],
    },
    "library_call_matrix": {
        "cell": "conv_matrix",
        "source": '''def conv_matrix(kernel, input_shape, stride=1):
    return cnnlib.conv2d_matrix(np.asarray(kernel, dtype=float)[None, None], input_shape, stride=stride)''',
        "fails": ["test_conv_matrix"],
    },
    "input_channels_forgotten": {
        "cell": "conv_layer_cost",
        "source": '''def conv_layer_cost(W, H, C, K, kw, kh, sw=1, sh=1):
    w_out = (W - kw) // sw + 1
    h_out = (H - kh) // sh + 1
    return {"output": (w_out, h_out, K), "weights": K * kw * kh, "biases": K,
            "mult_adds": w_out * h_out * K * kw * kh}''',
        "fails": ["test_conv_layer_cost"],
    },
    "no_floor": {
        "cell": "conv_layer_cost",
        "source": '''def conv_layer_cost(W, H, C, K, kw, kh, sw=1, sh=1):
    w_out = (W - kw) / sw + 1
    h_out = (H - kh) / sh + 1
    return {"output": (w_out, h_out, K), "weights": K * kw * kh * C, "biases": K,
            "mult_adds": w_out * h_out * K * kw * kh * C}''',
        "fails": ["test_conv_layer_cost"],
    },
    "off_by_one_output": {
        "cell": "conv_layer_cost",
        "source": '''def conv_layer_cost(W, H, C, K, kw, kh, sw=1, sh=1):
    w_out = (W - kw) // sw
    h_out = (H - kh) // sh
    return {"output": (w_out, h_out, K), "weights": K * kw * kh * C, "biases": K,
            "mult_adds": w_out * h_out * K * kw * kh * C}''',
        "fails": ["test_conv_layer_cost"],
    },
    "width_and_height_swapped": {
        "cell": "conv_layer_cost",
        "source": '''def conv_layer_cost(W, H, C, K, kw, kh, sw=1, sh=1):
    w_out = (W - kh) // sh + 1
    h_out = (H - kw) // sw + 1
    return {"output": (w_out, h_out, K), "weights": K * kw * kh * C, "biases": K,
            "mult_adds": w_out * h_out * K * kw * kh * C}''',
        "fails": ["test_conv_layer_cost"],
    },
    "dense_biases_per_input": {
        "cell": "dense_layer_cost",
        "source": '''def dense_layer_cost(in_shape, out_shape):
    n_in, n_out = int(np.prod(in_shape)), int(np.prod(out_shape))
    return {"weights": n_in * n_out, "biases": n_in, "mult_adds": n_in * n_out}''',
        "fails": ["test_dense_layer_cost"],
    },
    "dense_sum_of_shapes": {
        "cell": "dense_layer_cost",
        "source": '''def dense_layer_cost(in_shape, out_shape):
    n_in, n_out = int(sum(in_shape)), int(sum(out_shape))
    return {"weights": n_in * n_out, "biases": n_out, "mult_adds": n_in * n_out}''',
        "fails": ["test_dense_layer_cost"],
    },
    "biases_forgotten_in_network": {
        "cell": "count_parameters",
        "source": '''def count_parameters(input_shape, layers):
    shape, out = tuple(input_shape), []
    for layer in layers:
        if layer[0] == "conv":
            c = conv_layer_cost(shape[0], shape[1], shape[2], layer[1], layer[2], layer[2])
            shape, n = c["output"], c["weights"]
        elif layer[0] == "pool":
            k = layer[1]
            shape, n = (shape[0] // k, shape[1] // k, shape[2]), 0
        else:
            shape, n = (layer[1],), dense_layer_cost(shape, (layer[1],))["weights"]
        out.append((tuple(int(v) for v in shape), int(n)))
    return out''',
        "fails": ["test_count_parameters"],
    },
    "pooling_with_stride_one": {
        "cell": "count_parameters",
        "source": '''def count_parameters(input_shape, layers):
    shape, out = tuple(input_shape), []
    for layer in layers:
        if layer[0] == "conv":
            c = conv_layer_cost(shape[0], shape[1], shape[2], layer[1], layer[2], layer[2])
            shape, n = c["output"], c["weights"] + c["biases"]
        elif layer[0] == "pool":
            k = layer[1]
            shape, n = (shape[0] - k + 1, shape[1] - k + 1, shape[2]), 0
        else:
            c = dense_layer_cost(shape, (layer[1],))
            shape, n = (layer[1],), c["weights"] + c["biases"]
        out.append((tuple(int(v) for v in shape), int(n)))
    return out''',
        "fails": ["test_count_parameters"],
    },
    "channels_not_updated": {
        "cell": "count_parameters",
        "source": '''def count_parameters(input_shape, layers):
    shape, out = tuple(input_shape), []
    C = shape[2]
    for layer in layers:
        if layer[0] == "conv":
            c = conv_layer_cost(shape[0], shape[1], C, layer[1], layer[2], layer[2])
            shape, n = c["output"], c["weights"] + c["biases"]
        elif layer[0] == "pool":
            k = layer[1]
            shape, n = (shape[0] // k, shape[1] // k, shape[2]), 0
        else:
            c = dense_layer_cost(shape, (layer[1],))
            shape, n = (layer[1],), c["weights"] + c["biases"]
        out.append((tuple(int(v) for v in shape), int(n)))
    return out''',
        "fails": ["test_count_parameters"],
    },
}

# Library twins that compute the whole answer: each must lose the exercise's points.
SHORTCUTS = {
    "matrix_by_library": {
        "cell": "conv_matrix",
        "source": '''import cnnlib.conv

def conv_matrix(kernel, input_shape, stride=1):
    return cnnlib.conv.conv2d_matrix(np.asarray(kernel, dtype=float)[None, None], input_shape, stride=stride)''',
        "fails": ["test_conv_matrix"],
    },
    "matrix_from_convolving_basis_images": {
        "cell": "conv_matrix",
        "source": '''import scipy.signal

def conv_matrix(kernel, input_shape, stride=1):
    H, W = input_shape
    columns = [scipy.signal.correlate2d(np.eye(H * W)[i].reshape(H, W), kernel, "valid")[::stride, ::stride].ravel()
               for i in range(H * W)]
    return np.stack(columns, axis=1)''',
        "fails": ["test_conv_matrix"],
    },
    "dense_cost_by_building_the_layer": {
        "cell": "dense_layer_cost",
        "source": '''def dense_layer_cost(in_shape, out_shape):
    n_in, n_out = int(np.prod(in_shape)), int(np.prod(out_shape))
    layer = cnnlib.nn.Linear(n_in, n_out)
    return {"weights": layer.weight.size, "biases": layer.bias.size, "mult_adds": layer.weight.size}''',
        "fails": ["test_dense_layer_cost"],
    },
}
