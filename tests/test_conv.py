"""Tests of cnnlib.conv: worked examples, SciPy and PyTorch oracles, loop references,
properties (adjointness, translation equivariance, gradients, the conv matrix), dtypes
and inputs left alone.

Random inputs come from np.random.default_rng(seed) with the seed in the test's id (or, for
the property tests, in Hypothesis's report)."""
import functools

import numpy as np
import pytest
import scipy.signal
from hypothesis import given, note
from hypothesis import strategies as st
from oracle import Oracle, seed_of

import cnnlib.conv
from cnnlib.conv_strategies import STRATEGIES, _work, strategy
from cnnlib import (
    conv1d,
    conv2d,
    conv2d_backward,
    conv2d_forward,
    conv2d_matrix,
    conv_output_size,
    conv_transpose2d,
    conv_transpose2d_backward,
    conv_transpose2d_forward,
    convolve2d,
    correlate2d,
)
from cnnlib.gradcheck import numerical_gradient

# PyTorch warns that padding="same" with an even kernel may copy the input; that is fine.
pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same'")

A = np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])
B = np.array([[1, 2], [3, 4]])


def assert_close(actual, expected, dtype=np.float64):
    """Equal to round-off, relative to the scale of ``expected``."""
    expected = np.asarray(expected, dtype=np.float64)
    assert actual.shape == expected.shape
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    rtol, atol = (1e-4, 1e-5) if np.dtype(dtype) == np.float32 else (1e-10, 1e-12)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale)


def full_padding(padding, kernel, dilation):
    """Our padding argument as explicit (h, w) ints, the form every PyTorch version takes."""
    if padding == "full":
        d = (dilation,) * 2 if isinstance(dilation, int) else dilation
        return tuple(di * (k - 1) for k, di in zip(kernel, d))
    return padding


def conv2d_loops(x, w, b=None, stride=(1, 1), pads=((0, 0), (0, 0)), dilation=(1, 1)):
    """conv2d straight from the definition, one output pixel at a time."""
    xp = np.pad(np.asarray(x, float), ((0, 0), (0, 0)) + tuple(pads))
    n, _, hp, wp = xp.shape
    c_out, _, kh, kw = w.shape
    (sh, sw), (dh, dw) = stride, dilation
    oh, ow = (hp - dh * (kh - 1) - 1) // sh + 1, (wp - dw * (kw - 1) - 1) // sw + 1
    out = np.zeros((n, c_out, oh, ow))
    for i in range(n):
        for o in range(c_out):
            for r in range(oh):
                for q in range(ow):
                    patch = xp[i, :, r * sh:r * sh + dh * (kh - 1) + 1:dh, q * sw:q * sw + dw * (kw - 1) + 1:dw]
                    out[i, o, r, q] = np.sum(patch * w[o]) + (0.0 if b is None else b[o])
    return out


# --------------------------------------------------------------------------- worked examples

def test_full_convolution_by_hand():
    expected = [[1, 4, 7, 6], [7, 23, 33, 24], [19, 53, 63, 42], [21, 52, 59, 36]]
    np.testing.assert_array_equal(convolve2d(A, B, "full"), expected)


def test_full_cross_correlation_by_hand_and_as_conv2d_with_padding():
    expected = [[4, 11, 18, 9], [18, 37, 47, 21], [36, 67, 77, 33], [14, 23, 26, 9]]
    np.testing.assert_array_equal(correlate2d(A, B, "full"), expected)
    np.testing.assert_array_equal(conv2d(A[None, None], B[None, None], padding=1)[0, 0], expected)
    np.testing.assert_array_equal(conv2d(A[None, None], B[None, None], padding="full")[0, 0], expected)


def test_valid_and_same_by_hand():
    np.testing.assert_array_equal(correlate2d(A, B), [[37, 47], [67, 77]])
    np.testing.assert_array_equal(convolve2d(A, B), [[23, 33], [53, 63]])
    # With an even kernel SciPy's 'same' is the bottom-right of 'full' for correlation ...
    np.testing.assert_array_equal(correlate2d(A, B, "same"), [[37, 47, 21], [67, 77, 33], [23, 26, 9]])
    # ... and the top-left for convolution.
    np.testing.assert_array_equal(convolve2d(A, B, "same"), [[1, 4, 7], [7, 23, 33], [19, 53, 63]])


def test_bump_detector_1d():
    x = np.array([0, 0, 0, 1, 1, 0, 0, 0], dtype=float)
    out = conv1d(x[None, None], np.array([0.0, 1.0, 0.0])[None, None])
    np.testing.assert_array_equal(out, [[[0, 0, 1, 1, 0, 0]]])


def test_vertical_line_detector_2d():
    image = np.zeros((8, 8))
    image[:, 3:5] = 1.0
    kernel = np.zeros((3, 3))
    kernel[:, 1] = 1.0
    out = conv2d(image[None, None], kernel[None, None])
    assert out.shape == (1, 1, 6, 6)
    np.testing.assert_array_equal(out[0, 0], np.tile([0, 0, 3, 3, 0, 0], (6, 1)))


def test_bias_is_added_per_output_channel():
    x = np.zeros((2, 1, 4, 4))
    out = conv2d(x, np.ones((3, 1, 2, 2)), np.array([1.0, -2.0, 0.5]))
    np.testing.assert_array_equal(out[:, :, 1, 2], [[1.0, -2.0, 0.5]] * 2)


# --------------------------------------------------------------------------- SciPy oracle

SCIPY_SHAPES = [
    ((5, 5), (3, 3)), ((6, 7), (2, 2)), ((6, 7), (4, 3)), ((7, 6), (2, 5)), ((4, 4), (4, 4)),
    ((1, 9), (1, 3)), ((9, 1), (2, 1)), ((1, 1), (1, 1)), ((3, 8), (3, 8)), ((8, 8), (1, 1)),
    ((5, 6), (5, 1)),
]


