"""Plausible wrong answers for notebook 05; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points.
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
        "fails": ["test_zero_insert", "test_conv_transpose_via_conv"],
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
