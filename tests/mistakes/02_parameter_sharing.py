"""Plausible wrong answers for notebook 02; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points;
SHORTCUTS go through a library twin, CORRECT entries are right answers written differently.
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
    # conv_backward: the classic mistakes of a backward pass
    "dx_of_the_padded_input": {  # forgets to cut the padding off dx
        "cell": "conv_backward",
        "source": '''def conv_backward(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    _, _, H_out, W_out = dout.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros(xp.shape)
    dw = np.zeros(w.shape)
    db = np.zeros(F)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    g = dout[n, f, i, j]
                    rows = slice(i * stride, i * stride + kh)
                    cols = slice(j * stride, j * stride + kw)
                    dw[f] += g * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += g * w[f]
                    db[f] += g
    return dxp, dw, db''',
        "fails": ["test_conv_backward"],
    },
    "stride_ignored": {  # reads the window of output (i, j) at (i, j) whatever the stride
        "cell": "conv_backward",
        "source": '''def conv_backward(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    _, _, H_out, W_out = dout.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros(xp.shape)
    dw = np.zeros(w.shape)
    db = np.zeros(F)
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    g = dout[n, f, i, j]
                    rows = slice(i, i + kh)
                    cols = slice(j, j + kw)
                    dw[f] += g * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += g * w[f]
                    db[f] += g
    dx = dxp[:, :, p:p + H, p:p + W]
    return dx, dw, db''',
        "fails": ["test_conv_backward"],
    },
    "db_per_example": {  # sums db over the positions but not over the batch
        "cell": "conv_backward",
        "source": '''def conv_backward(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    _, _, H_out, W_out = dout.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros(xp.shape)
    dw = np.zeros(w.shape)
    db = dout.sum(axis=(2, 3))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    g = dout[n, f, i, j]
                    rows = slice(i * stride, i * stride + kh)
                    cols = slice(j * stride, j * stride + kw)
                    dw[f] += g * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += g * w[f]
    dx = dxp[:, :, p:p + H, p:p + W]
    return dx, dw, db''',
        "fails": ["test_conv_backward"],
    },
    "dw_of_the_last_example": {  # starts dw afresh for every example
        "cell": "conv_backward",
        "source": '''def conv_backward(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    _, _, H_out, W_out = dout.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp = np.zeros(xp.shape)
    dw = np.zeros(w.shape)
    db = np.zeros(F)
    for n in range(N):
        dw = np.zeros(w.shape)
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    g = dout[n, f, i, j]
                    rows = slice(i * stride, i * stride + kh)
                    cols = slice(j * stride, j * stride + kw)
                    dw[f] += g * xp[n, :, rows, cols]
                    dxp[n, :, rows, cols] += g * w[f]
                    db[f] += g
    dx = dxp[:, :, p:p + H, p:p + W]
    return dx, dw, db''',
        "fails": ["test_conv_backward"],
    },
    # conv_layer_cost
    "input_channels_forgotten": {  # kernels over one channel
        "cell": "conv_layer_cost",
        "source": '''def conv_layer_cost(W, H, C, K, kw, kh, sw=1, sh=1):
    w_out = (W - kw) // sw + 1
    h_out = (H - kh) // sh + 1
    n_in, n_out = W * H * C, w_out * h_out * K
    return {"output": (w_out, h_out, K), "weights": K * kw * kh, "biases": K, "mult_adds": n_out * kw * kh,
            "dense_weights": n_in * n_out, "dense_biases": n_out, "dense_mult_adds": n_in * n_out}''',
        "fails": ["test_conv_layer_cost"],
    },
    "no_floor": {  # true division
        "cell": "conv_layer_cost",
        "source": '''def conv_layer_cost(W, H, C, K, kw, kh, sw=1, sh=1):
    w_out = (W - kw) / sw + 1
    h_out = (H - kh) / sh + 1
    n_in, n_out = W * H * C, w_out * h_out * K
    return {"output": (w_out, h_out, K), "weights": K * kw * kh * C, "biases": K, "mult_adds": n_out * kw * kh * C,
            "dense_weights": n_in * n_out, "dense_biases": n_out, "dense_mult_adds": n_in * n_out}''',
        "fails": ["test_conv_layer_cost"],
    },
    "off_by_one_output": {  # W - kw window positions
        "cell": "conv_layer_cost",
        "source": '''def conv_layer_cost(W, H, C, K, kw, kh, sw=1, sh=1):
    w_out = (W - kw) // sw
    h_out = (H - kh) // sh
    n_in, n_out = W * H * C, w_out * h_out * K
    return {"output": (w_out, h_out, K), "weights": K * kw * kh * C, "biases": K, "mult_adds": n_out * kw * kh * C,
            "dense_weights": n_in * n_out, "dense_biases": n_out, "dense_mult_adds": n_in * n_out}''',
        "fails": ["test_conv_layer_cost"],
    },
    "width_and_height_swapped": {  # kh and sh along the width
        "cell": "conv_layer_cost",
        "source": '''def conv_layer_cost(W, H, C, K, kw, kh, sw=1, sh=1):
    w_out = (W - kh) // sh + 1
    h_out = (H - kw) // sw + 1
    n_in, n_out = W * H * C, w_out * h_out * K
    return {"output": (w_out, h_out, K), "weights": K * kw * kh * C, "biases": K, "mult_adds": n_out * kw * kh * C,
            "dense_weights": n_in * n_out, "dense_biases": n_out, "dense_mult_adds": n_in * n_out}''',
        "fails": ["test_conv_layer_cost"],
    },
    "dense_biases_per_input": {  # one dense bias per input value
        "cell": "conv_layer_cost",
        "source": '''def conv_layer_cost(W, H, C, K, kw, kh, sw=1, sh=1):
    w_out = (W - kw) // sw + 1
    h_out = (H - kh) // sh + 1
    n_in, n_out = W * H * C, w_out * h_out * K
    return {"output": (w_out, h_out, K), "weights": K * kw * kh * C, "biases": K, "mult_adds": n_out * kw * kh * C,
            "dense_weights": n_in * n_out, "dense_biases": n_in, "dense_mult_adds": n_in * n_out}''',
        "fails": ["test_conv_layer_cost"],
    },
    # count_parameters
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
            shape, n = (layer[1],), int(np.prod(shape)) * layer[1]
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
            shape, n = (layer[1],), int(np.prod(shape)) * layer[1] + layer[1]
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
            shape, n = (layer[1],), int(np.prod(shape)) * layer[1] + layer[1]
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
    "backward_by_library": {
        "cell": "conv_backward",
        "source": '''def conv_backward(dout, x, w, b, stride, padding):
    _, cache = cnnlib.conv2d_forward(x, w, b, stride=stride, padding=padding)
    return cnnlib.conv2d_backward(dout, cache)''',
        "fails": ["test_conv_backward"],
    },
    "backward_by_numerical_gradient": {
        "cell": "conv_backward",
        "source": '''from cnnlib.gradcheck import numerical_gradient

def conv_backward(dout, x, w, b, stride, padding):
    x, w, b = (np.array(v, dtype=float) for v in (x, w, b))
    loss = lambda: np.sum(conv_forward_loops(x, w, b, stride, padding) * dout)
    return tuple(numerical_gradient(loss, v) for v in (x, w, b))''',
        "fails": ["test_conv_backward"],
    },
    "input_gradient_by_transposed_convolution": {
        "cell": "conv_backward",
        "source": '''def conv_backward(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    windows = windows[:, :, :dout.shape[2], :dout.shape[3]]
    dw = np.einsum("nfij,ncijuv->fcuv", dout, windows)
    dx = cnnlib.conv_transpose2d(dout, w, stride=stride, padding=p)
    dx = np.pad(dx, ((0, 0), (0, 0), (0, H - dx.shape[2]), (0, W - dx.shape[3])))
    return dx, dw, dout.sum(axis=(0, 2, 3))''',
        "fails": ["test_conv_backward"],
    },
    "output_size_from_cnnlib": {
        "cell": "conv_layer_cost",
        "source": '''def conv_layer_cost(W, H, C, K, kw, kh, sw=1, sh=1):
    w_out, h_out = cnnlib.conv_output_size(W, kw, stride=sw), cnnlib.conv_output_size(H, kh, stride=sh)
    n_in, n_out = W * H * C, w_out * h_out * K
    return {"output": (w_out, h_out, K), "weights": K * kw * kh * C, "biases": K,
            "mult_adds": n_out * kw * kh * C,
            "dense_weights": n_in * n_out, "dense_biases": n_out, "dense_mult_adds": n_in * n_out}''',
        "fails": ["test_conv_layer_cost"],
    },
    "output_size_by_running_the_counter": {
        "cell": "conv_layer_cost",
        "source": '''def conv_layer_cost(W, H, C, K, kw, kh, sw=1, sh=1):
    (w_out, h_out, _), mult_adds = count_by_running(W, H, C, K, kw, kh, sw, sh)
    n_in, n_out = W * H * C, w_out * h_out * K
    return {"output": (w_out, h_out, K), "weights": K * kw * kh * C, "biases": K, "mult_adds": mult_adds,
            "dense_weights": n_in * n_out, "dense_biases": n_out, "dense_mult_adds": n_in * n_out}''',
        "fails": ["test_conv_layer_cost"],
    },
}

# Right answers written differently from the solution: each must earn full marks.
CORRECT = {
    "backward_vectorised_with_conv_matrix": {
        "cell": "conv_backward",
        "source": '''def conv_backward(dout, x, w, b, stride, padding):
    N, C, H, W = x.shape
    F, _, kh, kw = w.shape
    _, _, H_out, W_out = dout.shape
    p = padding
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    windows = np.lib.stride_tricks.sliding_window_view(xp, (kh, kw), axis=(2, 3))[:, :, ::stride, ::stride]
    dw = np.einsum("nfij,ncijuv->fcuv", dout, windows[:, :, :H_out, :W_out])
    dxp = np.zeros(xp.shape)
    for f in range(F):
        for c in range(C):
            M = conv_matrix(w[f, c], xp.shape[2:], stride=stride)   # exercise 1: dx = M.T @ dout
            dxp[:, c] += (dout[:, f].reshape(N, -1) @ M).reshape(N, *xp.shape[2:])
    return dxp[:, :, p:p + H, p:p + W], dw, dout.sum(axis=(0, 2, 3))''',
    },
    "costs_by_counting_window_starts": {
        "cell": "conv_layer_cost",
        "source": '''def conv_layer_cost(W, H, C, K, kw, kh, sw=1, sh=1):
    w_out = len(range(0, W - kw + 1, sw))
    h_out = len(range(0, H - kh + 1, sh))
    per_output = kw * kh * C
    outputs = w_out * h_out * K
    return dict(output=(w_out, h_out, K), weights=K * per_output, biases=K, mult_adds=outputs * per_output,
                dense_weights=W * H * C * outputs, dense_biases=outputs, dense_mult_adds=outputs * W * H * C)''',
    },
}