@pytest.mark.parametrize("mode", ["valid", "same", "full"])
@pytest.mark.parametrize("image_shape, kernel_shape", SCIPY_SHAPES, ids=str)
def test_single_image_functions_match_scipy(image_shape, kernel_shape, mode):
    rng = np.random.default_rng(sum(image_shape) * 100 + sum(kernel_shape))
    image = rng.standard_normal(image_shape)
    kernel = rng.standard_normal(kernel_shape)
    assert_close(correlate2d(image, kernel, mode), scipy.signal.correlate2d(image, kernel, mode))
    assert_close(convolve2d(image, kernel, mode), scipy.signal.convolve2d(image, kernel, mode))


@pytest.mark.parametrize("mode", ["same", "full"])
@pytest.mark.parametrize("kernel_shape", [(4, 5), (7, 2), (6, 6)])
def test_kernel_larger_than_image_in_same_and_full_modes_matches_scipy(kernel_shape, mode):
    rng = np.random.default_rng(7)
    image, kernel = rng.standard_normal((3, 4)), rng.standard_normal(kernel_shape)
    assert_close(correlate2d(image, kernel, mode), scipy.signal.correlate2d(image, kernel, mode))
    assert_close(convolve2d(image, kernel, mode), scipy.signal.convolve2d(image, kernel, mode))


def test_integer_images_match_scipy_exactly():
    rng = np.random.default_rng(3)
    image, kernel = rng.integers(-5, 6, (7, 9)), rng.integers(-5, 6, (3, 4))
    for mode in ("valid", "same", "full"):
        np.testing.assert_array_equal(correlate2d(image, kernel, mode), scipy.signal.correlate2d(image, kernel, mode))
        np.testing.assert_array_equal(convolve2d(image, kernel, mode), scipy.signal.convolve2d(image, kernel, mode))


# --------------------------------------------------------------------------- references without PyTorch

def _random_conv2d_configs(count, seed, max_size=8):
    """(N, C_in, C_out, H, W, kernel, stride, padding, dilation, bias) configurations that fit."""
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        n, c_in, c_out = (int(v) for v in rng.integers(1, 4, 3))
        h, w = (int(v) for v in rng.integers(1, max_size + 1, 2))
        kernel = tuple(int(v) for v in rng.integers(1, 5, 2))
        stride = _int_or_pair(rng, 1, 3)
        dilation = _int_or_pair(rng, 1, 3)
        padding = ["valid", "same", "full", 0, 1, 2, (0, 2), (2, 1)][rng.integers(8)]
        if padding == "same" and stride not in (1, (1, 1)):
            continue
        try:  # skip configurations whose kernel does not fit the padded input
            pads = cnnlib.conv.resolve_padding(padding, kernel, _pair(stride), _pair(dilation))
            for size, k, s, d, (a, b) in zip((h, w), kernel, _pair(stride), _pair(dilation), pads):
                conv_output_size(size + a + b, k, s, 0, d)
        except ValueError:
            continue
        configs.append((n, c_in, c_out, h, w, kernel, stride, padding, dilation, bool(rng.random() < 0.6)))
    return configs


def _int_or_pair(rng, low, high):
    if rng.random() < 0.5:
        return int(rng.integers(low, high + 1))
    return tuple(int(v) for v in rng.integers(low, high + 1, 2))


def _pair(v):
    return (v, v) if isinstance(v, int) else v


def _conv_id(config):
    n, c_in, c_out, h, w, kernel, stride, padding, dilation, bias = config
    return (f"{n}x{c_in}x{h}x{w}-w{c_out}x{c_in}x{kernel[0]}x{kernel[1]}-s{stride}-p{padding}"
            f"-d{dilation}-{'bias' if bias else 'nobias'}").replace(" ", "")


def _seeded(case_id):
    """A case id and the seed its inputs come from (seed_of(case_id)), for pytest's id."""
    return f"{case_id}-seed{seed_of(case_id)}"


LOOP_CONFIGS = _random_conv2d_configs(30, seed=11)
FORWARD_PATHS = ["im2col", "row shifts", "per row"]


def _loop_case(config, rng):
    """Random x, w, b (None without bias) for a configuration, and the loop reference's output."""
    n, c_in, c_out, h, w, kernel, stride, padding, dilation, bias = config
    x = rng.standard_normal((n, c_in, h, w))
    wt = rng.standard_normal((c_out, c_in) + kernel)
    b = rng.standard_normal(c_out) if bias else None
    pads = cnnlib.conv.resolve_padding(padding, kernel, _pair(stride), _pair(dilation))
    return x, wt, b, conv2d_loops(x, wt, b, _pair(stride), pads, _pair(dilation))


@pytest.mark.parametrize("config", LOOP_CONFIGS, ids=_conv_id)
def test_conv2d_matches_loop_reference(config):
    stride, padding, dilation = config[6:9]
    x, wt, b, expected = _loop_case(config, np.random.default_rng(5))
    assert_close(conv2d(x, wt, b, stride, padding, dilation), expected)


