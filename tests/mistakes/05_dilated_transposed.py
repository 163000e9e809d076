"""Plausible wrong answers for notebook 05; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points:
only its own exercise's, since a later exercise is graded with references of the earlier ones.
"""

MISTAKES = {
    "d_zeros_between_taps": {
        "cell": "dilate_kernel",
        "source": '''def dilate_kernel(kernel, d):
    kernel = np.asarray(kernel, dtype=float)
    kh, kw = kernel.shape
    out = np.zeros(((d + 1) * (kh - 1) + 1, (d + 1) * (kw - 1) + 1))
    out[::d + 1, ::d + 1] = kernel
    return out''',
        "fails": ["test_dilate_kernel"],
    },
    "output_padding_forgotten": {
        "cell": "transposed_output_size",
        "source": '''def transposed_output_size(n, k, s=1, p=0, output_padding=0, d=1):
    return (n - 1) * s - 2 * p + d * (k - 1) + 1''',
        "fails": ["test_transposed_output_size"],
    },
    "scatter_channels_swapped": {
        "cell": "conv_transpose2d_scatter",
        "source": '''def conv_transpose2d_scatter(x, w, stride=1, padding=0):
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    c_in, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    out = np.zeros((c_out, (h - 1) * stride + kh, (wd - 1) * stride + kw))
    for c in range(c_in):
        for o in range(c_out):
            for i in range(h):
                for j in range(wd):
                    out[o, i * stride:i * stride + kh, j * stride:j * stride + kw] += x[c, i, j] * w[o, c]
    return out[:, padding:out.shape[1] - padding, padding:out.shape[2] - padding]''',
        "fails": ["test_conv_transpose2d_scatter"],
    },
    "library_call_scatter": {
        "cell": "conv_transpose2d_scatter",
        "source": '''def conv_transpose2d_scatter(x, w, stride=1, padding=0):
    return cnnlib.conv_transpose2d(np.asarray(x)[None], w, stride=stride, padding=padding)[0]''',
        "fails": ["test_conv_transpose2d_scatter"],
    },
    "zeros_after_last_pixel": {
        "cell": "zero_insert",
        "source": '''def zero_insert(x, stride):
    x = np.asarray(x, dtype=float)
    c, h, w = x.shape
    out = np.zeros((c, h * stride, w * stride))
    out[:, ::stride, ::stride] = x
    return out''',
        "fails": ["test_zero_insert"],
    },
    "kernel_not_flipped": {
        "cell": "conv_transpose_via_conv",
        "source": '''def conv_transpose_via_conv(x, w, stride=1, padding=0):
    w = np.asarray(w, dtype=float)
    kh, kw = w.shape[2:]
    z = zero_insert(x, stride)
    z = np.pad(z, ((0, 0), (kh - 1 - padding, kh - 1 - padding), (kw - 1 - padding, kw - 1 - padding)))
    return cnnlib.conv2d(z[None], w.transpose(1, 0, 2, 3))[0]''',
        "fails": ["test_conv_transpose_via_conv"],
    },
}

