"""Plausible wrong answers for notebook 03; tests/test_grading.py grades each one.

Each entry replaces one solution cell and names the graded cells that must lose points:
only its own exercise's, since a later exercise is graded with references of the earlier ones.
"""

MISTAKES = {
    "zero_padding": {
        "cell": "circular_conv2d",
        "source": '''def circular_conv2d(x, w):
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    kh, kw = w.shape
    padded = np.pad(x, (((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2)))
    return cnnlib.conv2d(padded[None, None], w[None, None])[0, 0]''',
        "fails": ["test_circular_conv2d"],
    },
    "symmetric_pad_for_even_kernels": {
        "cell": "circular_conv2d",
        "source": '''def circular_conv2d(x, w):
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    kh, kw = w.shape
    padded = np.pad(x, ((kh // 2, kh // 2), (kw // 2, kw // 2)), mode="wrap")
    return cnnlib.conv2d(padded[None, None], w[None, None])[0, 0]''',
        "fails": ["test_circular_conv2d"],
    },
    "extra_pad_before": {
        "cell": "circular_conv2d",
        "source": '''def circular_conv2d(x, w):
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    kh, kw = w.shape
    padded = np.pad(x, ((kh // 2, (kh - 1) // 2), (kw // 2, (kw - 1) // 2)), mode="wrap")
    return cnnlib.conv2d(padded[None, None], w[None, None])[0, 0]''',
        "fails": ["test_circular_conv2d"],
    },
    "invariance_instead_of_equivariance": {
        "cell": "equivariance_error",
        "source": '''def equivariance_error(f, x, dy, dx, out_shift=None, border=0):
    a = np.asarray(f(shift2d(x, dy, dx)), dtype=float)
    b = np.asarray(f(x), dtype=float)
    h, w = b.shape
    a, b = a[border:h - border, border:w - border], b[border:h - border, border:w - border]
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))''',
        "fails": ["test_equivariance_error"],
    },
    "not_normalised": {
        "cell": "equivariance_error",
        "source": '''def equivariance_error(f, x, dy, dx, out_shift=None, border=0):
    oy, ox = (dy, dx) if out_shift is None else out_shift
    a = np.asarray(f(shift2d(x, dy, dx)), dtype=float)
    b = np.asarray(shift2d(f(x), oy, ox), dtype=float)
    h, w = b.shape
    a, b = a[border:h - border, border:w - border], b[border:h - border, border:w - border]
    return float(np.linalg.norm(a - b))''',
        "fails": ["test_equivariance_error"],
    },
    "shift_in_the_wrong_direction": {
        "cell": "equivariance_error",
        "source": '''def equivariance_error(f, x, dy, dx, out_shift=None, border=0):
    oy, ox = (dy, dx) if out_shift is None else out_shift
    a = np.asarray(f(np.roll(x, (-dy, -dx), axis=(0, 1))), dtype=float)
    b = np.asarray(np.roll(f(x), (-oy, -ox), axis=(0, 1)), dtype=float)
    h, w = b.shape
    a, b = a[border:h - border, border:w - border], b[border:h - border, border:w - border]
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))''',
        "fails": ["test_equivariance_error"],
    },
    "negative_index_crop": {
        "cell": "equivariance_error",
        "source": '''def equivariance_error(f, x, dy, dx, out_shift=None, border=0):
    oy, ox = (dy, dx) if out_shift is None else out_shift
    a = np.asarray(f(shift2d(x, dy, dx)), dtype=float)
    b = np.asarray(shift2d(f(x), oy, ox), dtype=float)
    a, b = a[border:-border, border:-border], b[border:-border, border:-border]
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))''',
        "fails": ["test_equivariance_error"],
    },
    "out_shift_ignored": {
        "cell": "equivariance_error",
        "source": '''def equivariance_error(f, x, dy, dx, out_shift=None, border=0):
    a = np.asarray(f(shift2d(x, dy, dx)), dtype=float)
    b = np.asarray(shift2d(f(x), dy, dx), dtype=float)
    h, w = b.shape
    a, b = a[border:h - border, border:w - border], b[border:h - border, border:w - border]
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))''',
        "fails": ["test_equivariance_error"],
    },
    "own_border_only": {
        "cell": "error_positions",
        "source": '''def error_positions(n, k, d):
    out = np.zeros(n, dtype=bool)
    if d % n:
        out[:(k - 1) // 2] = True
        out[n - k // 2:] = True
    return out''',
        "fails": ["test_error_positions"],
    },
    "zero_shift_not_special": {
        "cell": "error_positions",
        "source": '''def error_positions(n, k, d):
    border = np.zeros(n, dtype=bool)
    border[:(k - 1) // 2] = True
    border[n - k // 2:] = True
    return border | np.roll(border, d)''',
        "fails": ["test_error_positions"],
    },
    "padding_sides_swapped": {
        "cell": "error_positions",
        "source": '''def error_positions(n, k, d):
    if d % n == 0:
        return np.zeros(n, dtype=bool)
    border = np.zeros(n, dtype=bool)
    border[:k // 2] = True
    border[n - (k - 1) // 2:] = True
    return border | np.roll(border, d)''',
        "fails": ["test_error_positions"],
    },
    "band_moved_the_wrong_way": {
        "cell": "error_positions",
        "source": '''def error_positions(n, k, d):
    if d % n == 0:
        return np.zeros(n, dtype=bool)
    border = np.zeros(n, dtype=bool)
    border[:(k - 1) // 2] = True
    border[n - k // 2:] = True
    return border | np.roll(border, -d)''',
        "fails": ["test_error_positions"],
    },
    "seam_without_modulo": {
        "cell": "error_positions",
        "source": '''def error_positions(n, k, d):
    out = np.zeros(n, dtype=bool)
    if d == 0:
        return out
    out[:(k - 1) // 2] = True
    out[n - k // 2:] = True
    for t in list(range((k - 1) // 2)) + list(range(n - k // 2, n)):
        if 0 <= t + d < n:
            out[t + d] = True
    return out''',
        "fails": ["test_error_positions"],
    },
    "kernel_size_one_has_a_band": {
        "cell": "error_positions",
        "source": '''def error_positions(n, k, d):
    if d % n == 0:
        return np.zeros(n, dtype=bool)
    r = max(k // 2, 1)
    border = np.zeros(n, dtype=bool)
    border[:max((k - 1) // 2, 1)] = True
    border[n - r:] = True
    return border | np.roll(border, d)''',
        "fails": ["test_error_positions"],
    },
    "subsample_then_blur": {
        "cell": "blur_subsample",
        "source": '''def blur_subsample(x, stride=2, taps=(1, 2, 1)):
    taps = np.asarray(taps, dtype=float)
    kernel = np.outer(taps, taps) / np.outer(taps, taps).sum()
    return circular_conv2d(np.asarray(x, dtype=float)[::stride, ::stride], kernel)''',
        "fails": ["test_blur_subsample"],
    },
    "normalised_once": {
        "cell": "blur_subsample",
        "source": '''def blur_subsample(x, stride=2, taps=(1, 2, 1)):
    taps = np.asarray(taps, dtype=float)
    kernel = np.outer(taps, taps) / taps.sum()
    return circular_conv2d(x, kernel)[::stride, ::stride]''',
        "fails": ["test_blur_subsample"],
    },
}