@pytest.mark.parametrize("padding", [0, 1, 2])
def test_conv2d_is_scipy_correlation_summed_over_channels(padding):
    rng = np.random.default_rng(padding)
    x, w, b = rng.standard_normal((2, 3, 7, 6)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    expected = np.array([
        [sum(scipy.signal.correlate2d(xp[i, c], w[o, c], "valid") for c in range(3)) + b[o] for o in range(4)]
        for i in range(2)
    ])
    assert_close(conv2d(x, w, b, padding=padding), expected)


def test_conv1d_matches_numpy_correlate():
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(20), rng.standard_normal(5)
    for mode in ("valid", "same", "full"):
        expected = np.correlate(x, w, mode)
        assert_close(conv1d(x[None, None], w[None, None], padding=mode)[0, 0], expected)


def test_conv1d_is_conv2d_of_height_one():
    rng = np.random.default_rng(1)
    x, w, b = rng.standard_normal((2, 3, 17)), rng.standard_normal((4, 3, 3)), rng.standard_normal(4)
    for stride, padding, dilation in [(1, 0, 1), (2, 1, 1), (3, 2, 2), (1, "same", 3), (2, "full", 1)]:
        expected = conv2d(x[:, :, None], w[:, :, None], b, (1, stride),
                          padding if isinstance(padding, str) else (0, padding), (1, dilation))[:, :, 0]
        assert_close(conv1d(x, w, b, stride, padding, dilation), expected)


def test_conv_transpose2d_is_the_input_gradient_of_conv2d():
    rng = np.random.default_rng(2)
    x, w = rng.standard_normal((2, 3, 9, 8)), rng.standard_normal((4, 3, 3, 2))
    y, cache = conv2d_forward(x, w, None, (2, 3), (1, 2), (1, 2))
    g = rng.standard_normal(y.shape)
    dx, _, _ = conv2d_backward(g, cache)
    assert_close(conv_transpose2d(g, w, None, (2, 3), (1, 2), (0, 0), dilation=(1, 2)), dx)


def test_conv2d_equals_conv2d_forward_output():
    rng = np.random.default_rng(3)
    x, w, b = rng.standard_normal((2, 3, 8, 8)), rng.standard_normal((5, 3, 3, 3)), rng.standard_normal(5)
    assert_close(conv2d(x, w, b, 2, 1), conv2d_forward(x, w, b, 2, 1)[0])


# The routes by which conv2d, conv2d_forward and conv_transpose2d compute are tested one by
# one, through their table, in tests/test_conv_strategies.py.

def test_the_torch_oracle_sees_every_training_strategy():
    chosen = set()
    for case in CONV2D_ORACLE.cases:
        (n, c_in, c_out, h, w, kernel, stride, padding, dilation, bias), dtype = case.config
        x, wt = np.zeros((n, c_in, h, w), dtype), np.zeros((c_out, c_in) + kernel, dtype)
        chosen.add(conv2d_forward(x, wt, None, stride, padding, dilation)[1]["strategy"].name)
    assert chosen == {s.name for s in STRATEGIES["training"]}


def _im2col_inputs(case):
    """x, w and b of an im2col case in its dtype, and the generator to go on with."""
    c_out, dtype = case.config
    rng = case.rng()
    x = rng.standard_normal((3, 2, 9, 7)).astype(dtype)
    wt = rng.standard_normal((c_out, 2, 3, 2)).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype)
    return x, wt, b, rng


IM2COL_LAYERS = [(1, 1), ((2, 1), (0, 2))]  # (stride, padding) of the layers of each case


def _torch_im2col(torch, case):
    """Reference: PyTorch's conv2d of each layer of IM2COL_LAYERS on one x, w, b."""
    c_out, dtype = case.config
    x, wt, b, rng = _im2col_inputs(case)
    results = {}
    for stride, padding in IM2COL_LAYERS:
        tx, tw, tb = (_torch_tensor(torch, a, True) for a in (x, wt, b))
        t_out = torch.nn.functional.conv2d(tx, tw, tb, stride, padding)
        for name, a in _backward(torch, t_out, rng, dtype, dx=tx, dw=tw, db=tb).items():
            results[f"s{stride}-p{padding} {name}"] = a
    return {"x": x, "w": wt, "b": b}, results


IM2COL_ORACLE = Oracle("conv2d_im2col", [(f"c_out{c_out}-{np.dtype(dtype).name}", (c_out, dtype))
                                         for dtype in (np.float32, np.float64) for c_out in (1, 7, 8, 13)],
                       _torch_im2col)


@pytest.mark.parametrize("case", IM2COL_ORACLE.cases, ids=str)
def test_im2col_products_for_few_and_many_output_maps(case):
    """float32 with < 8 output maps uses one product per output row; the rest, one product."""
    c_out, dtype = case.config
    close = functools.partial(assert_close, dtype=dtype)
    im2col = strategy("training", "im2col")
    x, wt, b, rng = _im2col_inputs(case)
    torch_results = IM2COL_ORACLE.results(case, {"x": x, "w": wt, "b": b})
    for stride, padding in IM2COL_LAYERS:
        checked = cnnlib.conv._conv2d_args(x, wt, b, stride, padding, 1)
        out, saved = im2col.forward(*checked)
        layer = f"s{stride}-p{padding}"
        torch_results.check(f"{layer} out", out, close)
        g = rng.standard_normal(out.shape).astype(dtype)
        for name, got in zip(("dx", "dw", "db"), im2col.backward(g, saved, checked[1], checked[3], True)):
            torch_results.check(f"{layer} {name}", got, close)


# --------------------------------------------------------------------------- work buffers

@pytest.fixture
def every_buffer_reused(monkeypatch):
    """Send every temporary, however small, through the work buffers."""
    monkeypatch.setattr(_work, "SMALL_BYTES", 0)