# Other routes and library twins: each must lose the exercise's points.
SHORTCUTS = {
    "scatter_by_submodule": {
        "cell": "conv_transpose2d_scatter",
        "source": '''import cnnlib.conv

def conv_transpose2d_scatter(x, w, stride=1, padding=0):
    return cnnlib.conv.conv_transpose2d(np.asarray(x)[None], w, stride=stride, padding=padding)[0]''',
        "fails": ["test_conv_transpose2d_scatter"],
    },
    "scatter_by_zero_insertion": {
        "cell": "conv_transpose2d_scatter",
        "source": '''def conv_transpose2d_scatter(x, w, stride=1, padding=0):
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    c, h, wd = x.shape
    kh, kw = w.shape[2:]
    z = np.zeros((c, (h - 1) * stride + 1, (wd - 1) * stride + 1))
    z[:, ::stride, ::stride] = x
    z = np.pad(z, ((0, 0), (kh - 1 - padding,) * 2, (kw - 1 - padding,) * 2))
    return cnnlib.conv2d(z[None], w.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1])[0]''',
        "fails": ["test_conv_transpose2d_scatter"],
    },
    "zero_insert_by_transposed_conv": {
        "cell": "zero_insert",
        "source": '''def zero_insert(x, stride):
    x = np.asarray(x, dtype=float)
    return cnnlib.conv_transpose2d(x[:, None], np.ones((1, 1, 1, 1)), stride=stride)[:, 0]''',
        "fails": ["test_zero_insert"],
    },
    "via_conv_reuses_scatter": {
        "cell": "conv_transpose_via_conv",
        "source": '''def conv_transpose_via_conv(x, w, stride=1, padding=0):
    return conv_transpose2d_scatter(x, w, stride, padding)''',
        "fails": ["test_conv_transpose_via_conv"],
    },
    "via_conv_by_library": {
        "cell": "conv_transpose_via_conv",
        "source": '''from cnnlib.conv import conv_transpose2d_forward

def conv_transpose_via_conv(x, w, stride=1, padding=0):
    return conv_transpose2d_forward(np.asarray(x)[None], w, stride=stride, padding=padding)[0][0]''',
        "fails": ["test_conv_transpose_via_conv"],
    },
    "via_conv_by_input_gradient": {
        "cell": "conv_transpose_via_conv",
        "source": '''def conv_transpose_via_conv(x, w, stride=1, padding=0):
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    kh, kw = w.shape[2:]
    h = (x.shape[1] - 1) * stride - 2 * padding + kh
    wd = (x.shape[2] - 1) * stride - 2 * padding + kw
    _, cache = cnnlib.conv2d_forward(np.zeros((1, w.shape[1], h, wd)), w, stride=stride, padding=padding)
    return cnnlib.conv2d_backward(x[None], cache)[0][0]''',
        "fails": ["test_conv_transpose_via_conv"],
    },
    "transposed_output_size_by_library": {
        "cell": "transposed_output_size",
        "source": '''from cnnlib.shapes import conv_transpose_output_size

def transposed_output_size(n, k, s=1, p=0, output_padding=0, d=1):
    return conv_transpose_output_size(n, k, s, p, output_padding, d)''',
        "fails": ["test_transposed_output_size"],
    },
}

# Correct answers written differently from the solution: each must earn full marks.
CORRECT = {
    "scatter_kernel_taps": {
        "cell": "conv_transpose2d_scatter",
        "source": '''def conv_transpose2d_scatter(x, w, stride=1, padding=0):
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    _, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    out = np.zeros((c_out, (h - 1) * stride + kh, (wd - 1) * stride + kw))
    for a in range(kh):
        for b in range(kw):
            out[:, a:a + (h - 1) * stride + 1:stride, b:b + (wd - 1) * stride + 1:stride] += \\
                np.einsum("chw,co->ohw", x, w[:, :, a, b])
    return out[:, padding:out.shape[1] - padding, padding:out.shape[2] - padding]''',
    },
    "zero_insert_by_kron": {
        "cell": "zero_insert",
        "source": '''def zero_insert(x, stride):
    x = np.asarray(x, dtype=float)
    one = np.zeros((1, stride, stride))
    one[0, 0, 0] = 1.0
    big = np.kron(x, one)
    return big[:, :(x.shape[1] - 1) * stride + 1, :(x.shape[2] - 1) * stride + 1]''',
    },
    "via_conv_with_scipy_per_channel": {
        "cell": "conv_transpose_via_conv",
        "source": '''import scipy.signal

def conv_transpose_via_conv(x, w, stride=1, padding=0):
    w = np.asarray(w, dtype=float)
    kh, kw = w.shape[2:]
    z = zero_insert(x, stride)
    z = np.pad(z, ((0, 0), (kh - 1 - padding,) * 2, (kw - 1 - padding,) * 2))
    return np.stack([sum(scipy.signal.convolve2d(z[c], w[c, o], mode="valid") for c in range(len(z)))
                     for o in range(w.shape[1])])''',
    },
}
