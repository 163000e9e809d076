"""Bad input to the convolutions: a ValueError whose message names the argument and shows
the offending shapes or values, never an IndexError or a NumPy broadcasting error."""
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import cnnlib
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

X = np.zeros((2, 3, 5, 5))
W = np.zeros((4, 3, 3, 3))
X1 = np.zeros((2, 3, 9))
W1 = np.zeros((4, 3, 3))
WT = np.zeros((3, 4, 3, 3))  # conv_transpose2d weights: (C_in, C_out, kh, kw)


def shape(s):
    """A regex matching the printed tuple s."""
    return re.escape(str(tuple(s)))


CONV2D_CASES = [
    # wrong number of dimensions
    ((np.zeros((3, 5, 5)), W), {}, r"x must be 4-D with shape \(N, C_in, H, W\).*\(3, 5, 5\)"),
    ((X, np.zeros((4, 3, 3))), {}, r"w must be 4-D with shape \(C_out, C_in, kh, kw\).*\(4, 3, 3\)"),
    ((np.zeros((1, 2, 3, 5, 5)), W), {}, "x must be 4-D"),
    # channel mismatch names both shapes
    ((X, np.zeros((4, 2, 3, 3))), {}, rf"channel mismatch.*{shape(X.shape)}.*{shape((4, 2, 3, 3))}"),
    # bias
    ((X, W, np.zeros(3)), {}, r"b must have shape \(C_out,\) = \(4,\).*got b of shape \(3,\)"),
    ((X, W, np.zeros((4, 1))), {}, r"b must have shape.*\(4, 1\)"),
    ((X, W, np.float64(1.0)), {}, r"b must have shape.*\(\)"),
    # kernel larger than the padded input
    ((np.zeros((1, 3, 2, 5)), W), {},
     r"kernel of w \(shape \(4, 3, 3, 3\)\) does not fit in x of shape \(1, 3, 2, 5\)"),
    ((X, W), {"dilation": 3}, "does not fit.*larger than the padded input"),
    ((np.zeros((1, 3, 1, 1)), W), {"padding": (1, 0)}, "does not fit"),
    ((X, np.zeros((4, 3, 0, 3))), {}, "does not fit.*kernel_size must be an int >= 1"),
    # stride, dilation, padding
    ((X, W), {"stride": 0}, r"stride must be >= 1, got 0"),
    ((X, W), {"stride": (1, 0)}, r"stride must be >= 1, got \(1, 0\)"),
    ((X, W), {"stride": 1.5}, "stride must be an int or a tuple of 2 ints, got 1.5"),
    ((X, W), {"stride": (1, 2, 3)}, "stride must be an int or a tuple of 2 ints"),
    ((X, W), {"stride": True}, "stride must be an int"),
    ((X, W), {"dilation": 0}, "dilation must be >= 1"),
    ((X, W), {"dilation": (2, -1)}, "dilation must be >= 1"),
    ((X, W), {"padding": -1}, "padding must be >= 0, got -1"),
    ((X, W), {"padding": (0, -2)}, "padding must be >= 0"),
    ((X, W), {"padding": "half"}, "padding must be an int, a tuple or one of.*'half'"),
    ((X, W), {"padding": None}, "padding must be an int or a tuple of 2 ints, got None"),
    ((X, W), {"padding": "same", "stride": 2}, "padding='same' needs stride 1"),
    ((X, W), {"padding": "same", "stride": (1, 2)}, "padding='same' needs stride 1"),
    # dtypes
    ((np.full((1, 3, 4, 4), "a"), W), {}, "x must hold real numbers, got dtype <U1"),
    ((X.astype(object), W), {}, "x must hold real numbers, got dtype object"),
    ((X, W.astype(complex)), {}, "w must hold real numbers, got dtype complex128"),
    ((X, W, np.zeros(4, complex)), {}, "b must hold real numbers"),
]