def test_results_of_one_call_survive_the_next_calls(every_buffer_reused):
    """The reused work buffers never hold a result: outputs and caches stay as they were."""
    rng = np.random.default_rng(8)
    layers = [((4, 8, 20, 20), (6, 8, 3, 3), 1), ((4, 2, 20, 20), (12, 2, 3, 3), 1),
              ((4, 8, 20, 20), (6, 8, 3, 3), 2)]
    for x_shape, w_shape, stride in layers:
        x, w, b = rng.standard_normal(x_shape), rng.standard_normal(w_shape), rng.standard_normal(w_shape[0])
        y1, cache1 = conv2d_forward(x, w, b, stride, 1)
        y1_copy = y1.copy()
        g = rng.standard_normal(y1.shape)
        grads1 = conv2d_backward(g, cache1)
        grads1_copy = [a.copy() for a in grads1]
        t1 = conv_transpose2d(y1, w, None, stride, 1)
        t1_copy = t1.copy()
        z1 = conv2d(x, w, b, stride, 1)
        z1_copy = z1.copy()
        for _ in range(2):  # other calls of the same shapes, with other numbers
            y2, cache2 = conv2d_forward(-2 * x, w + 1, b, stride, 1)
            conv2d_backward(-g, cache2)
            conv_transpose2d(y2, w + 1, None, stride, 1)
            conv2d(-2 * x, w + 1, b, stride, 1)
        np.testing.assert_array_equal(y1, y1_copy)
        np.testing.assert_array_equal(t1, t1_copy)
        np.testing.assert_array_equal(z1, z1_copy)
        for a, c in zip(grads1, grads1_copy):
            np.testing.assert_array_equal(a, c)
        for a, c in zip(conv2d_backward(g, cache1), grads1_copy):  # the cache is intact too
            np.testing.assert_array_equal(a, c)


def test_calls_from_several_threads_do_not_mix_their_buffers(every_buffer_reused):
    import concurrent.futures

    rng = np.random.default_rng(9)
    problems = [(rng.standard_normal((8, 8, 24, 24)), rng.standard_normal((6, 8, 3, 3))) for _ in range(6)]
    expected = [conv2d_backward(np.ones((8, 6, 24, 24)), conv2d_forward(x, w, padding=1)[1])[0] for x, w in problems]

    def run(i):
        x, w = problems[i % len(problems)]
        return i % len(problems), conv2d_backward(np.ones((8, 6, 24, 24)), conv2d_forward(x, w, padding=1)[1])[0]

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for i, dx in pool.map(run, range(24)):
            np.testing.assert_array_equal(dx, expected[i])


def test_release_work_buffers(every_buffer_reused):
    conv2d(np.ones((2, 8, 10, 10)), np.ones((4, 8, 3, 3)), padding=1)
    assert _work.kept_bytes()  # the big padded input was kept ...
    cnnlib.conv.release_work_buffers()
    assert not _work.kept_bytes()  # ... and is let go
    assert conv2d(np.ones((1, 1, 3, 3)), np.ones((1, 1, 3, 3)))[0, 0, 0, 0] == 9.0


def test_non_contiguous_inputs():
    rng = np.random.default_rng(5)
    x, w, b = rng.standard_normal((2, 3, 7, 9)), rng.standard_normal((4, 3, 3, 2)), rng.standard_normal(4)
    expected = conv2d(x, w, b, 2, 1)
    x_t = np.ascontiguousarray(x.transpose(3, 2, 1, 0)).transpose(3, 2, 1, 0)  # same values, odd strides
    w_f = np.asfortranarray(w)
    b_strided = np.repeat(b, 2)[::2]
    assert_close(conv2d(x_t, w_f, b_strided, 2, 1), expected)
    x_rev = x[:, :, ::-1][:, :, ::-1]
    assert_close(conv2d(x_rev, w, b, 2, 1), expected)
    big = np.zeros((2, 3, 14, 18))
    big[:, :, ::2, ::2] = x
    assert_close(conv2d(big[:, :, ::2, ::2], w, b, 2, 1), expected)


def test_batch_items_are_independent():
    rng = np.random.default_rng(6)
    x, w = rng.standard_normal((4, 2, 6, 6)), rng.standard_normal((3, 2, 3, 3))
    together = conv2d(x, w, padding=1)
    for i in range(4):
        assert_close(together[i:i + 1], conv2d(x[i:i + 1], w, padding=1))


# --------------------------------------------------------------------------- PyTorch oracle

# PyTorch's results come from tests/oracle/golden.npz everywhere and, where PyTorch is
# installed, from a live run too (tests/oracle/__init__.py); a reference draws the inputs
# as the test does and runs PyTorch on them in float64.

def _dtype_for(index):
    return np.float32 if index % 2 else np.float64


def _torch_tensor(torch, a, grad=False):
    t = torch.tensor(np.asarray(a, dtype=np.float64))  # the reference runs in float64
    return t.requires_grad_(grad)


def _backward(torch, t_out, rng, dtype, **leaves):
    """t_out, and the gradients of the named leaves (None: left out) for a cotangent g that
    is drawn next from rng, in dtype, as the tests draw it."""
    g = rng.standard_normal(tuple(t_out.shape)).astype(dtype)
    t_out.backward(_torch_tensor(torch, g))
    return {"out": t_out} | {name: t.grad for name, t in leaves.items() if t is not None}


def _conv2d_inputs(case):
    """x, w and b (None without bias) of a conv2d case in its dtype, and the generator to go on with."""
    (n, c_in, c_out, h, w, kernel, stride, padding, dilation, bias), dtype = case.config
    rng = case.rng()
    x = rng.standard_normal((n, c_in, h, w)).astype(dtype)
    wt = rng.standard_normal((c_out, c_in) + kernel).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype) if bias else None
    return x, wt, b, rng


