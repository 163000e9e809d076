"""Plausible wrong answers for notebook 05; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points:
only its own exercise's, since a later exercise is graded with references of the earlier ones.
"""

MISTAKES = {
    "offsets_whole_receptive_field": {
        "cell": "reached_offsets",
        "source": '''def reached_offsets(rates, k=3):
    return np.arange((k - 1) * sum(rates) + 1)''',
        "fails": ["test_reached_offsets"],
    },
    "offsets_multiples_of_gcd": {
        "cell": "reached_offsets",
        "source": '''import math

def reached_offsets(rates, k=3):
    g = math.gcd(*rates)
    return np.arange(0, (k - 1) * sum(rates) + 1, g)''',
        "fails": ["test_reached_offsets"],
    },
    "offsets_from_centre": {
        "cell": "reached_offsets",
        "source": '''def reached_offsets(rates, k=3):
    reached = np.array([0])
    for r in rates:
        reached = np.unique(reached[:, None] + r * (np.arange(k)[None, :] - (k - 1) // 2))
    return reached''',
        "fails": ["test_reached_offsets"],
    },
    "offsets_three_taps_always": {
        "cell": "reached_offsets",
        "source": '''def reached_offsets(rates, k=3):
    reached = np.array([0])
    for r in rates:
        reached = np.unique(reached[:, None] + r * np.arange(3)[None, :])
    return reached''',
        "fails": ["test_reached_offsets"],
    },
    "offsets_with_repeats": {
        "cell": "reached_offsets",
        "source": '''def reached_offsets(rates, k=3):
    reached = np.array([0])
    for r in rates:
        reached = np.sort((reached[:, None] + r * np.arange(k)[None, :]).ravel())
    return reached''',
        "fails": ["test_reached_offsets"],
    },
    "offsets_last_layer_only": {
        "cell": "reached_offsets",
        "source": '''def reached_offsets(rates, k=3):
    reached = set()
    for r in rates:
        reached |= {a * r for a in range(k)}
    return np.array(sorted(reached))''',
        "fails": ["test_reached_offsets"],
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
    "offsets_by_cnnlib_gradient": {
        "cell": "reached_offsets",
        "source": '''def reached_offsets(rates, k=3):
    h, caches = np.zeros((1, 1, 1, (k - 1) * sum(rates) + 1)), []
    for r in rates:
        h, cache = cnnlib.conv2d_forward(h, np.ones((1, 1, 1, k)), dilation=(1, r))
        caches.append(cache)
    g = np.ones_like(h)
    for cache in reversed(caches):
        g, _, _ = cnnlib.conv2d_backward(g, cache)
    return np.flatnonzero(g[0, 0, 0])''',
        "fails": ["test_reached_offsets"],
    },
    "offsets_by_input_gradient_demo": {
        "cell": "reached_offsets",
        "source": '''def reached_offsets(rates, k=3):
    g = input_gradient(list(rates), size=2 * (k - 1) * sum(rates) + 1)
    row = np.abs(g).sum(axis=0) > 0
    return np.flatnonzero(row) - np.flatnonzero(row)[0]''',
        "fails": ["test_reached_offsets"],
    },
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
    "via_conv_inline_scatter": {
        "cell": "conv_transpose_via_conv",
        "source": '''def conv_transpose_via_conv(x, w, stride=1, padding=0):
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    c_in, h, wd = x.shape
    _, c_out, kh, kw = w.shape
    out = np.zeros((c_out, (h - 1) * stride + kh, (wd - 1) * stride + kw))
    for i in range(h):
        for j in range(wd):
            out[:, i * stride:i * stride + kh, j * stride:j * stride + kw] += np.einsum("c,cokl->okl", x[:, i, j], w)
    return out[:, padding:out.shape[1] - padding, padding:out.shape[2] - padding]''',
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
    "offsets_by_sets": {
        "cell": "reached_offsets",
        "source": '''def reached_offsets(rates, k=3):
    reached = {0}
    for r in rates:
        reached = {o + a * r for o in reached for a in range(k)}
    return np.array(sorted(reached), dtype=int)''',
    },
    "offsets_by_counting_paths": {
        "cell": "reached_offsets",
        "source": '''def reached_offsets(rates, k=3):
    paths = np.ones(1)
    for r in rates:
        taps = np.zeros((k - 1) * r + 1)
        taps[::r] = 1
        paths = np.convolve(paths, taps)
    return np.flatnonzero(paths)''',
    },
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
