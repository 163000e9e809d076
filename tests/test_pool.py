"""Tests of cnnlib.pool: worked examples, loop references, the PyTorch oracle, gradient
checks and properties (dtypes, inputs left alone, translation equivariance)."""
import functools
import math
from typing import NamedTuple

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from oracle import Oracle

from cnnlib.nn import GlobalAvgPool2d
from cnnlib import (
    adaptive_avg_pool2d,
    adaptive_avg_pool2d_backward,
    adaptive_avg_pool2d_forward,
    adaptive_max_pool2d,
    adaptive_max_pool2d_backward,
    adaptive_max_pool2d_forward,
    avg_pool2d,
    avg_pool2d_backward,
    avg_pool2d_forward,
    conv_output_size,
    global_avg_pool2d,
    global_max_pool2d,
    lp_pool2d,
    lp_pool2d_backward,
    lp_pool2d_forward,
    max_pool2d,
    max_pool2d_backward,
    max_pool2d_forward,
)

# The 4x4 example of the course notes, as an (N, C, H, W) = (1, 1, 4, 4) array.
X4 = np.array([[1, 3, 2, 4],
               [5, 6, 1, 2],
               [7, 2, 9, 0],
               [3, 1, 4, 8]], dtype=float)[None, None]


def image(a):
    """A 2-D list as a (1, 1, H, W) float array."""
    return np.array(a, dtype=float)[None, None]


# --------------------------------------------------------------------------- worked examples

def test_max_pool_4x4_by_hand():
    np.testing.assert_array_equal(max_pool2d(X4, 2), image([[6, 4], [7, 9]]))
    out, cache = max_pool2d_forward(X4, 2)
    dx = max_pool2d_backward(np.ones_like(out), cache)
    expected = np.zeros((4, 4))
    expected[1, 1] = expected[0, 3] = expected[2, 0] = expected[2, 2] = 1  # where 6, 4, 7, 9 are
    np.testing.assert_array_equal(dx, expected[None, None])


def test_avg_pool_4x4_by_hand():
    # (1+3+5+6)/4, (2+4+1+2)/4, (7+2+3+1)/4, (9+0+4+8)/4
    np.testing.assert_array_equal(avg_pool2d(X4, 2), image([[3.75, 2.25], [3.25, 5.25]]))
    out, cache = avg_pool2d_forward(X4, 2)
    np.testing.assert_array_equal(avg_pool2d_backward(np.ones_like(out), cache), np.full_like(X4, 0.25))


def test_curriculum_example_n6_w3_s2_gives_two_outputs():
    # n_out = floor((N - W) / S) + 1 = floor((6 - 3) / 2) + 1 = 2: windows [0:3] and [2:5];
    # the last input is never seen.
    assert conv_output_size(6, 3, stride=2) == 2
    x = image([[1, 5, 2, 0, 3, 8]])
    np.testing.assert_array_equal(max_pool2d(x, (1, 3), stride=(1, 2)), image([[5, 3]]))
    out, cache = max_pool2d_forward(x, (1, 3), stride=(1, 2))
    np.testing.assert_array_equal(max_pool2d_backward(np.ones_like(out), cache), image([[0, 1, 0, 0, 1, 0]]))


def test_l2_pool_of_known_windows():
    # Windows [[1, 2], [2, 4]] and [[3, 4], [12, 0]]: sqrt(1+4+4+16) = 5, sqrt(9+16+144) = 13.
    x = image([[1, 2, 3, 4],
               [2, 4, 12, 0]])
    np.testing.assert_allclose(lp_pool2d(x, 2, 2), image([[5, 13]]))
    np.testing.assert_allclose(lp_pool2d(x, 1, 2), image([[9, 19]]))  # p = 1: the window sum
    out, cache = lp_pool2d_forward(x, 2, 2)
    # d||w|| / dw = w / ||w||
    expected = image([[1 / 5, 2 / 5, 3 / 13, 4 / 13],
                      [2 / 5, 4 / 5, 12 / 13, 0]])
    np.testing.assert_allclose(lp_pool2d_backward(np.ones_like(out), cache), expected)


def test_lp_pool_of_infinite_order_is_max_of_abs():
    x = image([[1, -7, 3, 4],
               [2, 4, -2, 0]])
    np.testing.assert_array_equal(lp_pool2d(x, np.inf, 2), image([[7, 4]]))
    out, cache = lp_pool2d_forward(x, np.inf, 2)
    np.testing.assert_array_equal(lp_pool2d_backward(np.ones_like(out), cache),
                                  image([[0, -1, 0, 1], [0, 0, 0, 0]]))