def _torch_conv2d(torch, case):
    """Reference: PyTorch's conv2d and its gradients."""
    (n, c_in, c_out, h, w, kernel, stride, padding, dilation, bias), dtype = case.config
    x, wt, b, rng = _conv2d_inputs(case)
    tx, tw, tb = (None if a is None else _torch_tensor(torch, a, True) for a in (x, wt, b))
    t_out = torch.nn.functional.conv2d(tx, tw, tb, stride, full_padding(padding, kernel, dilation), dilation)
    return {"x": x, "w": wt, "b": b}, _backward(torch, t_out, rng, dtype, dx=tx, dw=tw, db=tb)


CONV2D_ORACLE = Oracle("conv2d", [(f"{_conv_id(c)}-{np.dtype(_dtype_for(i)).name}", (c, _dtype_for(i)))
                                  for i, c in enumerate(_random_conv2d_configs(70, seed=2026, max_size=9))],
                       _torch_conv2d)


@pytest.mark.parametrize("case", CONV2D_ORACLE.cases, ids=str)
def test_conv2d_forward_and_backward_match_torch(case):
    (n, c_in, c_out, h, w, kernel, stride, padding, dilation, bias), dtype = case.config
    close = functools.partial(assert_close, dtype=dtype)
    x, wt, b, rng = _conv2d_inputs(case)
    torch_results = CONV2D_ORACLE.results(case, {"x": x, "w": wt, "b": b})
    out, cache = conv2d_forward(x, wt, b, stride, padding, dilation)
    torch_results.check("out", out, close)
    torch_results.check("out", conv2d(x, wt, b, stride, padding, dilation), close)
    g = rng.standard_normal(out.shape).astype(dtype)
    dx, dw, db = conv2d_backward(g, cache)
    assert out.dtype == dx.dtype == dw.dtype == dtype
    torch_results.check("dx", dx, close)
    torch_results.check("dw", dw, close)
    if bias:
        assert db.dtype == dtype
        torch_results.check("db", db, close)
    else:
        assert db is None


def _random_transpose_configs(count, seed):
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        n, c_in, c_out = (int(v) for v in rng.integers(1, 4, 3))
        h, w = (int(v) for v in rng.integers(1, 7, 2))
        kernel = tuple(int(v) for v in rng.integers(1, 5, 2))
        stride, dilation, padding = _int_or_pair(rng, 1, 3), _int_or_pair(rng, 1, 3), _int_or_pair(rng, 0, 2)
        s, d, p = _pair(stride), _pair(dilation), _pair(padding)
        output_padding = tuple(int(rng.integers(0, max(si, di))) for si, di in zip(s, d))
        sizes = [(n_ - 1) * si - 2 * pi + di * (k - 1) + a + 1
                 for n_, si, pi, di, k, a in zip((h, w), s, p, d, kernel, output_padding)]
        if min(sizes) < 1:
            continue
        configs.append((n, c_in, c_out, h, w, kernel, stride, padding, output_padding, dilation,
                        bool(rng.random() < 0.6)))
    return configs


def _transpose_id(config):
    n, c_in, c_out, h, w, kernel, stride, padding, output_padding, dilation, bias = config
    return (f"{n}x{c_in}x{h}x{w}-w{c_in}x{c_out}x{kernel[0]}x{kernel[1]}-s{stride}-p{padding}"
            f"-op{output_padding}-d{dilation}-{'bias' if bias else 'nobias'}").replace(" ", "")


def _transpose_loop(x, w, b, stride, padding, output_padding, dilation):
    """conv_transpose2d by its definition: every input pixel scatters w times itself."""
    (sh, sw), (ph, pw), (ah, aw), (dh, dw) = (_pair(v) for v in (stride, padding, output_padding, dilation))
    n, c_in, h, wd = x.shape
    kh, kw = w.shape[2:]
    out = np.zeros((n, w.shape[1], (h - 1) * sh + dh * (kh - 1) + ah + 1, (wd - 1) * sw + dw * (kw - 1) + aw + 1))
    for a in range(h):
        for c in range(wd):
            for i in range(kh):
                for j in range(kw):
                    out[:, :, a * sh + i * dh, c * sw + j * dw] += x[:, :, a, c] @ w[:, :, i, j]
    out = out[:, :, ph:out.shape[2] - ph, pw:out.shape[3] - pw]
    return out if b is None else out + b[:, None, None]


@pytest.mark.parametrize("config", _random_transpose_configs(40, seed=11), ids=lambda c: _seeded(_transpose_id(c)))
def test_conv_transpose2d_matches_its_definition(config):
    """Without PyTorch too: strides above 1 (phases with and without taps), output padding."""
    n, c_in, c_out, h, w, kernel, stride, padding, output_padding, dilation, bias = config
    rng = np.random.default_rng(seed_of(_transpose_id(config)))
    x, wt = rng.standard_normal((n, c_in, h, w)), rng.standard_normal((c_in, c_out) + kernel)
    b = rng.standard_normal(c_out) if bias else None
    expected = _transpose_loop(x, wt, b, stride, padding, output_padding, dilation)
    assert_close(conv_transpose2d(x, wt, b, stride, padding, output_padding, dilation=dilation), expected)
    y = conv_transpose2d(x.astype(np.float32), wt.astype(np.float32), b if b is None else b.astype(np.float32),
                         stride, padding, output_padding, dilation=dilation)
    assert y.dtype == np.float32
    assert_close(y, expected, np.float32)


def _transpose_inputs(case):
    """x, w and b (None without bias) of a conv_transpose2d case in its dtype, and the generator to go on with."""
    (n, c_in, c_out, h, w, kernel, stride, padding, output_padding, dilation, bias), dtype = case.config
    rng = case.rng()
    x = rng.standard_normal((n, c_in, h, w)).astype(dtype)
    wt = rng.standard_normal((c_in, c_out) + kernel).astype(dtype)
    b = rng.standard_normal(c_out).astype(dtype) if bias else None
    return x, wt, b, rng


