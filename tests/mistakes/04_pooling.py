"""Plausible wrong answers for notebook 04; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points.
"""

MISTAKES = {
    "output_size_ceil": {
        "cell": "pool_output_size",
        "source": '''def pool_output_size(n, width, stride):
    return int(-(-(n - width) // stride) + 1)''',
        "fails": ["test_pool_output_size"],
    },
    "output_size_float": {
        "cell": "pool_output_size",
        "source": '''def pool_output_size(n, width, stride):
    return (n - width) / stride + 1''',
        "fails": ["test_pool_output_size"],
    },
    "pool_stride_ignored": {
        "cell": "pool1d",
        "source": '''def pool1d(x, width, stride=1, mode="max"):
    x = np.asarray(x, dtype=float)
    windows = np.stack([x[:, i:i + width] for i in range(x.shape[1] - width + 1)], axis=1)
    if mode == "max":
        return windows.max(axis=2)
    if mode == "avg":
        return windows.mean(axis=2)
    return np.sqrt((windows ** 2).sum(axis=2))''',
        "fails": ["test_pool1d"],
    },
    "pool_off_by_one": {
        "cell": "pool1d",
        "source": '''def pool1d(x, width, stride=1, mode="max"):
    x = np.asarray(x, dtype=float)
    n_out = (x.shape[1] - width) // stride
    windows = np.stack([x[:, i * stride:i * stride + width] for i in range(max(n_out, 1))], axis=1)
    if mode == "max":
        return windows.max(axis=2)
    if mode == "avg":
        return windows.mean(axis=2)
    return np.sqrt((windows ** 2).sum(axis=2))''',
        "fails": ["test_pool1d"],
    },
    "pool_max_of_abs_no_sqrt": {
        "cell": "pool1d",
        "source": '''def pool1d(x, width, stride=1, mode="max"):
    x = np.asarray(x, dtype=float)
    n_out = (x.shape[1] - width) // stride + 1
    windows = np.stack([x[:, i * stride:i * stride + width] for i in range(n_out)], axis=1)
    if mode == "max":
        return np.abs(windows).max(axis=2)
    if mode == "avg":
        return windows.mean(axis=2)
    return (windows ** 2).sum(axis=2)''',
        "fails": ["test_pool1d"],
    },
    "pool_wrong_axis": {
        "cell": "pool1d",
        "source": '''def pool1d(x, width, stride=1, mode="max"):
    x = np.asarray(x, dtype=float)
    n_out = (x.shape[1] - width) // stride + 1
    windows = np.stack([x[:, i * stride:i * stride + width] for i in range(n_out)], axis=1)
    if mode == "max":
        return windows.max(axis=2)
    if mode == "avg":
        return windows.mean(axis=0, keepdims=True).mean(axis=2).repeat(x.shape[0], axis=0)
    return np.sqrt((windows ** 2).sum(axis=2))''',
        "fails": ["test_pool1d"],
    },
    "pool_library_call": {
        "cell": "pool1d",
        "source": '''def pool1d(x, width, stride=1, mode="max"):
    x = np.asarray(x, dtype=float)[None, :, None, :]
    if mode == "max":
        return cnnlib.max_pool2d(x, (1, width), stride=(1, stride))[0, :, 0]
    if mode == "avg":
        return cnnlib.avg_pool2d(x, (1, width), stride=(1, stride))[0, :, 0]
    return cnnlib.lp_pool2d(x, 2, (1, width), stride=(1, stride))[0, :, 0]''',
        "fails": ["test_pool1d"],
    },
    "gaussian_unnormalised": {
        "cell": "gaussian_window",
        "source": '''def gaussian_window(width, sigma):
    u = np.arange(width) - (width - 1) / 2
    return np.exp(-(u[:, None] ** 2 + u[None, :] ** 2) / (2 * sigma ** 2))''',
        "fails": ["test_gaussian_window"],
    },
    "gaussian_integer_centre": {
        "cell": "gaussian_window",
        "source": '''def gaussian_window(width, sigma):
    u = np.arange(width) - width // 2
    g = np.exp(-(u[:, None] ** 2 + u[None, :] ** 2) / (2 * sigma ** 2))
    return g / g.sum()''',
        "fails": ["test_gaussian_window"],
    },
    "gaussian_sigma_not_squared": {
        "cell": "gaussian_window",
        "source": '''def gaussian_window(width, sigma):
    u = np.arange(width) - (width - 1) / 2
    g = np.exp(-(u[:, None] ** 2 + u[None, :] ** 2) / (2 * sigma))
    return g / g.sum()''',
        "fails": ["test_gaussian_window"],
    },
    "shift_count_not_fraction": {
        "cell": "shift_change_fraction",
        "source": '''def shift_change_fraction(x, width, mode="max"):
    x = np.asarray(x, dtype=float)
    out_before = pool1d(x[1:][None], width, 1, mode)[0]
    out_after = pool1d(x[:-1][None], width, 1, mode)[0]
    return float(np.sum(np.abs(out_after - out_before) > 1e-12))''',
        "fails": ["test_shift_change_fraction"],
    },
    "shift_outputs_realigned": {
        "cell": "shift_change_fraction",
        "source": '''def shift_change_fraction(x, width, mode="max"):
    x = np.asarray(x, dtype=float)
    out_before = pool1d(x[1:][None], width, 1, mode)[0]
    out_after = pool1d(x[:-1][None], width, 1, mode)[0]
    return float(np.mean(np.abs(out_after[1:] - out_before[:-1]) > 1e-12))''',
        "fails": ["test_shift_change_fraction"],
    },
    "shift_mode_ignored": {
        "cell": "shift_change_fraction",
        "source": '''def shift_change_fraction(x, width, mode="max"):
    x = np.asarray(x, dtype=float)
    out_before = pool1d(x[1:][None], width, 1)[0]
    out_after = pool1d(x[:-1][None], width, 1)[0]
    return float(np.mean(np.abs(out_after - out_before) > 1e-12))''',
        "fails": ["test_shift_change_fraction"],
    },
    "rotation_max_of_abs": {
        "cell": "rotation_invariant_response",
        "source": '''def rotation_invariant_response(image, kernels):
    maps = np.stack([cnnlib.correlate2d(image, kern) for kern in kernels])
    return np.abs(maps).max(axis=0)''',
        "fails": ["test_rotation_invariant_response"],
    },
    "rotation_sum_over_filters": {
        "cell": "rotation_invariant_response",
        "source": '''def rotation_invariant_response(image, kernels):
    return sum(cnnlib.correlate2d(image, kern) for kern in kernels)''',
        "fails": ["test_rotation_invariant_response"],
    },
    "rotation_global_max_per_filter": {
        "cell": "rotation_invariant_response",
        "source": '''def rotation_invariant_response(image, kernels):
    return np.array([cnnlib.correlate2d(image, kern).max() for kern in kernels])''',
        "fails": ["test_rotation_invariant_response"],
    },
    "maxback_copied_to_window": {
        "cell": "max_pool_backward",
        "source": """def max_pool_backward(x, grad_out, size, stride):
    dx = np.zeros(np.shape(x))
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            dx[i * stride:i * stride + size, j * stride:j * stride + size] += grad_out[i, j]
    return dx""",
        "fails": ["test_max_pool_backward"],
    },
    "maxback_overwritten": {
        "cell": "max_pool_backward",
        "source": """def max_pool_backward(x, grad_out, size, stride):
    x = np.asarray(x, dtype=float)
    dx = np.zeros_like(x)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            window = x[i * stride:i * stride + size, j * stride:j * stride + size]
            r, c = np.unravel_index(np.argmax(window), window.shape)
            dx[i * stride + r, j * stride + c] = grad_out[i, j]
    return dx""",
        "fails": ["test_max_pool_backward"],
    },
    "maxback_every_tie": {
        "cell": "max_pool_backward",
        "source": """def max_pool_backward(x, grad_out, size, stride):
    x = np.asarray(x, dtype=float)
    dx = np.zeros_like(x)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            window = x[i * stride:i * stride + size, j * stride:j * stride + size]
            dx[i * stride:i * stride + size, j * stride:j * stride + size] += grad_out[i, j] * (window == window.max())
    return dx""",
        "fails": ["test_max_pool_backward"],
    },
    "maxback_ties_split": {
        "cell": "max_pool_backward",
        "source": """def max_pool_backward(x, grad_out, size, stride):
    x = np.asarray(x, dtype=float)
    dx = np.zeros_like(x)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            window = x[i * stride:i * stride + size, j * stride:j * stride + size]
            mask = window == window.max()
            dx[i * stride:i * stride + size, j * stride:j * stride + size] += grad_out[i, j] * mask / mask.sum()
    return dx""",
        "fails": ["test_max_pool_backward"],
    },
    "maxback_last_tie": {
        "cell": "max_pool_backward",
        "source": """def max_pool_backward(x, grad_out, size, stride):
    x = np.asarray(x, dtype=float)
    dx = np.zeros_like(x)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            window = x[i * stride:i * stride + size, j * stride:j * stride + size]
            k = window.size - 1 - np.argmax(window.ravel()[::-1])
            r, c = divmod(k, window.shape[1])
            dx[i * stride + r, j * stride + c] += grad_out[i, j]
    return dx""",
        "fails": ["test_max_pool_backward"],
    },
    "maxback_step_is_size": {
        "cell": "max_pool_backward",
        "source": """def max_pool_backward(x, grad_out, size, stride):
    x = np.asarray(x, dtype=float)
    dx = np.zeros_like(x)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            window = x[i * size:i * size + size, j * size:j * size + size]
            r, c = np.unravel_index(np.argmax(window), window.shape)
            dx[i * size + r, j * size + c] += grad_out[i, j]
    return dx""",
        "fails": ["test_max_pool_backward"],
    },
    "avgback_not_divided": {
        "cell": "avg_pool_backward",
        "source": """def avg_pool_backward(grad_out, input_shape, size, stride):
    dx = np.zeros(input_shape)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            dx[i * stride:i * stride + size, j * stride:j * stride + size] += grad_out[i, j]
    return dx""",
        "fails": ["test_avg_pool_backward"],
    },
    "avgback_divided_by_size": {
        "cell": "avg_pool_backward",
        "source": """def avg_pool_backward(grad_out, input_shape, size, stride):
    dx = np.zeros(input_shape)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            dx[i * stride:i * stride + size, j * stride:j * stride + size] += grad_out[i, j] / size
    return dx""",
        "fails": ["test_avg_pool_backward"],
    },
    "avgback_overwritten": {
        "cell": "avg_pool_backward",
        "source": """def avg_pool_backward(grad_out, input_shape, size, stride):
    dx = np.zeros(input_shape)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            dx[i * stride:i * stride + size, j * stride:j * stride + size] = grad_out[i, j] / size ** 2
    return dx""",
        "fails": ["test_avg_pool_backward"],
    },
    "avgback_divided_by_output_count": {
        "cell": "avg_pool_backward",
        "source": """def avg_pool_backward(grad_out, input_shape, size, stride):
    dx = np.zeros(input_shape)
    for i in range(grad_out.shape[0]):
        for j in range(grad_out.shape[1]):
            dx[i * stride:i * stride + size, j * stride:j * stride + size] += grad_out[i, j] / grad_out.size
    return dx""",
        "fails": ["test_avg_pool_backward"],
    },
}