def test_adaptive_pooling_5x5_to_3x3_by_hand():
    # PyTorch's bins for 5 -> 3: [floor(5i/3), ceil(5(i+1)/3)) = [0, 2), [1, 4), [3, 5)
    x = np.arange(25.0).reshape(1, 1, 5, 5)  # x[h, w] = 5h + w
    bins = [(0, 2), (1, 4), (3, 5)]
    mean = [0.5, 2.0, 3.5]  # mean index of each bin
    last = [1, 3, 4]        # last index of each bin
    expected_avg = [[5 * mean[i] + mean[j] for j in range(3)] for i in range(3)]
    expected_max = [[5 * last[i] + last[j] for j in range(3)] for i in range(3)]
    assert expected_avg == [[3, 4.5, 6], [10.5, 12, 13.5], [18, 19.5, 21]]
    assert expected_max == [[6, 8, 9], [16, 18, 19], [21, 23, 24]]
    np.testing.assert_allclose(adaptive_avg_pool2d(x, 3), image(expected_avg))
    np.testing.assert_array_equal(adaptive_max_pool2d(x, 3), image(expected_max))

    out, cache = adaptive_max_pool2d_forward(x, 3)
    dx = adaptive_max_pool2d_backward(np.ones_like(out), cache)
    expected = np.zeros((5, 5))
    expected[np.ix_(last, last)] = 1
    np.testing.assert_array_equal(dx, expected[None, None])

    out, cache = adaptive_avg_pool2d_forward(x, 3)
    dx = adaptive_avg_pool2d_backward(np.ones_like(out), cache)
    # every bin hands 1/len to each of its rows; row 1 is in bins 0 and 1, row 3 in bins 1 and 2
    weight = np.zeros(5)
    for start, end in bins:
        weight[start:end] += 1 / (end - start)
    np.testing.assert_allclose(dx, np.outer(weight, weight)[None, None])


def test_global_pools_by_hand():
    x = np.stack([X4[0, 0], -X4[0, 0]])[None]  # (1, 2, 4, 4)
    np.testing.assert_allclose(global_avg_pool2d(x), [[3.625, -3.625]])  # 58 / 16
    np.testing.assert_array_equal(global_max_pool2d(x), [[9.0, 0.0]])
    assert global_avg_pool2d(x).shape == global_max_pool2d(x).shape == GlobalAvgPool2d()(x).shape == (1, 2)


def test_max_pool_pads_with_minus_infinity():
    # With zero padding the corners would be 0; -inf padding never wins.
    x = -np.ones((1, 1, 2, 2))
    np.testing.assert_array_equal(max_pool2d(x, 2, stride=1, padding=1), -np.ones((1, 1, 3, 3)))


def test_max_pool_gradient_never_goes_to_the_padding():
    # Every window's max is -inf, like its padding; the first *real* pixel takes the gradient
    # (PyTorch's rule): window (i, j) of the 3x3 output starts at pixel (max(i-1, 0), max(j-1, 0)).
    x = np.full((1, 1, 2, 2), -np.inf)
    out, cache = max_pool2d_forward(x, 2, stride=1, padding=1)
    np.testing.assert_array_equal(out, np.full((1, 1, 3, 3), -np.inf))
    np.testing.assert_array_equal(max_pool2d_backward(np.ones_like(out), cache), image([[4, 2], [2, 1]]))


def test_avg_pool_count_include_pad_by_hand():
    x = np.ones((1, 1, 2, 2))
    with_pad = avg_pool2d(x, 2, stride=1, padding=1)
    np.testing.assert_allclose(with_pad, image([[1 / 4, 2 / 4, 1 / 4], [2 / 4, 1, 2 / 4], [1 / 4, 2 / 4, 1 / 4]]))
    np.testing.assert_allclose(avg_pool2d(x, 2, stride=1, padding=1, count_include_pad=False),
                               np.ones((1, 1, 3, 3)))


def test_max_pool_ties_go_to_the_first_max_in_row_major_order():
    for window, first in [([[0, 0], [0, 0]], (0, 0)), ([[0, 5], [5, 0]], (0, 1)), ([[1, 2], [2, 2]], (0, 1))]:
        out, cache = max_pool2d_forward(image(window), 2)
        dx = max_pool2d_backward(np.full_like(out, 3.0), cache)
        expected = np.zeros((2, 2))
        expected[first] = 3
        np.testing.assert_array_equal(dx[0, 0], expected)