def _torch_conv_transpose2d(torch, case):
    """Reference: PyTorch's conv_transpose2d and its gradients."""
    (n, c_in, c_out, h, w, kernel, stride, padding, output_padding, dilation, bias), dtype = case.config
    x, wt, b, rng = _transpose_inputs(case)
    tx, tw, tb = (None if a is None else _torch_tensor(torch, a, True) for a in (x, wt, b))
    t_out = torch.nn.functional.conv_transpose2d(tx, tw, tb, stride, padding, output_padding, 1, dilation)
    return {"x": x, "w": wt, "b": b}, _backward(torch, t_out, rng, dtype, dx=tx, dw=tw, db=tb)


TRANSPOSE_ORACLE = Oracle("conv_transpose2d",
                          [(f"{_transpose_id(c)}-{np.dtype(_dtype_for(i)).name}", (c, _dtype_for(i)))
                           for i, c in enumerate(_random_transpose_configs(50, seed=7))],
                          _torch_conv_transpose2d)


@pytest.mark.parametrize("case", TRANSPOSE_ORACLE.cases, ids=str)
def test_conv_transpose2d_forward_and_backward_match_torch(case):
    (n, c_in, c_out, h, w, kernel, stride, padding, output_padding, dilation, bias), dtype = case.config
    close = functools.partial(assert_close, dtype=dtype)
    x, wt, b, rng = _transpose_inputs(case)
    torch_results = TRANSPOSE_ORACLE.results(case, {"x": x, "w": wt, "b": b})
    out, cache = conv_transpose2d_forward(x, wt, b, stride, padding, output_padding, dilation=dilation)
    torch_results.check("out", out, close)
    g = rng.standard_normal(out.shape).astype(dtype)
    dx, dw, db = conv_transpose2d_backward(g, cache)
    assert out.dtype == dx.dtype == dw.dtype == dtype
    torch_results.check("dx", dx, close)
    torch_results.check("dw", dw, close)
    if bias:
        torch_results.check("db", db, close)
    else:
        assert db is None


def _random_conv1d_configs(count, seed):
    rng = np.random.default_rng(seed)
    configs = []
    while len(configs) < count:
        n, c_in, c_out = (int(v) for v in rng.integers(1, 4, 3))
        length, k = int(rng.integers(1, 16)), int(rng.integers(1, 6))
        s, d = int(rng.integers(1, 4)), int(rng.integers(1, 4))
        padding = ["valid", "same", "full", 0, 1, 3][rng.integers(6)]
        if padding == "same" and s != 1:
            continue
        total = {"valid": 0, "same": d * (k - 1), "full": 2 * d * (k - 1)}.get(padding, 2 * padding) \
            if isinstance(padding, str) else 2 * padding
        if length + total < d * (k - 1) + 1:
            continue
        configs.append((n, c_in, c_out, length, k, s, padding, d, bool(rng.random() < 0.5)))
    return configs


def _conv1d_inputs(case):
    """x, w and b (None without bias) of a conv1d case, in float64."""
    n, c_in, c_out, length, k, s, padding, d, bias = case.config
    rng = case.rng()
    x = rng.standard_normal((n, c_in, length))
    w = rng.standard_normal((c_out, c_in, k))
    b = rng.standard_normal(c_out) if bias else None
    return x, w, b


def _torch_conv1d(torch, case):
    """Reference: PyTorch's conv1d."""
    n, c_in, c_out, length, k, s, padding, d, bias = case.config
    x, w, b = _conv1d_inputs(case)
    torch_padding = d * (k - 1) if padding == "full" else padding
    out = torch.nn.functional.conv1d(
        _torch_tensor(torch, x), _torch_tensor(torch, w), None if b is None else _torch_tensor(torch, b),
        s, torch_padding, d)
    return {"x": x, "w": w, "b": b}, {"out": out}


CONV1D_ORACLE = Oracle("conv1d", [("N{}-C{}>{}-L{}-k{}-s{}-p{}-d{}-b{}".format(*c), c)
                                  for c in _random_conv1d_configs(24, seed=3)], _torch_conv1d)


@pytest.mark.parametrize("case", CONV1D_ORACLE.cases, ids=str)
def test_conv1d_matches_torch(case):
    n, c_in, c_out, length, k, s, padding, d, bias = case.config
    x, w, b = _conv1d_inputs(case)
    torch_results = CONV1D_ORACLE.results(case, {"x": x, "w": w, "b": b})
    torch_results.check("out", conv1d(x, w, b, s, padding, d), assert_close)
    out32 = conv1d(x.astype(np.float32), w.astype(np.float32), None if b is None else b.astype(np.float32),
                   s, padding, d)
    assert out32.dtype == np.float32
    torch_results.check("out", out32, functools.partial(assert_close, dtype=np.float32))


# --------------------------------------------------------------------------- properties

@st.composite
def conv_problems(draw, max_stride=3, strings=False):
    """(x, w, stride, padding, dilation) with a kernel that fits, in float64."""
    n = draw(st.integers(1, 2))
    c_in, c_out = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    kh, kw = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    sh, sw = draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    padding = (ph, pw)
    if strings:
        padding = draw(st.sampled_from([padding, "valid", "full"] + (["same"] if sh == sw == 1 else [])))
    pads = cnnlib.conv.resolve_padding(padding, (kh, kw), (sh, sw), (dh, dw))
    h_min = max(1, dh * (kh - 1) + 1 - sum(pads[0]))
    w_min = max(1, dw * (kw - 1) + 1 - sum(pads[1]))
    h, w = draw(st.integers(h_min, h_min + 5)), draw(st.integers(w_min, w_min + 5))
    seed = draw(st.integers(0, 2**32 - 1))
    note(f"x and w from np.random.default_rng({seed})")
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, c_in, h, w))
    wt = rng.standard_normal((c_out, c_in, kh, kw))
    return x, wt, (sh, sw), padding, (dh, dw)