# Library twins that compute the whole answer: each must lose the exercise's points.
SHORTCUTS = {
    "output_size_by_library": {
        "cell": "pool_output_size",
        "source": '''from cnnlib.shapes import conv_output_size

def pool_output_size(n, width, stride):
    return int(conv_output_size(n, width, stride=stride))''',
        "fails": ["test_pool_output_size"],
    },
    "pool1d_by_pool_module": {
        "cell": "pool1d",
        "source": '''import cnnlib.pool

def pool1d(x, width, stride=1, mode="max"):
    x = np.asarray(x, dtype=float)[None, :, None, :]
    if mode == "l2":
        return cnnlib.pool.lp_pool2d_forward(x, 2, (1, width), stride=(1, stride))[0][0, :, 0, :]
    f = cnnlib.pool.max_pool2d_forward if mode == "max" else cnnlib.pool.avg_pool2d_forward
    return f(x, (1, width), stride=(1, stride))[0][0, :, 0, :]''',
        "fails": ["test_pool1d"],
    },
    "pool1d_by_scipy_filters": {
        "cell": "pool1d",
        "source": '''from scipy import ndimage

def pool1d(x, width, stride=1, mode="max"):
    x = np.asarray(x, dtype=float)
    start, stop = width // 2, x.shape[1] - (width - 1) // 2
    if mode == "max":
        return ndimage.maximum_filter1d(x, width, axis=1)[:, start:stop:stride]
    mean = ndimage.uniform_filter1d(x if mode == "avg" else x ** 2, width, axis=1)[:, start:stop:stride]
    return mean if mode == "avg" else np.sqrt(mean * width)''',
        "fails": ["test_pool1d"],
    },
    "gaussian_by_scipy_window": {
        "cell": "gaussian_window",
        "source": '''from scipy.signal.windows import gaussian

def gaussian_window(width, sigma):
    g = np.outer(gaussian(width, sigma), gaussian(width, sigma))
    return g / g.sum()''',
        "fails": ["test_gaussian_window"],
    },
    "shift_fraction_by_library_pooling": {
        "cell": "shift_change_fraction",
        "source": '''def shift_change_fraction(x, width, mode="max"):
    x = np.asarray(x, dtype=float)
    pool = cnnlib.max_pool2d if mode == "max" else cnnlib.avg_pool2d
    before = pool(x[1:][None, None, None], (1, width), stride=1).ravel()
    after = pool(x[:-1][None, None, None], (1, width), stride=1).ravel()
    return float(np.mean(np.abs(after - before) > 1e-12))''',
        "fails": ["test_shift_change_fraction"],
    },
    "output_size_by_windows": {
        "cell": "pool_output_size",
        "source": """def pool_output_size(n, width, stride):
    return len(windows(n, width, stride))""",
        "fails": ["test_pool_output_size"],
    },
    "maxback_by_library": {
        "cell": "max_pool_backward",
        "source": """def max_pool_backward(x, grad_out, size, stride):
    out, cache = cnnlib.max_pool2d_forward(np.asarray(x, dtype=float)[None, None], size, stride=stride)
    return cnnlib.max_pool2d_backward(np.asarray(grad_out, dtype=float)[None, None], cache)[0, 0]""",
        "fails": ["test_max_pool_backward"],
    },
    "maxback_by_layer": {
        "cell": "max_pool_backward",
        "source": """def max_pool_backward(x, grad_out, size, stride):
    layer = MaxPool2d(size, stride=stride)
    layer(np.asarray(x, dtype=float)[None, None])
    return layer.backward(np.asarray(grad_out, dtype=float)[None, None])[0, 0]""",
        "fails": ["test_max_pool_backward"],
    },
    "avgback_by_library": {
        "cell": "avg_pool_backward",
        "source": """import cnnlib.pool

def avg_pool_backward(grad_out, input_shape, size, stride):
    out, cache = cnnlib.pool.avg_pool2d_forward(np.zeros((1, 1, *input_shape)), size, stride=stride)
    return cnnlib.pool.avg_pool2d_backward(np.asarray(grad_out, dtype=float)[None, None], cache)[0, 0]""",
        "fails": ["test_avg_pool_backward"],
    },
}

