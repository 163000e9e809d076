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
    p = (k - 1) // 2
    inside = (h * k - p * (p + 1)) * (w * k - p * (p + 1))
    return {"dense_params": n_in * n_out, "dense_mult_adds": n_in * n_out,
            "conv_params": c_out * k * k, "conv_mult_adds": n_out * k * k,
            "conv_padding_mult_adds": c_out * c_in * (h * w * k * k - inside)}''',
        "fails": ["test_layer_costs"],
    },
    "padding_taps_corners_counted_twice": {
        "cell": "layer_costs",
        "source": '''def layer_costs(c_in, h, w, c_out, k):
    n_in, n_out = c_in * h * w, c_out * h * w
    p = (k - 1) // 2
    # the border rows miss p, p - 1, ..., 1 rows of the kernel, k taps each; likewise columns
    per_side = p * (p + 1) // 2 * k
    return {"dense_params": n_in * n_out, "dense_mult_adds": n_in * n_out,
            "conv_params": c_out * c_in * k * k, "conv_mult_adds": n_out * c_in * k * k,
            "conv_padding_mult_adds": c_out * c_in * 2 * (h + w) * per_side}''',
        "fails": ["test_layer_costs"],
    },
    "padding_zeros_instead_of_taps": {
        "cell": "layer_costs",
        "source": '''def layer_costs(c_in, h, w, c_out, k):
    n_in, n_out = c_in * h * w, c_out * h * w
    p = (k - 1) // 2
    return {"dense_params": n_in * n_out, "dense_mult_adds": n_in * n_out,
            "conv_params": c_out * c_in * k * k, "conv_mult_adds": n_out * c_in * k * k,
            "conv_padding_mult_adds": c_out * c_in * ((h + 2 * p) * (w + 2 * p) - h * w)}''',
        "fails": ["test_layer_costs"],
    },
    "padding_taps_first_border_row_only": {
        "cell": "layer_costs",
        "source": '''def layer_costs(c_in, h, w, c_out, k):
    n_in, n_out = c_in * h * w, c_out * h * w
    p = (k - 1) // 2
    # correct for k = 3; with k = 5 the second row of outputs also reads padding
    inside = (h * k - 2 * p) * (w * k - 2 * p)
    return {"dense_params": n_in * n_out, "dense_mult_adds": n_in * n_out,
            "conv_params": c_out * c_in * k * k, "conv_mult_adds": n_out * c_in * k * k,
            "conv_padding_mult_adds": c_out * c_in * (h * w * k * k - inside)}''',
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
    "combined_kernel_correlates": {
        "cell": "combined_kernel",
        "source": '''def combined_kernel(kernels):
    c = np.ones((1, 1))
    for kernel in kernels:
        kernel = np.asarray(kernel, dtype=float)
        kh, kw = kernel.shape
        h, w = c.shape
        new = np.zeros((h + kh - 1, w + kw - 1))
        for u, v in np.ndindex(kh, kw):
            new[u:u + h, v:v + w] += kernel[kh - 1 - u, kw - 1 - v] * c
        c = new
    return c''',
        "fails": ["test_combined_kernel"],
    },
    "combined_kernel_one_too_large": {
        "cell": "combined_kernel",
        "source": '''def combined_kernel(kernels):
    c = np.ones((1, 1))
    for kernel in kernels:
        kernel = np.asarray(kernel, dtype=float)
        kh, kw = kernel.shape
        h, w = c.shape
        new = np.zeros((h + kh, w + kw))
        for u, v in np.ndindex(kh, kw):
            new[u:u + h, v:v + w] += kernel[u, v] * c
        c = new
    return c''',
        "fails": ["test_combined_kernel"],
    },
    "combined_kernel_first_two_layers_only": {
        "cell": "combined_kernel",
        "source": '''def combined_kernel(kernels):
    a = np.asarray(kernels[0], dtype=float)
    if len(kernels) == 1:
        return a
    b = np.asarray(kernels[1], dtype=float)
    c = np.zeros((a.shape[0] + b.shape[0] - 1, a.shape[1] + b.shape[1] - 1))
    for u, v in np.ndindex(*b.shape):
        c[u:u + a.shape[0], v:v + a.shape[1]] += b[u, v] * a
    return c''',
        "fails": ["test_combined_kernel"],
    },
    "input_gradient_kernel_not_flipped": {
        "cell": "conv1d_input_gradient",
        "source": '''def conv1d_input_gradient(grad_out, w, padding=0):
    g, w = np.asarray(grad_out, dtype=float), np.asarray(w, dtype=float)
    k = len(w)
    n = len(g) + k - 1 - 2 * padding
    dx_padded = np.zeros(len(g) + k - 1)
    for i in range(len(g)):
        dx_padded[i:i + k] += g[i] * w[::-1]
    return dx_padded[padding:padding + n]''',
        "fails": ["test_conv1d_input_gradient"],
    },
    "input_gradient_valid_not_full": {
        "cell": "conv1d_input_gradient",
        "source": '''def conv1d_input_gradient(grad_out, w, padding=0):
    g, w = np.asarray(grad_out, dtype=float), np.asarray(w, dtype=float)
    k = len(w)
    return np.array([np.sum(g[j:j + k] * w[::-1]) for j in range(len(g) - k + 1)])''',
        "fails": ["test_conv1d_input_gradient"],
    },
    "input_gradient_padding_kept": {
        "cell": "conv1d_input_gradient",
        "source": '''def conv1d_input_gradient(grad_out, w, padding=0):
    g, w = np.asarray(grad_out, dtype=float), np.asarray(w, dtype=float)
    k = len(w)
    dx = np.zeros(len(g) + k - 1)
    for i in range(len(g)):
        dx[i:i + k] += g[i] * w
    return dx''',
        "fails": ["test_conv1d_input_gradient"],
    },
    "input_gradient_padding_cropped_at_one_end": {
        "cell": "conv1d_input_gradient",
        "source": '''def conv1d_input_gradient(grad_out, w, padding=0):
    g, w = np.asarray(grad_out, dtype=float), np.asarray(w, dtype=float)
    k = len(w)
    dx = np.zeros(len(g) + k - 1)
    for i in range(len(g)):
        dx[i:i + k] += g[i] * w
    return dx[2 * padding:]''',
        "fails": ["test_conv1d_input_gradient"],
    },
    "input_gradient_gather_off_by_one": {
        "cell": "conv1d_input_gradient",
        "source": '''def conv1d_input_gradient(grad_out, w, padding=0):
    g, w = np.asarray(grad_out, dtype=float), np.asarray(w, dtype=float)
    k, n_out = len(w), len(g)
    n = n_out + k - 1 - 2 * padding
    dx = np.zeros(n)
    for j in range(n):
        for m in range(k):
            i = j + padding - m + 1
            if 0 <= i < n_out:
                dx[j] += w[m] * g[i]
    return dx''',
        "fails": ["test_conv1d_input_gradient"],
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
    "combined_kernel_by_library_convolution": {
        "cell": "combined_kernel",
        "source": '''from functools import reduce