def test_overlapping_windows_accumulate_the_gradient():
    x = image([[0, 0, 0], [0, 9, 0], [0, 0, 0]])  # the centre is the max of all four 2x2 windows
    out, cache = max_pool2d_forward(x, 2, stride=1)
    g = image([[1, 2], [3, 4]])
    np.testing.assert_array_equal(max_pool2d_backward(g, cache), image([[0, 0, 0], [0, 10, 0], [0, 0, 0]]))
    out, cache = avg_pool2d_forward(x, 2, stride=1)
    np.testing.assert_allclose(avg_pool2d_backward(g, cache)[0, 0, 1, 1], 10 / 4)


def test_lp_pool_gradient_of_an_all_zero_window_is_zero():
    x = np.zeros((1, 1, 2, 4))
    x[0, 0, 0, 2] = 3.0
    out, cache = lp_pool2d_forward(x, 2, 2)
    dx = lp_pool2d_backward(np.ones_like(out), cache)
    np.testing.assert_array_equal(dx, image([[0, 0, 1, 0], [0, 0, 0, 0]]))


# --------------------------------------------------------------------------- loop references

def ref_window_pool(x, kernel, stride, padding, reduce, pad_value):
    """Pooling by explicit loops over every output position."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * ph, w + 2 * pw), pad_value)
    xp[:, :, ph:ph + h, pw:pw + w] = x
    ho, wo = (h + 2 * ph - kh) // sh + 1, (w + 2 * pw - kw) // sw + 1
    out = np.empty((n, c, ho, wo))
    for b in range(n):
        for ch in range(c):
            for i in range(ho):
                for j in range(wo):
                    out[b, ch, i, j] = reduce(xp[b, ch, i * sh:i * sh + kh, j * sw:j * sw + kw])
    return out


def ref_avg_exclude_pad(x, kernel, stride, padding):
    """Average over the real (non-padding) pixels of each window."""
    ones = np.ones_like(x)
    total = ref_window_pool(x, kernel, stride, padding, np.sum, 0.0)
    count = ref_window_pool(ones, kernel, stride, padding, np.sum, 0.0)
    return total / count


def ref_max_pool_grad(x, kernel, stride, padding, g):
    """Max-pool gradient by loops: the first max of the real pixels, row-major, takes it."""
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, h, w = x.shape
    dx = np.zeros_like(x)
    for b in range(n):
        for ch in range(c):
            for i in range(g.shape[2]):
                for j in range(g.shape[3]):
                    best = None
                    for r in range(i * sh - ph, i * sh - ph + kh):
                        for s in range(j * sw - pw, j * sw - pw + kw):
                            if 0 <= r < h and 0 <= s < w and (best is None or x[b, ch, r, s] > x[b, ch][best]):
                                best = (r, s)
                    dx[b, ch][best] += g[b, ch, i, j]
    return dx


def ref_bins(n_in, n_out):
    return [(math.floor(i * n_in / n_out), math.ceil((i + 1) * n_in / n_out)) for i in range(n_out)]


def ref_adaptive_pool(x, out_hw, reduce):
    n, c, h, w = x.shape
    out = np.empty((n, c) + out_hw)
    for i, (r0, r1) in enumerate(ref_bins(h, out_hw[0])):
        for j, (c0, c1) in enumerate(ref_bins(w, out_hw[1])):
            for b in range(n):
                for ch in range(c):
                    out[b, ch, i, j] = reduce(x[b, ch, r0:r1, c0:c1])
    return out


def ref_adaptive_max_grad(x, out_hw, g):
    dx = np.zeros_like(x)
    for i, (r0, r1) in enumerate(ref_bins(x.shape[2], out_hw[0])):
        for j, (c0, c1) in enumerate(ref_bins(x.shape[3], out_hw[1])):
            for b in range(x.shape[0]):
                for ch in range(x.shape[1]):
                    window = x[b, ch, r0:r1, c0:c1]
                    r, s = np.unravel_index(np.argmax(window), window.shape)  # first max, row-major
                    dx[b, ch, r0 + r, c0 + s] += g[b, ch, i, j]
    return dx


WINDOW_CONFIGS = [  # (x shape, kernel, stride, padding)
    ((2, 3, 5, 6), (2, 2), (2, 2), (0, 0)),
    ((1, 2, 7, 5), (3, 3), (2, 2), (1, 1)),
    ((2, 1, 6, 7), (3, 2), (1, 2), (1, 1)),
    ((1, 2, 4, 9), (1, 4), (3, 1), (0, 2)),
    ((1, 1, 5, 5), (5, 5), (1, 1), (2, 0)),
]
WINDOW_IDS = [f"x{'x'.join(map(str, s))}-k{k[0]}x{k[1]}-s{st_[0]}x{st_[1]}-p{p[0]}x{p[1]}"
              for s, k, st_, p in WINDOW_CONFIGS]


@pytest.mark.parametrize("shape, kernel, stride, padding", WINDOW_CONFIGS, ids=WINDOW_IDS)
def test_window_pools_match_loop_reference(rng, shape, kernel, stride, padding):
    x = rng.standard_normal(shape)
    np.testing.assert_array_equal(max_pool2d(x, kernel, stride, padding),
                                  ref_window_pool(x, kernel, stride, padding, np.max, -np.inf))
    np.testing.assert_allclose(avg_pool2d(x, kernel, stride, padding),
                               ref_window_pool(x, kernel, stride, padding, np.mean, 0.0), rtol=1e-12)
    np.testing.assert_allclose(avg_pool2d(x, kernel, stride, padding, count_include_pad=False),
                               ref_avg_exclude_pad(x, kernel, stride, padding), rtol=1e-12)
    if padding == (0, 0):
        for p in (1, 2, 3.5):
            xpos = np.abs(x) + 0.1
            ref = ref_window_pool(xpos, kernel, stride, padding, lambda v: np.sum(v ** p) ** (1 / p), 0.0)
            np.testing.assert_allclose(lp_pool2d(xpos, p, kernel, stride), ref, rtol=1e-12)


@pytest.mark.parametrize("shape, kernel, stride, padding", WINDOW_CONFIGS, ids=WINDOW_IDS)
def test_max_pool_gradient_matches_loop_reference_with_ties(rng, shape, kernel, stride, padding):
    x = rng.integers(0, 3, shape).astype(float)  # many ties
    out, cache = max_pool2d_forward(x, kernel, stride, padding)
    g = rng.standard_normal(out.shape)
    np.testing.assert_allclose(max_pool2d_backward(g, cache),
                               ref_max_pool_grad(x, kernel, stride, padding, g), rtol=1e-12, atol=1e-14)


ADAPTIVE_CONFIGS = [  # (x shape, output size as passed, output size meant)
    ((2, 2, 5, 5), 3, (3, 3)),
    ((1, 3, 7, 9), (4, 2), (4, 2)),
    ((2, 1, 6, 6), (None, 4), (6, 4)),
    ((1, 2, 3, 4), (5, 7), (5, 7)),  # larger than the input: bins repeat pixels
    ((1, 1, 8, 8), 1, (1, 1)),
]
ADAPTIVE_IDS = [f"x{'x'.join(map(str, s))}-out{o}" for s, o, _ in ADAPTIVE_CONFIGS]


@pytest.mark.parametrize("shape, output_size, out_hw", ADAPTIVE_CONFIGS, ids=ADAPTIVE_IDS)
def test_adaptive_pools_match_loop_reference(rng, shape, output_size, out_hw):
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(adaptive_avg_pool2d(x, output_size), ref_adaptive_pool(x, out_hw, np.mean),
                               rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(adaptive_max_pool2d(x, output_size), ref_adaptive_pool(x, out_hw, np.max))
    ties = rng.integers(0, 3, shape).astype(float)
    out, cache = adaptive_max_pool2d_forward(ties, output_size)
    g = rng.standard_normal(out.shape)
    np.testing.assert_allclose(adaptive_max_pool2d_backward(g, cache), ref_adaptive_max_grad(ties, out_hw, g),
                               rtol=1e-12, atol=1e-14)


def test_global_pools_match_numpy_reductions(rng):
    x = rng.standard_normal((3, 4, 5, 6))
    np.testing.assert_allclose(global_avg_pool2d(x), x.mean(axis=(2, 3)), rtol=1e-12)
    np.testing.assert_array_equal(global_max_pool2d(x), x.max(axis=(2, 3)))
    np.testing.assert_allclose(global_avg_pool2d(x), adaptive_avg_pool2d(x, 1)[:, :, 0, 0], rtol=1e-12)
    np.testing.assert_array_equal(global_max_pool2d(x), adaptive_max_pool2d(x, 1)[:, :, 0, 0])


def test_adaptive_pools_with_dividing_sizes_equal_plain_pools(rng):
    x = rng.standard_normal((2, 3, 8, 12))
    np.testing.assert_allclose(adaptive_avg_pool2d(x, (4, 3)), avg_pool2d(x, (2, 4)), rtol=1e-12)
    np.testing.assert_array_equal(adaptive_max_pool2d(x, (4, 3)), max_pool2d(x, (2, 4)))


# --------------------------------------------------------------------------- PyTorch oracle
# PyTorch's results come from tests/oracle/golden.npz everywhere and, where PyTorch is
# installed, from a live run too (tests/oracle/__init__.py). A case is an input, drawn by
# a function of the case's generator, and the calls made on it in turn.


class Call(NamedTuple):
    """op(x, *args, **kwargs), op a name in cnnlib and in torch.nn.functional; its backward
    too unless backward is False."""
    op: str
    args: tuple
    kwargs: dict = {}
    backward: bool = True


POOL_OPS = {  # op -> (forward, backward)
    "max_pool2d": (max_pool2d_forward, max_pool2d_backward),
    "avg_pool2d": (avg_pool2d_forward, avg_pool2d_backward),
    "lp_pool2d": (lp_pool2d_forward, lp_pool2d_backward),
    "adaptive_avg_pool2d": (adaptive_avg_pool2d_forward, adaptive_avg_pool2d_backward),
    "adaptive_max_pool2d": (adaptive_max_pool2d_forward, adaptive_max_pool2d_backward),
}
TOL = {np.float32: dict(rtol=2e-5, atol=2e-5), np.float64: dict(rtol=1e-10, atol=1e-12)}


def _random_window_cases(count, seed, padded=True):
    """A seeded grid of (readable id, (shape, kernel, stride, padding))."""
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        kernel = tuple(int(k) for k in rng.integers(1, 5, 2))
        stride = tuple(int(s) for s in rng.integers(1, 4, 2))
        padding = tuple(int(rng.integers(0, k // 2 + 1)) if padded else 0 for k in kernel)
        hw = tuple(int(rng.integers(max(1, k - 2 * p), 11)) for k, p in zip(kernel, padding))
        shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4))) + hw
        case_id = (f"x{'x'.join(map(str, shape))}-k{kernel[0]}x{kernel[1]}"
                   f"-s{stride[0]}x{stride[1]}-p{padding[0]}x{padding[1]}")
        cases.append((case_id, (shape, kernel, stride, padding)))
    # the defaults and plain-int arguments, as students will call them
    cases.append(("x2x3x8x8-k2-default-stride", ((2, 3, 8, 8), 2, None, 0)))
    cases.append(("x1x2x9x9-k3-s2-int-args", ((1, 2, 9, 9), 3, 2, 1 if padded else 0)))
    return cases


def _random_adaptive_cases(count, seed):
    """A seeded grid of (readable id, (shape, output_size))."""
    rng = np.random.default_rng(seed)
    cases = []
    for _ in range(count):
        shape = (int(rng.integers(1, 3)), int(rng.integers(1, 4))) + tuple(int(n) for n in rng.integers(1, 12, 2))
        out = tuple(int(o) for o in rng.integers(1, 2 * np.array(shape[2:]) + 1))  # some larger than the input
        cases.append((f"x{'x'.join(map(str, shape))}-out{out[0]}x{out[1]}", (shape, out)))
    cases.append(("x2x2x7x10-out3-int", ((2, 2, 7, 10), 3)))
    cases.append(("x1x2x6x9-outNonex4", ((1, 2, 6, 9), (None, 4))))
    return cases


WINDOW_CASES = _random_window_cases(12, seed=1)
UNPADDED_CASES = _random_window_cases(6, seed=2, padded=False)
ADAPTIVE_CASES = _random_adaptive_cases(10, seed=3)
DTYPES = [np.float32, np.float64]


def normal(shape, dtype, rng):
    """Standard normal values in dtype."""
    return rng.standard_normal(shape).astype(dtype)


def positive(shape, dtype, rng):
    """Values of at least 0.05 in dtype, for the LP pools of fractional or odd norms."""
    return (np.abs(rng.standard_normal(shape)) + 0.05).astype(dtype)


def small_integers(shape, rng):
    """Values 0, 1, 2 as float64: many ties."""
    return rng.integers(0, 3, shape).astype(np.float64)


def _torch_pool(torch, case):
    """Reference: each call of the case in float64, its output and, for a cotangent drawn
    next in x's dtype, its input gradient."""
    make_x, calls = case.config
    rng = case.rng()
    x = make_x(rng)
    results = {}
    for op, args, kwargs, backward in calls:
        xt = torch.tensor(x, dtype=torch.float64, requires_grad=True)
        results[f"{op} out"] = out = getattr(torch.nn.functional, op)(xt, *args, **kwargs)
        if backward:
            g = rng.standard_normal(tuple(out.shape)).astype(x.dtype)
            out.backward(torch.tensor(g, dtype=torch.float64))
            results[f"{op} dx"] = xt.grad
    return {"x": x}, results