# Library twins that compute the whole answer: each must lose the exercise's points.
SHORTCUTS = {
    "scipy_wrap_boundary": {
        "cell": "circular_conv2d",
        "source": '''import scipy.signal

def circular_conv2d(x, w):
    return scipy.signal.correlate2d(x, w, mode="same", boundary="wrap")''',
        "fails": ["test_circular_conv2d"],
    },
    "ndimage_wrap_mode": {
        "cell": "circular_conv2d",
        "source": '''from scipy import ndimage

def circular_conv2d(x, w):
    w = np.asarray(w, dtype=float)
    return ndimage.correlate(np.asarray(x, dtype=float), w, mode="wrap",
                             origin=(-((w.shape[0] + 1) % 2), -((w.shape[1] + 1) % 2)))''',
        "fails": ["test_circular_conv2d"],
    },
}

# Correct answers written differently from the solution: each must earn full marks.
CORRECT = {
    "brute_force_on_random_data": {
        "cell": "error_positions",
        "source": '''def error_positions(n, k, d):
    r = np.random.default_rng(0)
    x, w = r.normal(size=n), r.normal(size=k)
    f = lambda z: np.correlate(np.pad(z, ((k - 1) // 2, k // 2)), w, mode="valid")
    return np.abs(f(np.roll(x, d)) - np.roll(f(x), d)) > 1e-9''',
    },
    "index_sets_modulo_n": {
        "cell": "error_positions",
        "source": '''def error_positions(n, k, d):
    band = set(range((k - 1) // 2)) | set(range(n - k // 2, n))
    wrong = set() if d % n == 0 else band | {(t + d) % n for t in band}
    return np.array([i in wrong for i in range(n)])''',
    },
    "wrap_pad_then_scipy_correlate": {
        "cell": "circular_conv2d",
        "source": '''import scipy.signal

def circular_conv2d(x, w):
    w = np.asarray(w, dtype=float)
    kh, kw = w.shape
    padded = np.pad(np.asarray(x, dtype=float), (((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2)), mode="wrap")
    return scipy.signal.correlate(padded, w, mode="valid")''',
    },
    "sum_of_rolled_copies": {
        "cell": "blur_subsample",
        "source": '''def blur_subsample(x, stride=2, taps=(1, 2, 1)):
    t = np.asarray(taps, dtype=float) / np.sum(taps)
    c = (len(t) - 1) // 2
    blurred = sum(t[m] * t[n] * np.roll(x, (c - m, c - n), axis=(0, 1))
                  for m in range(len(t)) for n in range(len(t)))
    return blurred[::stride, ::stride]''',
    },
}