def combined_kernel(kernels):
    return reduce(lambda a, b: cnnlib.convolve2d(a, b, mode="full"),
                  [np.asarray(k, dtype=float) for k in kernels])''',
        "fails": ["test_combined_kernel"],
    },
    "padding_taps_from_conv2d_matrix": {
        "cell": "layer_costs",
        "source": '''def layer_costs(c_in, h, w, c_out, k):
    n_in, n_out = c_in * h * w, c_out * h * w
    p = (k - 1) // 2
    inside = np.count_nonzero(cnnlib.conv2d_matrix(np.ones((1, 1, k, k)), (h, w), padding=p))
    return {"dense_params": n_in * n_out, "dense_mult_adds": n_in * n_out,
            "conv_params": c_out * c_in * k * k, "conv_mult_adds": n_out * c_in * k * k,
            "conv_padding_mult_adds": c_out * c_in * (h * w * k * k - inside)}''',
        "fails": ["test_layer_costs"],
    },
    "input_gradient_by_library_backward": {
        "cell": "conv1d_input_gradient",
        "source": '''from cnnlib import conv2d_backward, conv2d_forward

def conv1d_input_gradient(grad_out, w, padding=0):
    g, w = np.asarray(grad_out, dtype=float), np.asarray(w, dtype=float)
    n = len(g) + len(w) - 1 - 2 * padding
    _, cache = conv2d_forward(np.zeros((1, 1, 1, n)), w[None, None, None], padding=(0, padding))
    return conv2d_backward(g[None, None, None], cache)[0][0, 0, 0]''',
        "fails": ["test_conv1d_input_gradient"],
    },
    "input_gradient_by_transposed_convolution": {
        "cell": "conv1d_input_gradient",
        "source": '''def conv1d_input_gradient(grad_out, w, padding=0):
    g, w = np.asarray(grad_out, dtype=float), np.asarray(w, dtype=float)
    return cnnlib.conv_transpose2d(g[None, None, None], w[None, None, None], padding=(0, padding))[0, 0, 0]''',
        "fails": ["test_conv1d_input_gradient"],
    },
    "input_gradient_by_numpy_convolve": {
        "cell": "conv1d_input_gradient",
        "source": '''def conv1d_input_gradient(grad_out, w, padding=0):
    full = np.convolve(np.asarray(grad_out, dtype=float), np.asarray(w, dtype=float), mode="full")
    return full[padding:len(full) - padding]''',
        "fails": ["test_conv1d_input_gradient"],
    },
}

# Right answers written differently from the solution: each must earn full marks.
CORRECT = {
    "layer_costs_by_counting_taps": {
        "cell": "layer_costs",
        "source": '''def layer_costs(c_in, h, w, c_out, k):
    p = (k - 1) // 2
    def outside(n):      # taps per axis that fall outside 0..n-1, summed over the n outputs
        return sum(1 for i in range(n) for m in range(k) if not 0 <= i + m - p < n)
    taps_h, taps_w = h * k, w * k
    inside = (taps_h - outside(h)) * (taps_w - outside(w))
    dense = (c_in * h * w) * (c_out * h * w)
    return {"dense_params": dense, "dense_mult_adds": dense,
            "conv_params": k * k * c_in * c_out,
            "conv_mult_adds": (h * w) * (k * k) * c_in * c_out,
            "conv_padding_mult_adds": (taps_h * taps_w - inside) * c_in * c_out}''',
    },
    "combined_kernel_by_gather": {
        "cell": "combined_kernel",
        "source": '''def combined_kernel(kernels):
    c = np.asarray(kernels[0], dtype=float)
    for b in kernels[1:]:
        b = np.asarray(b, dtype=float)
        out = np.zeros((c.shape[0] + b.shape[0] - 1, c.shape[1] + b.shape[1] - 1))
        for i, j in np.ndindex(*out.shape):
            for n, m in np.ndindex(*c.shape):
                if 0 <= i - n < b.shape[0] and 0 <= j - m < b.shape[1]:
                    out[i, j] += c[n, m] * b[i - n, j - m]
        c = out
    return c''',
    },
    "input_gradient_by_gather": {
        "cell": "conv1d_input_gradient",
        "source": '''def conv1d_input_gradient(grad_out, w, padding=0):
    g = [float(v) for v in grad_out]
    w = [float(v) for v in w]
    k, n_out = len(w), len(g)
    n = n_out + k - 1 - 2 * padding
    dx = np.zeros(n)
    for j in range(n):                    # input j is padded position j + padding
        for m in range(k):
            i = j + padding - m           # the output that read it with weight w[m]
            if 0 <= i < n_out:
                dx[j] += w[m] * g[i]
    return dx''',
    },
    "input_gradient_full_correlation_with_flipped_kernel": {
        "cell": "conv1d_input_gradient",
        "source": '''def conv1d_input_gradient(grad_out, w, padding=0):
    g, w = np.asarray(grad_out, dtype=float), np.asarray(w, dtype=float)
    k = len(w)
    g_full = np.concatenate([np.zeros(k - 1), g, np.zeros(k - 1)])
    flipped = w[::-1]
    dx = np.array([g_full[j:j + k] @ flipped for j in range(len(g_full) - k + 1)])
    return dx[padding:len(dx) - padding]''',
    },
}