def pool_oracle(name, cases):
    """An oracle of pooling cases: (case name, x's maker, [Call, ...])."""
    return Oracle(name, [(case_name, (make_x, calls)) for case_name, make_x, calls in cases], _torch_pool)


def check_against_torch(oracle, case, equal_nan=False):
    """Each call of the case, forward (and backward), against PyTorch's results, in x's dtype."""
    make_x, calls = case.config
    rng = case.rng()
    x = make_x(rng)
    torch_results = oracle.results(case, {"x": x})

    def close(actual, expected):
        assert actual.shape == expected.shape, f"shape {actual.shape}, PyTorch's {expected.shape}"
        np.testing.assert_allclose(actual, expected, equal_nan=equal_nan, **TOL[x.dtype.type])

    for op, args, kwargs, with_backward in calls:
        forward, backward = POOL_OPS[op]
        out, cache = forward(x, *args, **kwargs)
        assert out.dtype == x.dtype
        torch_results.check(f"{op} out", out, close)
        if not with_backward:
            continue
        g = rng.standard_normal(out.shape).astype(x.dtype)
        dx = backward(g, cache)
        assert dx.dtype == x.dtype
        torch_results.check(f"{op} dx", dx, close)
    return x, torch_results


def _dtype_name(dtype):
    return np.dtype(dtype).name