@pytest.mark.parametrize("args, kwargs, match", CONV2D_CASES, ids=lambda v: None)
def test_conv2d_rejects(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv2d(*args, **kwargs)
    with pytest.raises(ValueError, match=match):
        conv2d_forward(*args, **kwargs)


@pytest.mark.parametrize("args, kwargs, match", [
    ((np.zeros((2, 3, 1, 9)), W1), {}, r"x must be 3-D with shape \(N, C_in, L\).*\(2, 3, 1, 9\)"),
    ((X1, W), {}, r"w must be 3-D with shape \(C_out, C_in, K\)"),
    ((X1, np.zeros((4, 2, 3))), {}, rf"channel mismatch.*{shape(X1.shape)}.*{shape((4, 2, 3))}"),
    ((X1, W1, np.zeros(5)), {}, r"b must have shape \(C_out,\) = \(4,\)"),
    ((np.zeros((2, 3, 2)), W1), {}, r"does not fit in x of shape \(2, 3, 2\)"),
    ((X1, W1), {"dilation": 5}, "does not fit"),
    ((X1, W1), {"stride": 0}, "stride must be >= 1"),
    ((X1, W1), {"stride": (1, 2)}, "stride must be an int or a tuple of 1 ints"),
    ((X1, W1), {"padding": -3}, "padding must be >= 0"),
    ((X1, W1), {"padding": "circular"}, "padding must be an int, a tuple or one of"),
    ((X1, W1), {"padding": "same", "stride": 3}, "needs stride 1"),
    ((X1, W1), {"dilation": 0}, "dilation must be >= 1"),
    ((X1.astype(str), W1), {}, "x must hold real numbers"),
])
def test_conv1d_rejects(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv1d(*args, **kwargs)


@pytest.mark.parametrize("args, kwargs, match", [
    ((np.zeros((3, 5, 5)), WT), {}, "x must be 4-D"),
    ((X, np.zeros((3, 4, 3))), {}, r"w must be 4-D with shape \(C_in, C_out, kh, kw\)"),
    ((X, np.zeros((4, 3, 3, 3))), {}, rf"channel mismatch.*{shape(X.shape)}.*{shape((4, 3, 3, 3))}"),
    ((X, WT, np.zeros(3)), {}, r"b must have shape \(C_out,\) = \(4,\).*\(3,\)"),
    ((X, WT), {"stride": 2, "output_padding": 2}, "output_padding must be smaller than stride or dilation"),
    ((X, WT), {"output_padding": 1}, "output_padding must be smaller than stride or dilation"),
    ((X, WT), {"stride": (2, 1), "output_padding": (1, 1)}, "output_padding must be smaller"),
    ((X, WT), {"output_padding": -1}, "output_padding must be >= 0"),
    ((np.zeros((1, 3, 1, 1)), WT), {"padding": 2}, "too large"),
    ((X, WT), {"padding": -1}, "padding must be >= 0"),
    ((X, WT), {"padding": "same"}, "padding must be an int or a tuple of 2 ints, got 'same'"),
    ((X, WT), {"stride": 0}, "stride must be >= 1"),
    ((X, WT), {"dilation": 0}, "dilation must be >= 1"),
    ((np.zeros((2, 3, 0, 5)), WT), {}, "n must be an int >= 1"),
    ((X, WT.astype(object)), {}, "w must hold real numbers"),
])
def test_conv_transpose2d_rejects(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv_transpose2d(*args, **kwargs)
    with pytest.raises(ValueError, match=match):
        conv_transpose2d_forward(*args, **kwargs)


@pytest.mark.parametrize("fn", [correlate2d, convolve2d])
@pytest.mark.parametrize("args, match", [
    ((np.zeros((1, 4, 4)), np.zeros((2, 2))), r"image must be 2-D with shape \(H, W\).*\(1, 4, 4\)"),
    ((np.zeros((4, 4)), np.zeros(2)), r"kernel must be 2-D with shape \(kh, kw\).*\(2,\)"),
    ((np.zeros((4, 4)), np.zeros((2, 2)), "wrap"), r"mode must be one of \('valid', 'same', 'full'\), got 'wrap'"),
    ((np.zeros((4, 4)), np.zeros((5, 2))), r"kernel must fit in the image.*\(5, 2\).*\(4, 4\)"),
    ((np.zeros((4, 4)), np.zeros((2, 5)), "valid"), "kernel must fit in the image"),
    ((np.zeros((4, 4)), np.zeros((0, 2)), "full"), "must not be empty"),
    ((np.zeros((0, 4)), np.zeros((1, 1)), "same"), "must not be empty"),
    ((np.full((4, 4), "x"), np.zeros((2, 2))), "image must hold real numbers"),
    ((np.zeros((4, 4)), np.ones((2, 2), complex)), "kernel must hold real numbers"),
])
def test_single_image_functions_reject(fn, args, match):
    with pytest.raises(ValueError, match=match):
        fn(*args)


def test_conv2d_backward_rejects_bad_grad_out_and_cache():
    y, cache = conv2d_forward(X, W, np.zeros(4), padding=1)
    expected = rf"grad_out must have the forward output's shape {shape(y.shape)}, got shape \(2, 4, 5\)"
    with pytest.raises(ValueError, match=expected):
        conv2d_backward(np.zeros((2, 4, 5)), cache)
    with pytest.raises(ValueError, match="grad_out must have the forward output's shape"):
        conv2d_backward(np.zeros((2, 4, 5, 4)), cache)
    with pytest.raises(ValueError, match="grad_out must hold real numbers"):
        conv2d_backward(np.full(y.shape, "a"), cache)
    with pytest.raises(ValueError, match="cache must be the second result of conv2d_forward"):
        conv2d_backward(y, None)
    _, cache_t = conv_transpose2d_forward(X, WT)
    with pytest.raises(ValueError, match="cache must be the second result of conv2d_forward"):
        conv2d_backward(y, cache_t)


def test_conv_transpose2d_backward_rejects_bad_grad_out_and_cache():
    y, cache = conv_transpose2d_forward(X, WT, None, 2, 1, 1)
    with pytest.raises(ValueError, match=rf"grad_out must have the forward output's shape {shape(y.shape)}"):
        conv_transpose2d_backward(np.zeros((2, 4, 9, 9)), cache)
    with pytest.raises(ValueError, match="grad_out must hold real numbers"):
        conv_transpose2d_backward(np.zeros(y.shape, complex), cache)
    _, cache_c = conv2d_forward(X, W)
    with pytest.raises(ValueError, match="cache must be the second result of conv_transpose2d_forward"):
        conv_transpose2d_backward(y, cache_c)


@pytest.mark.parametrize("args, kwargs, match", [
    ((np.zeros((4, 3, 3)), 5), {}, "w must be 4-D"),
    ((W, 0), {}, "input_size must be >= 1"),
    ((W, (5, 5, 5)), {}, "input_size must be an int or a tuple of 2 ints"),
    ((W, 2), {}, r"does not fit in x of shape \(1, 3, 2, 2\)"),
    ((W, 5), {"padding": "same", "stride": 2}, "needs stride 1"),
    ((W, 5), {"dilation": 0}, "dilation must be >= 1"),
    ((W.astype(str), 5), {}, "w must hold real numbers"),
])
def test_conv2d_matrix_rejects(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv2d_matrix(*args, **kwargs)


# --------------------------------------------------------------------------- fuzzing

def _mostly(draw, good, bad):
    """A draw from ``good`` nine times in ten, otherwise from ``bad``."""
    return draw(bad if draw(st.integers(0, 9)) == 0 else good)


@st.composite
def layer_arguments(draw, spatial=2, transposed=False):
    """Mostly valid (x, w, b, stride, padding, dilation), each part sometimes broken."""
    n, c_in, c_out = draw(st.integers(0, 2)), draw(st.integers(1, 3)), draw(st.integers(0, 3))
    sizes = [_mostly(draw, st.integers(3, 8), st.integers(0, 2)) for _ in range(spatial)]
    kernel = [_mostly(draw, st.integers(1, 3), st.integers(0, 5)) for _ in range(spatial)]
    x_shape = _mostly(draw, st.just([n, c_in] + sizes), st.lists(st.integers(0, 3), max_size=5))
    w_channels = [c_in, c_out][::-1] if not transposed else [c_in, c_out]
    w_shape = _mostly(draw, st.just(w_channels + kernel), st.lists(st.integers(0, 3), max_size=5))
    b_shape = _mostly(draw, st.sampled_from([None, [c_out]]), st.lists(st.integers(0, 4), max_size=2))
    number = st.one_of(st.integers(1, 3), st.tuples(st.integers(1, 3), st.integers(1, 3))) if spatial == 2 \
        else st.integers(1, 3)
    broken = st.sampled_from([0, -1, (1, 0), 1.5, "2", (1, 2, 3), None, True])
    stride, dilation = _mostly(draw, number, broken), _mostly(draw, number, broken)
    padding = _mostly(draw, st.one_of(number, st.just(0), st.sampled_from(["valid", "same", "full"])),
                      st.sampled_from([-1, (0, -1), "half", None, 2.0]))
    b = None if b_shape is None else np.ones(b_shape)
    return np.ones(x_shape), np.ones(w_shape), b, stride, padding, dilation


def _pair(v):
    return (v, v) if isinstance(v, int) else v


@settings(max_examples=200)
@given(layer_arguments())
def test_conv2d_returns_the_documented_shape_or_raises_value_error(args):
    x, w, b, stride, padding, dilation = args
    try:
        out, cache = conv2d_forward(x, w, b, stride, padding, dilation)
    except ValueError:
        return
    # The arguments were valid, so the output has the documented shape ...
    s, d = _pair(stride), _pair(dilation)
    p = padding if isinstance(padding, str) else _pair(padding)
    size = tuple(conv_output_size(x.shape[2 + i], w.shape[2 + i], s[i], p if isinstance(p, str) else p[i], d[i])
                 for i in range(2))
    assert out.shape == (x.shape[0], w.shape[0]) + size
    # ... conv2d, which keeps nothing and goes its own way, gives the same ...
    np.testing.assert_array_equal(conv2d(x, w, b, stride, padding, dilation), out)
    # ... and the gradients have the shapes of what they differentiate.
    dx, dw, db = conv2d_backward(np.ones(out.shape), cache)
    assert dx.shape == x.shape and dw.shape == w.shape
    assert (db is None) == (b is None)


@settings(max_examples=200)
@given(layer_arguments(transposed=True), st.one_of(st.integers(-1, 2), st.tuples(st.integers(0, 2), st.integers(0, 2))))
def test_conv_transpose2d_returns_the_documented_shape_or_raises_value_error(args, output_padding):
    x, w, b, stride, padding, dilation = args
    try:
        out, cache = conv_transpose2d_forward(x, w, b, stride, padding, output_padding, dilation=dilation)
    except ValueError:
        return
    s, p, a, d = _pair(stride), _pair(padding), _pair(output_padding), _pair(dilation)
    size = tuple((x.shape[2 + i] - 1) * s[i] - 2 * p[i] + d[i] * (w.shape[2 + i] - 1) + a[i] + 1 for i in range(2))
    assert out.shape == (x.shape[0], w.shape[1]) + size
    np.testing.assert_array_equal(conv_transpose2d(x, w, b, stride, padding, output_padding, dilation=dilation), out)
    dx, dw, db = conv_transpose2d_backward(np.ones(out.shape), cache)
    assert dx.shape == x.shape and dw.shape == w.shape


@settings(max_examples=200)
@given(layer_arguments(spatial=1))
def test_conv1d_returns_the_documented_shape_or_raises_value_error(args):
    x, w, b, stride, padding, dilation = args
    try:
        out = conv1d(x, w, b, stride, padding, dilation)
    except ValueError:
        return
    assert out.shape == (x.shape[0], w.shape[0], conv_output_size(x.shape[2], w.shape[2], stride, padding, dilation))


BAD_CALLS = {
    "conv2d": lambda: cnnlib.conv2d(np.ones((3, 3, 3)), np.ones((1, 3, 2, 2))),
    "conv2d_forward": lambda: cnnlib.conv2d_forward(np.ones((1, 3, 3, 3)), np.ones((1, 3, 2, 2)), stride=0),
    "conv1d": lambda: cnnlib.conv1d(np.ones((1, 1, 3)), np.ones((1, 1, 5))),
    "conv_transpose2d": lambda: cnnlib.conv_transpose2d(np.ones((1, 2, 3, 3)), np.ones((1, 2, 2, 2))),
    "correlate2d": lambda: cnnlib.correlate2d(np.ones((2, 2)), np.ones((3, 3))),
    "convolve2d": lambda: cnnlib.convolve2d(np.ones((2, 2)), np.ones((2, 2)), mode="middle"),
    "conv2d_matrix": lambda: cnnlib.conv2d_matrix(np.ones((1, 1, 3, 3)), 2),
    "max_pool2d": lambda: cnnlib.max_pool2d(np.ones((1, 1, 2, 2)), 3),
    "avg_pool2d": lambda: cnnlib.avg_pool2d(np.ones((1, 1, 4, 4)), 2, padding=5),
    "global_avg_pool2d": lambda: cnnlib.global_avg_pool2d(np.ones((4, 4))),
    "conv_output_size": lambda: cnnlib.conv_output_size(2, 5),
}


@pytest.mark.parametrize("name", BAD_CALLS)
def test_every_error_message_starts_with_the_function_called(name):
    with pytest.raises(ValueError, match=rf"^{name}: "):
        BAD_CALLS[name]()
