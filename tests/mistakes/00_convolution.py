"""Plausible wrong answers for notebook 00; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points.
"""

MISTAKES = {
    "flipped_kernel_1d": {
        "cell": "correlate1d_valid",
        "source": '''def correlate1d_valid(x, w):
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    k = len(w)
    return np.array([x[i:i + k] @ w[::-1] for i in range(len(x) - k + 1)])''',
        "fails": ["test_correlate1d_valid"],
    },
    "off_by_one_1d": {
        "cell": "correlate1d_valid",
        "source": '''def correlate1d_valid(x, w):
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    k = len(w)
    return np.array([x[i:i + k] @ w for i in range(len(x) - k)])''',
        "fails": ["test_correlate1d_valid"],
    },
    "library_call_1d": {
        "cell": "correlate1d_valid",
        "source": '''def correlate1d_valid(x, w):
    return np.correlate(np.asarray(x, dtype=float), np.asarray(w, dtype=float), mode="valid")''',
        "fails": ["test_correlate1d_valid"],
    },
    "same_padding_2d": {
        "cell": "correlate2d_valid",
        "source": '''def correlate2d_valid(image, kernel):
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    padded = np.pad(image, ((kh // 2, kh // 2), (kw // 2, kw // 2)))
    s = np.empty(image.shape)
    for i in range(image.shape[0]):
        for j in range(image.shape[1]):
            s[i, j] = np.sum(padded[i:i + kh, j:j + kw] * kernel)
    return s''',
        "fails": ["test_correlate2d_valid", "test_convolve2d_valid", "test_conv_layer"],
    },
    "square_kernel_assumed": {
        "cell": "correlate2d_valid",
        "source": '''def correlate2d_valid(image, kernel):
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    k = kernel.shape[0]
    s = np.empty((image.shape[0] - k + 1, image.shape[1] - k + 1))
    for i in range(s.shape[0]):
        for j in range(s.shape[1]):
            s[i, j] = np.sum(image[i:i + k, j:j + k] * kernel)
    return s''',
        "fails": ["test_correlate2d_valid"],
    },
    "flip_rows_only": {
        "cell": "convolve2d_valid",
        "source": '''def convolve2d_valid(image, kernel):
    return correlate2d_valid(image, np.asarray(kernel)[::-1, :])''',
        "fails": ["test_convolve2d_valid"],
    },
    "depth_equals_input_depth": {
        "cell": "conv_output_shape",
        "source": '''def conv_output_shape(x_shape, w_shape, stride=1, padding=0):
    n, c_in, h, w = x_shape
    _, _, kh, kw = w_shape
    return (n, c_in, (h + 2 * padding - kh) // stride + 1, (w + 2 * padding - kw) // stride + 1)''',
        "fails": ["test_conv_output_shape"],
    },
    "stride_ignored": {
        "cell": "conv_output_shape",
        "source": '''def conv_output_shape(x_shape, w_shape, stride=1, padding=0):
    n, _, h, w = x_shape
    c_out, _, kh, kw = w_shape
    return (n, c_out, h + 2 * padding - kh + 1, w + 2 * padding - kw + 1)''',
        "fails": ["test_conv_output_shape"],
    },
    "padding_one_side": {
        "cell": "conv_output_shape",
        "source": '''def conv_output_shape(x_shape, w_shape, stride=1, padding=0):
    n, _, h, w = x_shape
    c_out, _, kh, kw = w_shape
    return (n, c_out, (h + padding - kh) // stride + 1, (w + padding - kw) // stride + 1)''',
        "fails": ["test_conv_output_shape"],
    },
    "bias_forgotten": {
        "cell": "conv_layer",
        "source": '''def conv_layer(x, w, b):
    return np.stack([sum(correlate2d_valid(x[c], w[o, c]) for c in range(x.shape[0]))
                     for o in range(w.shape[0])])''',
        "fails": ["test_conv_layer"],
    },
    "library_call_layer": {
        "cell": "conv_layer",
        "source": '''def conv_layer(x, w, b):
    return cnnlib.conv2d(x[None], w, b)[0]''',
        "fails": ["test_conv_layer"],
    },
}