MAX_POOL = pool_oracle("max_pool2d", [
    (f"{_dtype_name(dtype)}-{case_id}", functools.partial(normal, shape, dtype),
     [Call("max_pool2d", (kernel, stride, padding))])
    for case_id, (shape, kernel, stride, padding) in WINDOW_CASES for dtype in DTYPES])


@pytest.mark.parametrize("case", MAX_POOL.cases, ids=str)
def test_max_pool_matches_torch(case):
    check_against_torch(MAX_POOL, case)


AVG_POOL = pool_oracle("avg_pool2d", [
    (f"{_dtype_name(dtype)}-{case_id}-{'include' if include else 'exclude'}_pad",
     functools.partial(normal, shape, dtype),
     [Call("avg_pool2d", (kernel, stride, padding), {"count_include_pad": include})])
    for case_id, (shape, kernel, stride, padding) in WINDOW_CASES
    for dtype in DTYPES for include in (True, False)])


@pytest.mark.parametrize("case", AVG_POOL.cases, ids=str)
def test_avg_pool_matches_torch(case):
    check_against_torch(AVG_POOL, case)


LP_NORMS = [("p1", 1, True), ("p2", 2, True), ("p3", 3, False), ("p1.5", 1.5, False), ("p0.7", 0.7, False),
            ("pinf", np.inf, True)]  # (id, norm_type, signed input)