def _output_padding(x, w, stride, padding, dilation):
    """The output_padding that makes conv_transpose2d return x's size (relationship 14)."""
    return tuple((n + 2 * p - d * (k - 1) - 1) % s
                 for n, k, s, p, d in zip(x.shape[2:], w.shape[2:], stride, padding, dilation))


@given(conv_problems())
def test_conv_transpose2d_is_the_adjoint_of_conv2d(problem):
    x, w, stride, padding, dilation = problem
    y = np.random.default_rng(0).standard_normal(conv2d(x, w, None, stride, padding, dilation).shape)
    back = conv_transpose2d(y, w, None, stride, padding, _output_padding(x, w, stride, padding, dilation), dilation=dilation)
    assert back.shape == x.shape
    lhs = np.vdot(conv2d(x, w, None, stride, padding, dilation), y)
    rhs = np.vdot(x, back)
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, np.abs(x).sum() * np.abs(w).sum() * np.abs(y).max())


@given(conv_problems(max_stride=1), st.integers(-5, 5), st.integers(-5, 5))
def test_conv2d_with_circular_padding_is_translation_equivariant(problem, shift_h, shift_w):
    x, w, _, _, dilation = problem
    spans = [d * (k - 1) for k, d in zip(w.shape[2:], dilation)]
    wrap = ((0, 0), (0, 0)) + tuple((s // 2, s - s // 2) for s in spans)

    def circular_conv(a):
        return conv2d(np.pad(a, wrap, mode="wrap"), w, dilation=dilation)

    shifted_then_conv = circular_conv(np.roll(x, (shift_h, shift_w), axis=(2, 3)))
    conv_then_shifted = np.roll(circular_conv(x), (shift_h, shift_w), axis=(2, 3))
    assert_close(shifted_then_conv, conv_then_shifted)


def _check_gradients(forward, backward, x, w, b, rng):
    out, cache = forward(x, w, b)
    g = rng.standard_normal(out.shape)
    dx, dw, db = backward(g, cache)

    def loss():
        return np.sum(forward(x, w, b)[0] * g)

    tol = dict(rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(dx, numerical_gradient(loss, x), **tol)
    np.testing.assert_allclose(dw, numerical_gradient(loss, w), **tol)
    np.testing.assert_allclose(db, numerical_gradient(loss, b), **tol)


@given(conv_problems(strings=True))
def test_conv2d_backward_matches_central_differences(problem):
    x, w, stride, padding, dilation = problem
    rng = np.random.default_rng(x.size)
    b = rng.standard_normal(w.shape[0])
    _check_gradients(lambda x_, w_, b_: conv2d_forward(x_, w_, b_, stride, padding, dilation),
                     conv2d_backward, x, w, b, rng)


@given(conv_problems())
def test_conv_transpose2d_backward_matches_central_differences(problem):
    x, w, stride, padding, dilation = problem
    rng = np.random.default_rng(x.size)
    y = rng.standard_normal(conv2d(x, w, None, stride, padding, dilation).shape)
    op = _output_padding(x, w, stride, padding, dilation)
    b = rng.standard_normal(w.shape[1])
    _check_gradients(lambda y_, w_, b_: conv_transpose2d_forward(y_, w_, b_, stride, padding, op, dilation=dilation),
                     conv_transpose2d_backward, y, w, b, rng)


@given(conv_problems(strings=True))
def test_conv2d_matrix_is_the_convolution(problem):
    x, w, stride, padding, dilation = problem
    m = conv2d_matrix(w, x.shape[2:], stride, padding, dilation)
    for sample in x:
        expected = conv2d(sample[None], w, None, stride, padding, dilation).reshape(-1)
        assert_close(m @ sample.reshape(-1), expected)


@given(conv_problems())
def test_conv2d_matrix_transpose_is_the_transposed_convolution(problem):
    x, w, stride, padding, dilation = problem
    m = conv2d_matrix(w, x.shape[2:], stride, padding, dilation)
    y = conv2d(x, w, None, stride, padding, dilation)
    op = _output_padding(x, w, stride, padding, dilation)
    for sample in y:
        expected = conv_transpose2d(sample[None], w, None, stride, padding, op, dilation=dilation).reshape(-1)
        assert_close(m.T @ sample.reshape(-1), expected)


def test_conv2d_matrix_by_hand():
    # A 1-D example in 2-D clothes: kernel [1, 2] on 3 inputs gives [[1, 2, 0], [0, 1, 2]].
    m = conv2d_matrix(np.array([[[[1.0, 2.0]]]]), (1, 3))
    np.testing.assert_array_equal(m, [[1, 2, 0], [0, 1, 2]])
    m = conv2d_matrix(np.ones((2, 3, 3, 3)), 5, stride=2, padding=1)
    assert m.shape == (2 * 3 * 3, 3 * 5 * 5)
    assert m.dtype == np.float64
    # Output pixel (0, 0) sees a 2x2 corner of each input channel (the rest is padding).
    assert m[0].sum() == 3 * 4


# --------------------------------------------------------------------------- dtypes, inputs, aliasing

def _all_calls(x, w, b):
    """Every public function on (x, w, b), in the dtype of the inputs."""
    y, cache = conv2d_forward(x, w, b, 1, 1)
    g = np.ones(y.shape, dtype=y.dtype)
    wt = w.transpose(1, 0, 2, 3)
    yt, cache_t = conv_transpose2d_forward(x, wt, b, 2, 1, 1)
    return {
        "conv2d": conv2d(x, w, b, 2, 1, 2),
        "conv2d_forward": y,
        "conv2d_backward": conv2d_backward(g, cache),
        "conv_transpose2d": conv_transpose2d(x, wt, b, 1, 1),
        "conv_transpose2d_forward": yt,
        "conv_transpose2d_backward": conv_transpose2d_backward(np.ones(yt.shape, yt.dtype), cache_t),
        "conv1d": conv1d(x[:, :, 0], w[:, :, 0], b, 1, "same"),
        "correlate2d": correlate2d(x[0, 0], w[0, 0], "same"),
        "convolve2d": convolve2d(x[0, 0], w[0, 0], "full"),
        "conv2d_matrix": conv2d_matrix(w, x.shape[2:], padding=1),
    }


def _arrays(result):
    if isinstance(result, tuple):
        return [r for r in result if r is not None]
    return [result]


@pytest.mark.parametrize("dtypes, expected", [
    ((np.float32, np.float32, np.float32), np.float32),
    ((np.float64, np.float64, np.float64), np.float64),
    ((np.int64, np.int64, np.int64), np.float64),
    ((np.int32, np.uint8, np.int16), np.float64),
    ((np.bool_, np.float64, np.float64), np.float64),
    ((np.float32, np.float64, np.float32), np.float64),
    ((np.float64, np.float32, np.float32), np.float64),
    ((np.float32, np.float32, np.float64), np.float64),
])
def test_result_dtypes(dtypes, expected):
    rng = np.random.default_rng(0)
    x = (rng.standard_normal((2, 3, 6, 6)) * 3).astype(dtypes[0])
    w = (rng.standard_normal((3, 3, 3, 3)) * 3).astype(dtypes[1])
    b = (rng.standard_normal(3) * 3).astype(dtypes[2])
    only_w = np.float32 if dtypes[1] == np.float32 else np.float64  # conv2d_matrix
    x_and_w = np.float32 if dtypes[:2] == (np.float32, np.float32) else np.float64  # no bias
    for name, result in _all_calls(x, w, b).items():
        want = {"conv2d_matrix": only_w, "correlate2d": x_and_w, "convolve2d": x_and_w}.get(name, expected)
        for a in _arrays(result):
            assert a.dtype == want, (name, a.dtype)


def test_single_image_dtypes():
    a32 = np.ones((4, 4), np.float32)
    assert correlate2d(a32, a32[:2, :2]).dtype == np.float32
    assert convolve2d(a32, a32[:2, :2].astype(np.float64)).dtype == np.float64
    assert correlate2d(np.ones((4, 4), int), np.ones((2, 2), int)).dtype == np.float64
    assert conv2d_matrix(np.ones((1, 1, 2, 2), np.float32), 3).dtype == np.float32
    assert conv2d_matrix(np.ones((1, 1, 2, 2), int), 3).dtype == np.float64


def test_float16_is_computed_in_float32():
    x = np.ones((1, 1, 4, 4), np.float16)
    assert conv2d(x, x[:, :, :2, :2]).dtype == np.float32


def test_inputs_are_not_modified():
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64, np.int64):
        x = (rng.standard_normal((2, 3, 6, 6)) * 3).astype(dtype)
        w = (rng.standard_normal((3, 3, 3, 3)) * 3).astype(dtype)
        b = (rng.standard_normal(3) * 3).astype(dtype)
        copies = [a.copy() for a in (x, w, b)]
        _all_calls(x, w, b)
        for a, c in zip((x, w, b), copies):
            np.testing.assert_array_equal(a, c)
            assert a.dtype == c.dtype


def test_backward_does_not_modify_grad_out():
    rng = np.random.default_rng(2)
    x, w, b = rng.standard_normal((2, 3, 6, 6)), rng.standard_normal((4, 3, 3, 3)), rng.standard_normal(4)
    y, cache = conv2d_forward(x, w, b, 2, 1)
    g = rng.standard_normal(y.shape)
    g_copy = g.copy()
    first = conv2d_backward(g, cache)
    np.testing.assert_array_equal(g, g_copy)
    second = conv2d_backward(g, cache)  # a cache can be used twice
    for a, c in zip(first, second):
        np.testing.assert_array_equal(a, c)
    yt, cache_t = conv_transpose2d_forward(x, w.transpose(1, 0, 2, 3), b, 2, 1, 1)
    gt = rng.standard_normal(yt.shape)
    gt_copy = gt.copy()
    conv_transpose2d_backward(gt, cache_t)
    np.testing.assert_array_equal(gt, gt_copy)


def test_results_do_not_alias_inputs():
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 6))
    w = np.zeros((3, 3, 1, 1))
    w[[0, 1, 2], [0, 1, 2]] = 1.0  # the identity: the output equals the input
    b = np.zeros(3)
    for name, result in _all_calls(x, w, b).items():
        for a in _arrays(result):
            for inp in (x, w, b):
                assert not np.shares_memory(a, inp), name
    out = conv2d(x, w)
    np.testing.assert_array_equal(out, x)
    x[...] = 0.0
    assert np.abs(out).sum() > 0
    image, one = rng.standard_normal((5, 5)), np.ones((1, 1))
    out = correlate2d(image, one)
    image[...] = 0.0
    assert np.abs(out).sum() > 0


def test_accepts_lists_and_read_only_arrays():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    x.flags.writeable = False
    w = [[[[1.0, 0.0], [0.0, -1.0]]]]
    expected = conv2d(x.copy(), np.array(w))
    np.testing.assert_array_equal(conv2d(x, w), expected)
    np.testing.assert_array_equal(conv2d(x.tolist(), w, [0.0]), expected)
    y, cache = conv2d_forward(x, w)
    conv2d_backward(np.ones(y.shape), cache)
