"""Plausible wrong answers for notebook 00; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points:
only its own exercise's, since a later exercise is graded with references of the earlier ones.
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
        "fails": ["test_correlate2d_valid"],
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
    "no_plus_one": {
        "cell": "conv_output_shape",
        "source": '''def conv_output_shape(x_shape, w_shape, stride=1, padding=0):
    n, _, h, w = x_shape
    c_out, _, kh, kw = w_shape
    return (n, c_out, (h + 2 * padding - kh) // stride, (w + 2 * padding - kw) // stride)''',
        "fails": ["test_conv_output_shape"],
    },
    "ceil_instead_of_floor": {
        "cell": "conv_output_shape",
        "source": '''import math

def conv_output_shape(x_shape, w_shape, stride=1, padding=0):
    n, _, h, w = x_shape
    c_out, _, kh, kw = w_shape
    return (n, c_out, math.ceil((h + 2 * padding - kh) / stride) + 1,
            math.ceil((w + 2 * padding - kw) / stride) + 1)''',
        "fails": ["test_conv_output_shape"],
    },
    "input_size_over_stride": {
        "cell": "conv_output_shape",
        "source": '''def conv_output_shape(x_shape, w_shape, stride=1, padding=0):
    n, _, h, w = x_shape
    c_out, _, kh, kw = w_shape
    return (n, c_out, (h + 2 * padding - kh + 1) // stride, (w + 2 * padding - kw + 1) // stride)''',
        "fails": ["test_conv_output_shape"],
    },
    "bias_forgotten": {
        "cell": "conv_layer",
        "source": '''def conv_layer(x, w, b, stride=1, padding=0):
    x = np.pad(np.asarray(x, dtype=float), ((0, 0), (padding, padding), (padding, padding)))
    return np.stack([sum(correlate2d_valid(x[c], w[o, c]) for c in range(x.shape[0]))[::stride, ::stride]
                     for o in range(w.shape[0])])''',
        "fails": ["test_conv_layer"],
    },
    "stride_ignored_layer": {
        "cell": "conv_layer",
        "source": '''def conv_layer(x, w, b, stride=1, padding=0):
    x = np.pad(np.asarray(x, dtype=float), ((0, 0), (padding, padding), (padding, padding)))
    return np.stack([sum(correlate2d_valid(x[c], w[o, c]) for c in range(x.shape[0])) + b[o]
                     for o in range(w.shape[0])])''',
        "fails": ["test_conv_layer"],
    },
    "subsample_the_input": {
        "cell": "conv_layer",
        "source": '''def conv_layer(x, w, b, stride=1, padding=0):
    x = np.pad(np.asarray(x, dtype=float), ((0, 0), (padding, padding), (padding, padding)))
    x = x[:, ::stride, ::stride]
    return np.stack([sum(correlate2d_valid(x[c], w[o, c]) for c in range(x.shape[0])) + b[o]
                     for o in range(w.shape[0])])''',
        "fails": ["test_conv_layer"],
    },
    "padding_one_side_layer": {
        "cell": "conv_layer",
        "source": '''def conv_layer(x, w, b, stride=1, padding=0):
    x = np.pad(np.asarray(x, dtype=float), ((0, 0), (padding, 0), (padding, 0)))
    return np.stack([sum(correlate2d_valid(x[c], w[o, c]) for c in range(x.shape[0]))[::stride, ::stride] + b[o]
                     for o in range(w.shape[0])])''',
        "fails": ["test_conv_layer"],
    },
    "library_call_layer": {
        "cell": "conv_layer",
        "source": '''def conv_layer(x, w, b, stride=1, padding=0):
    return cnnlib.conv2d(x[None], w, b, stride=stride, padding=padding)[0]''',
        "fails": ["test_conv_layer"],
    },
}

# Library twins that compute the whole answer: each must lose the exercise's points.
SHORTCUTS = {
    "numpy_convolve_1d": {
        "cell": "correlate1d_valid",
        "source": '''def correlate1d_valid(x, w):
    return np.convolve(np.asarray(x, dtype=float), np.asarray(w, dtype=float)[::-1], mode="valid")''',
        "fails": ["test_correlate1d_valid"],
    },
    "scipy_correlate_1d": {
        "cell": "correlate1d_valid",
        "source": '''import scipy.signal

def correlate1d_valid(x, w):
    return scipy.signal.correlate(x, w, "valid")''',
        "fails": ["test_correlate1d_valid"],
    },
    "scipy_correlate_2d": {
        "cell": "correlate2d_valid",
        "source": '''import scipy.signal

def correlate2d_valid(image, kernel):
    return scipy.signal.correlate(image, kernel, "valid")''',
        "fails": ["test_correlate2d_valid"],
    },
    "scipy_fftconvolve_2d": {
        "cell": "correlate2d_valid",
        "source": '''from scipy.signal import fftconvolve

def correlate2d_valid(image, kernel):
    return fftconvolve(image, np.asarray(kernel)[::-1, ::-1], mode="valid")''',
        "fails": ["test_correlate2d_valid"],
    },
    "scipy_in_a_default_argument_2d": {
        "cell": "correlate2d_valid",
        "source": '''import scipy.signal

def correlate2d_valid(image, kernel, _correlate=scipy.signal.correlate2d):
    return _correlate(image, kernel, mode="valid")''',
        "fails": ["test_correlate2d_valid"],
    },
    "cnnlib_submodule_2d": {
        "cell": "correlate2d_valid",
        "source": '''import cnnlib.conv

def correlate2d_valid(image, kernel):
    return cnnlib.conv.conv2d(np.asarray(image, dtype=float)[None, None],
                              np.asarray(kernel, dtype=float)[None, None])[0, 0]''',
        "fails": ["test_correlate2d_valid"],
    },
    "scipy_convolve2d": {
        "cell": "convolve2d_valid",
        "source": '''import scipy.signal

def convolve2d_valid(image, kernel):
    return scipy.signal.convolve2d(image, kernel, mode="valid")''',
        "fails": ["test_convolve2d_valid"],
    },
    "conv2d_of_zeros_for_shape": {
        "cell": "conv_output_shape",
        "source": '''def conv_output_shape(x_shape, w_shape, stride=1, padding=0):
    return cnnlib.conv.conv2d(np.zeros(x_shape), np.zeros(w_shape), stride=stride, padding=padding).shape''',
        "fails": ["test_conv_output_shape"],
    },
    "cnnlib_conv_submodule_layer": {
        "cell": "conv_layer",
        "source": '''def conv_layer(x, w, b, stride=1, padding=0):
    return cnnlib.conv.conv2d(np.asarray(x)[None], w, b, stride=stride, padding=padding)[0]''',
        "fails": ["test_conv_layer"],
    },
    "conv2d_forward_layer": {
        "cell": "conv_layer",
        "source": '''def conv_layer(x, w, b, stride=1, padding=0):
    return cnnlib.conv2d_forward(np.asarray(x)[None], w, b, stride=stride, padding=padding)[0][0]''',
        "fails": ["test_conv_layer"],
    },
    "scipy_correlate_3d_layer": {
        "cell": "conv_layer",
        "source": '''from scipy import signal

def conv_layer(x, w, b, stride=1, padding=0):
    x = np.pad(np.asarray(x, dtype=float), ((0, 0), (padding, padding), (padding, padding)))
    return np.stack([signal.correlate(x, w[o], mode="valid")[0][::stride, ::stride] + b[o]
                     for o in range(len(w))])''',
        "fails": ["test_conv_layer"],
    },
}

# Correct answers written differently from the solution: each must earn full marks.
CORRECT = {
    "windows_times_kernel_1d": {
        "cell": "correlate1d_valid",
        "source": '''def correlate1d_valid(x, w):
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(x, dtype=float), len(w))
    return windows @ np.asarray(w, dtype=float)''',
    },
    "loop_over_kernel_taps_2d": {
        "cell": "correlate2d_valid",
        "source": '''def correlate2d_valid(image, kernel):
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    h_out, w_out = image.shape[0] - kh + 1, image.shape[1] - kw + 1
    s = np.zeros((h_out, w_out))
    for m in range(kh):
        for n in range(kw):
            s += kernel[m, n] * image[m:m + h_out, n:n + w_out]
    return s''',
    },
    "own_loop_with_flipped_indices": {
        "cell": "convolve2d_valid",
        "source": '''def convolve2d_valid(image, kernel):
    image, kernel = np.asarray(image, dtype=float), np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    out = np.zeros((image.shape[0] - kh + 1, image.shape[1] - kw + 1))
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            for m in range(kh):
                for n in range(kw):
                    out[i, j] += image[i + m, j + n] * kernel[kh - 1 - m, kw - 1 - n]
    return out''',
    },
    "floor_of_a_float": {
        "cell": "conv_output_shape",
        "source": '''import math

def conv_output_shape(x_shape, w_shape, stride=1, padding=0):
    n, _, h, w = x_shape
    c_out, _, kh, kw = w_shape
    size = lambda length, k: math.floor((length + 2 * padding - k) / stride) + 1
    return n, c_out, size(h, kh), size(w, kw)''',
    },
    "count_the_starts_in_a_loop": {
        "cell": "conv_output_shape",
        "source": '''def conv_output_shape(x_shape, w_shape, stride=1, padding=0):
    def count(length, k):
        starts, t = 0, 0
        while t + k <= length + 2 * padding:
            starts, t = starts + 1, t + stride
        return starts
    return (x_shape[0], w_shape[0], count(x_shape[2], w_shape[2]), count(x_shape[3], w_shape[3]))''',
    },
    "einsum_over_windows": {
        "cell": "conv_layer",
        "source": '''def conv_layer(x, w, b, stride=1, padding=0):
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    x = np.pad(x, ((0, 0), (padding, padding), (padding, padding)))
    windows = np.lib.stride_tricks.sliding_window_view(x, w.shape[2:], axis=(1, 2))[:, ::stride, ::stride]
    return np.einsum("chwij,ocij->ohw", windows, w) + np.asarray(b)[:, None, None]''',
    },
    "four_loops_via_conv_output_shape": {
        "cell": "conv_layer",
        "source": '''def conv_layer(x, w, b, stride=1, padding=0):
    x = np.pad(np.asarray(x, dtype=float), ((0, 0), (padding, padding), (padding, padding)))
    c_out, c_in, kh, kw = np.shape(w)
    _, _, h_out, w_out = conv_output_shape((1, *np.shape(x)), np.shape(w))
    h_out, w_out = (h_out - 1) // stride + 1, (w_out - 1) // stride + 1
    y = np.zeros((c_out, h_out, w_out))
    for o in range(c_out):
        for i in range(h_out):
            for j in range(w_out):
                y[o, i, j] = np.sum(x[:, stride * i:stride * i + kh, stride * j:stride * j + kw] * w[o]) + b[o]
    return y''',
    },
}