LP_POOL = pool_oracle("lp_pool2d", [
    (f"{_dtype_name(dtype)}-{case_id}-{norm_id}", functools.partial(normal if signed else positive, shape, dtype),
     [Call("lp_pool2d", (norm_type, kernel, stride))])
    for case_id, (shape, kernel, stride, padding) in UNPADDED_CASES
    for dtype in DTYPES for norm_id, norm_type, signed in LP_NORMS])


@pytest.mark.parametrize("case", LP_POOL.cases, ids=str)
def test_lp_pool_matches_torch(case):
    check_against_torch(LP_POOL, case)


ADAPTIVE_POOLS = {op: pool_oracle(op, [
    (f"{_dtype_name(dtype)}-{case_id}", functools.partial(normal, shape, dtype), [Call(op, (output_size,))])
    for case_id, (shape, output_size) in ADAPTIVE_CASES for dtype in DTYPES])
    for op in ("adaptive_avg_pool2d", "adaptive_max_pool2d")}


@pytest.mark.parametrize("case", ADAPTIVE_POOLS["adaptive_avg_pool2d"].cases, ids=str)
def test_adaptive_avg_pool_matches_torch(case):
    check_against_torch(ADAPTIVE_POOLS["adaptive_avg_pool2d"], case)


@pytest.mark.parametrize("case", ADAPTIVE_POOLS["adaptive_max_pool2d"].cases, ids=str)
def test_adaptive_max_pool_matches_torch(case):
    check_against_torch(ADAPTIVE_POOLS["adaptive_max_pool2d"], case)


TIES = pool_oracle("max_pool_ties", [
    (case_id, functools.partial(small_integers, shape),
     [Call("max_pool2d", (kernel, stride, padding)), Call("adaptive_max_pool2d", (kernel,))])
    for case_id, (shape, kernel, stride, padding) in WINDOW_CASES[:6]])


@pytest.mark.parametrize("case", TIES.cases, ids=str)
def test_max_pools_tie_rule_matches_torch(case):
    check_against_torch(TIES, case)


def with_nans(rng):
    x = rng.standard_normal((1, 2, 7, 7))
    x[0, 0, 2, 3] = x[0, 1, 3, 3] = x[0, 1, 4, 3] = np.nan
    return x