# Correct answers written differently from the solution: each must earn full marks.
CORRECT = {
    "pool1d_sliding_windows": {
        "cell": "pool1d",
        "source": '''def pool1d(x, width, stride=1, mode="max"):
    windows = np.lib.stride_tricks.sliding_window_view(np.asarray(x, dtype=float), width, axis=1)[:, ::stride]
    if mode == "max":
        return windows.max(axis=-1)
    if mode == "avg":
        return windows.mean(axis=-1)
    return np.linalg.norm(windows, axis=-1)''',
    },
    "shift_fraction_counting_loop": {
        "cell": "shift_change_fraction",
        "source": '''def shift_change_fraction(x, width, mode="max"):
    x = np.asarray(x, dtype=float)
    before, after = pool1d(x[None, 1:], width, 1, mode)[0], pool1d(x[None, :-1], width, 1, mode)[0]
    changed = sum(1 for a, b in zip(after, before) if abs(a - b) > 1e-12)
    return changed / len(before)''',
    },
    "output_size_by_range_length": {
        "cell": "pool_output_size",
        "source": """def pool_output_size(n, width, stride):
    return len(range(0, n - width + 1, stride))""",
    },
    "maxback_masks_add_at": {
        "cell": "max_pool_backward",
        "source": """def max_pool_backward(x, grad_out, size, stride):
    x = np.asarray(x, dtype=float)
    h_out, w_out = np.shape(grad_out)
    rows = np.arange(h_out)[:, None, None] * stride + np.arange(size)[None, None, :]   # (h_out, 1, size)
    cols = np.arange(w_out)[None, :, None] * stride + np.arange(size)[None, None, :]   # (1, w_out, size)
    win = x[rows[:, :, :, None], cols[:, :, None, :]]                                  # (h_out, w_out, size, size)
    first = win.reshape(h_out, w_out, -1).argmax(axis=-1)
    r, c = np.divmod(first, size)
    dx = np.zeros_like(x)
    np.add.at(dx, (np.arange(h_out)[:, None] * stride + r, np.arange(w_out)[None, :] * stride + c), grad_out)
    return dx""",
    },
    "avgback_add_at_per_tap": {
        "cell": "avg_pool_backward",
        "source": """def avg_pool_backward(grad_out, input_shape, size, stride):
    grad_out = np.asarray(grad_out, dtype=float)
    h_out, w_out = grad_out.shape
    dx = np.zeros(input_shape)
    for a in range(size):
        for b in range(size):
            dx[a:a + stride * (h_out - 1) + 1:stride, b:b + stride * (w_out - 1) + 1:stride] += grad_out / (size * size)
    return dx""",
    },
}