def with_minus_infinities(rng):
    x = rng.standard_normal((2, 2, 5, 6))
    x[:, :, :2, :] = -np.inf
    x[1, 1] = -np.inf
    return x


SPECIAL_VALUES = pool_oracle("max_pool_special_values", [
    ("nan", with_nans, [Call("max_pool2d", (3, 2, 1), backward=False), Call("adaptive_max_pool2d", ((3, 4),))]),
    ("minus_infinity", with_minus_infinities, [Call("max_pool2d", (3, 2, 1))]),
])


def test_nan_propagates_like_torch():
    x, torch_results = check_against_torch(SPECIAL_VALUES, SPECIAL_VALUES.cases[0], equal_nan=True)
    torch_results.check("max_pool2d out", max_pool2d(x, 3, 2, 1), np.testing.assert_array_equal)


def test_minus_infinity_inputs_next_to_the_padding_like_torch():
    check_against_torch(SPECIAL_VALUES, SPECIAL_VALUES.cases[1])


# --------------------------------------------------------------------------- gradient checks

def numerical_grad(f, x, g, eps=1e-6):
    """Central differences of sum(f(x) * g) with respect to every entry of x."""
    dx = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        x[idx] = old + eps
        plus = np.sum(f(x) * g)
        x[idx] = old - eps
        minus = np.sum(f(x) * g)
        x[idx] = old
        dx[idx] = (plus - minus) / (2 * eps)
    return dx


def distinct_values(rng, shape):
    """Values at least 0.5 apart: no ties, and no max changes under a 1e-6 nudge."""
    return rng.permutation(int(np.prod(shape))).reshape(shape) + rng.uniform(0, 0.5, shape) - 10.0


GRAD_CASES = [
    pytest.param("max", lambda x: max_pool2d_forward(x, 2), id="max-k2"),
    pytest.param("max", lambda x: max_pool2d_forward(x, (3, 2), (1, 2), (1, 1)), id="max-k3x2-s1x2-p1"),
    pytest.param("smooth", lambda x: avg_pool2d_forward(x, 3, 2, 1), id="avg-k3-s2-p1"),
    pytest.param("smooth", lambda x: avg_pool2d_forward(x, (2, 3), 1, (1, 0), count_include_pad=False),
                 id="avg-k2x3-s1-p1x0-exclude_pad"),
    pytest.param("positive", lambda x: lp_pool2d_forward(x, 2, 2, 1), id="lp-p2-k2-s1"),
    pytest.param("positive", lambda x: lp_pool2d_forward(x, 3, (2, 3)), id="lp-p3-k2x3"),
    pytest.param("positive", lambda x: lp_pool2d_forward(x, 1.5, 3, 2), id="lp-p1.5-k3-s2"),
    pytest.param("positive", lambda x: lp_pool2d_forward(x, 0.7, 2), id="lp-p0.7-k2"),
    pytest.param("max", lambda x: lp_pool2d_forward(x, np.inf, 2), id="lp-pinf-k2"),
    pytest.param("smooth", lambda x: adaptive_avg_pool2d_forward(x, 3), id="adaptive_avg-out3"),
    pytest.param("smooth", lambda x: adaptive_avg_pool2d_forward(x, (7, 2)), id="adaptive_avg-out7x2"),
    pytest.param("max", lambda x: adaptive_max_pool2d_forward(x, 3), id="adaptive_max-out3"),
    pytest.param("max", lambda x: adaptive_max_pool2d_forward(x, (6, 4)), id="adaptive_max-out6x4"),
]


@pytest.mark.parametrize("kind, forward", GRAD_CASES)
def test_backward_matches_central_differences(rng, kind, forward):
    shape = (2, 2, 5, 5)
    if kind == "max":
        x = distinct_values(rng, shape)
    elif kind == "positive":
        x = rng.uniform(0.5, 2.0, shape)
    else:
        x = rng.standard_normal(shape)
    out, cache = forward(x)
    g = rng.standard_normal(out.shape)
    backward = {"max_pool2d": max_pool2d_backward, "avg_pool2d": avg_pool2d_backward,
                "lp_pool2d": lp_pool2d_backward, "adaptive_avg_pool2d": adaptive_avg_pool2d_backward,
                "adaptive_max_pool2d": adaptive_max_pool2d_backward}[cache["op"]]
    dx = backward(g, cache)
    expected = numerical_grad(lambda v: forward(v)[0], x.copy(), g)
    np.testing.assert_allclose(dx, expected, rtol=1e-6, atol=1e-8)


# --------------------------------------------------------------------------- dtypes and inputs

OPS = [  # (name, forward, backward)
    pytest.param(lambda x: max_pool2d_forward(x, 2, 1, 1), max_pool2d_backward, id="max_pool2d"),
    pytest.param(lambda x: avg_pool2d_forward(x, 3, 2, 1), avg_pool2d_backward, id="avg_pool2d"),
    pytest.param(lambda x: avg_pool2d_forward(x, 3, 2, 1, count_include_pad=False), avg_pool2d_backward, id="avg_pool2d-exclude"),
    pytest.param(lambda x: lp_pool2d_forward(x, 2, 2), lp_pool2d_backward, id="lp_pool2d"),
    pytest.param(lambda x: lp_pool2d_forward(x, np.inf, 2), lp_pool2d_backward, id="lp_pool2d-inf"),
    pytest.param(lambda x: adaptive_avg_pool2d_forward(x, (3, 2)), adaptive_avg_pool2d_backward,
                 id="adaptive_avg_pool2d"),
    pytest.param(lambda x: adaptive_max_pool2d_forward(x, (3, 2)), adaptive_max_pool2d_backward,
                 id="adaptive_max_pool2d"),
    pytest.param(lambda x: (global_avg_pool2d(x), None), None, id="global_avg_pool2d"),
    pytest.param(lambda x: (global_max_pool2d(x), None), None, id="global_max_pool2d"),
]


@pytest.mark.parametrize("in_dtype, out_dtype", [(np.float32, np.float32), (np.float64, np.float64),
                                                 (np.int64, np.float64), (np.int8, np.float64),
                                                 (np.bool_, np.float64), (np.float16, np.float32)],
                         ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("forward, backward", OPS)
def test_dtypes(rng, forward, backward, in_dtype, out_dtype):
    x = rng.integers(0, 5, (2, 3, 6, 5)).astype(in_dtype)
    out, cache = forward(x)
    assert out.dtype == out_dtype
    if backward is not None:
        assert backward(np.ones(out.shape, dtype=np.float64), cache).dtype == out_dtype
        assert backward(np.ones(out.shape, dtype=np.int32), cache).dtype == out_dtype


@pytest.mark.parametrize("forward, backward", OPS)
def test_inputs_are_not_modified(rng, forward, backward):
    x = rng.standard_normal((2, 3, 6, 5)).astype(np.float32)
    x_copy = x.copy()
    x.flags.writeable = False  # any write raises
    out, cache = forward(x)
    out_copy = out.copy()
    if backward is not None:
        g = rng.standard_normal(out.shape).astype(np.float32)
        g_copy = g.copy()
        g.flags.writeable = False
        backward(g, cache)
        np.testing.assert_array_equal(g, g_copy)
        backward(g, cache)  # a second backward gives the same gradient
        np.testing.assert_array_equal(out, out_copy)
    np.testing.assert_array_equal(x, x_copy)
    assert not np.shares_memory(out, x)


def test_backward_twice_gives_the_same_gradient(rng):
    x = rng.integers(0, 3, (2, 2, 6, 6)).astype(float)
    out, cache = max_pool2d_forward(x, 3, 1, 1)
    g = rng.standard_normal(out.shape)
    np.testing.assert_array_equal(max_pool2d_backward(g, cache), max_pool2d_backward(g, cache))


# --------------------------------------------------------------------------- translation equivariance

def circular_pool(pool, x, k):
    """Stride-1 pooling of x extended periodically, so the output has x's size."""
    return pool(np.pad(x, ((0, 0), (0, 0), (0, k - 1), (0, k - 1)), mode="wrap"), k, 1)


POOLS = {
    "max": max_pool2d,
    "avg": avg_pool2d,
    "lp2": lambda x, k, s: lp_pool2d(x, 2, k, s),
}


@pytest.mark.parametrize("name", POOLS)
@given(x=hnp.arrays(np.float64, st.tuples(st.just(1), st.integers(1, 2), st.integers(3, 7), st.integers(3, 7)),
                    elements=st.floats(-100, 100)),
       k=st.integers(1, 3), shift=st.tuples(st.integers(-6, 6), st.integers(-6, 6)))
def test_stride1_pooling_commutes_with_circular_shifts(name, x, k, shift):
    pool = POOLS[name]
    shifted_then_pooled = circular_pool(pool, np.roll(x, shift, axis=(2, 3)), k)
    pooled_then_shifted = np.roll(circular_pool(pool, x, k), shift, axis=(2, 3))
    np.testing.assert_allclose(shifted_then_pooled, pooled_then_shifted, rtol=1e-12, atol=1e-12)
