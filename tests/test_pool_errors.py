"""Bad input to the pooling functions raises ValueError naming the argument and the values."""
import numpy as np
import pytest

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
    global_avg_pool2d,
    global_max_pool2d,
    lp_pool2d,
    lp_pool2d_backward,
    lp_pool2d_forward,
    max_pool2d,
    max_pool2d_backward,
    max_pool2d_forward,
)

X = np.zeros((2, 3, 6, 5))

# Every function, called with x and otherwise valid arguments.
ALL_POOLS = {
    "max_pool2d": lambda x: max_pool2d(x, 2),
    "avg_pool2d": lambda x: avg_pool2d(x, 2),
    "lp_pool2d": lambda x: lp_pool2d(x, 2, 2),
    "adaptive_avg_pool2d": lambda x: adaptive_avg_pool2d(x, 2),
    "adaptive_max_pool2d": lambda x: adaptive_max_pool2d(x, 2),
    "global_avg_pool2d": global_avg_pool2d,
    "global_max_pool2d": global_max_pool2d,
}
# The sliding-window pools, as f(x, kernel_size, stride, padding).
WINDOW_POOLS = {
    "max_pool2d": max_pool2d,
    "avg_pool2d": avg_pool2d,
    "avg_pool2d-exclude_pad": lambda x, k, s=None, p=0: avg_pool2d(x, k, s, p, count_include_pad=False),
}
# For lp_pool2d, which has no padding, only the kernel and stride cases apply.
KERNEL_STRIDE_POOLS = dict(WINDOW_POOLS, lp_pool2d=lambda x, k, s=None: lp_pool2d(x, 2, k, s))


@pytest.mark.parametrize("shape", [(6, 5), (3, 6, 5), (1, 2, 3, 6, 5)], ids=["2d", "3d", "5d"])
@pytest.mark.parametrize("fn", ALL_POOLS.values(), ids=ALL_POOLS.keys())
def test_x_must_be_4d(fn, shape):
    with pytest.raises(ValueError, match=r"x must be 4-D with shape \(N, C, H, W\), got .*" + str(shape)):
        fn(np.zeros(shape))


@pytest.mark.parametrize("shape", [(1, 1, 0, 4), (1, 1, 4, 0)])
@pytest.mark.parametrize("fn", ALL_POOLS.values(), ids=ALL_POOLS.keys())
def test_x_must_have_pixels(fn, shape):
    with pytest.raises(ValueError, match=r"x must have a non-empty height and width"):
        fn(np.zeros(shape))


@pytest.mark.parametrize("x", [np.full((1, 1, 4, 4), "a"), np.zeros((1, 1, 4, 4), complex),
                               np.full((1, 1, 4, 4), None, dtype=object)], ids=["str", "complex", "object"])
@pytest.mark.parametrize("fn", ALL_POOLS.values(), ids=ALL_POOLS.keys())
def test_x_must_hold_real_numbers(fn, x):
    with pytest.raises(ValueError, match=r"x must hold real numbers, got dtype"):
        fn(x)


@pytest.mark.parametrize("fn", KERNEL_STRIDE_POOLS.values(), ids=KERNEL_STRIDE_POOLS.keys())
def test_kernel_larger_than_input(fn):
    with pytest.raises(ValueError, match=r"kernel_size=\(7, 2\) is larger than the padded input: "
                                         r"x has shape \(2, 3, 6, 5\)"):
        fn(X, (7, 2))


@pytest.mark.parametrize("fn", WINDOW_POOLS.values(), ids=WINDOW_POOLS.keys())
def test_kernel_larger_than_padded_input(fn):
    # 5 + 2*1 = 7 columns are not enough for a kernel of width 8... but padding 1 <= 8/2 is fine
    with pytest.raises(ValueError, match=r"kernel_size=\(2, 8\) is larger than the padded input.*padding=\(1, 1\)"):
        fn(X, (2, 8), 1, 1)


@pytest.mark.parametrize("kernel_size", [0, (2, 0), -1])
@pytest.mark.parametrize("fn", KERNEL_STRIDE_POOLS.values(), ids=KERNEL_STRIDE_POOLS.keys())
def test_kernel_size_must_be_positive(fn, kernel_size):
    with pytest.raises(ValueError, match=r"kernel_size must be >= 1, got " + str(kernel_size).replace("(", r"\(")
                       .replace(")", r"\)")):
        fn(X, kernel_size)


@pytest.mark.parametrize("kernel_size", [(2, 2, 2), "2", 2.0, (2.0, 2), None])
@pytest.mark.parametrize("fn", KERNEL_STRIDE_POOLS.values(), ids=KERNEL_STRIDE_POOLS.keys())
def test_kernel_size_must_be_ints(fn, kernel_size):
    with pytest.raises(ValueError, match=r"kernel_size must be an int or a tuple of 2 ints"):
        fn(X, kernel_size)


@pytest.mark.parametrize("stride", [0, (1, 0), -2])
@pytest.mark.parametrize("fn", KERNEL_STRIDE_POOLS.values(), ids=KERNEL_STRIDE_POOLS.keys())
def test_stride_must_be_positive(fn, stride):
    with pytest.raises(ValueError, match=r"stride must be >= 1, got"):
        fn(X, 2, stride)


@pytest.mark.parametrize("padding", [-1, (0, -1)])
@pytest.mark.parametrize("fn", WINDOW_POOLS.values(), ids=WINDOW_POOLS.keys())
def test_padding_must_not_be_negative(fn, padding):
    with pytest.raises(ValueError, match=r"padding must be >= 0, got"):
        fn(X, 2, 1, padding)


@pytest.mark.parametrize("kernel_size, padding", [(3, 2), ((2, 4), (1, 3)), (1, 1)])
@pytest.mark.parametrize("fn", WINDOW_POOLS.values(), ids=WINDOW_POOLS.keys())
def test_padding_must_be_at_most_half_the_kernel(fn, kernel_size, padding):
    with pytest.raises(ValueError, match=r"padding must be at most half of kernel_size, got padding=\(\d, \d\) "
                                         r"and kernel_size=\(\d, \d\)"):
        fn(X, kernel_size, 1, padding)


def test_padding_of_exactly_half_the_kernel_is_allowed():
    assert max_pool2d(X, 2, 1, 1).shape == (2, 3, 7, 6)
    assert avg_pool2d(X, (4, 2), 1, (2, 1)).shape == (2, 3, 7, 6)


@pytest.mark.parametrize("norm_type", [0, -1, -2.5, -np.inf, np.nan, "2", None, True])
def test_norm_type_must_be_a_positive_number(norm_type):
    with pytest.raises(ValueError, match=r"norm_type must be a positive number, got"):
        lp_pool2d(X, norm_type, 2)


@pytest.mark.parametrize("output_size", [0, -1, (0, 2), (2, -3), (None, 0)])
@pytest.mark.parametrize("fn", [adaptive_avg_pool2d, adaptive_max_pool2d], ids=["avg", "max"])
def test_output_size_must_be_positive(fn, output_size):
    with pytest.raises(ValueError, match=r"output_size must be >= 1, got"):
        fn(X, output_size)


@pytest.mark.parametrize("output_size", [(2, 2, 2), (2,), "3", 2.5, None, (None, 2.0)])
@pytest.mark.parametrize("fn", [adaptive_avg_pool2d, adaptive_max_pool2d], ids=["avg", "max"])
def test_output_size_must_be_ints(fn, output_size):
    with pytest.raises(ValueError, match=r"output_size must be an int or a tuple of 2 ints"):
        fn(X, output_size)


FORWARD_BACKWARD = {
    "max_pool2d": (lambda x: max_pool2d_forward(x, 2), max_pool2d_backward),
    "avg_pool2d": (lambda x: avg_pool2d_forward(x, 3, 1, 1), avg_pool2d_backward),
    "lp_pool2d": (lambda x: lp_pool2d_forward(x, 2, 2), lp_pool2d_backward),
    "lp_pool2d-inf": (lambda x: lp_pool2d_forward(x, np.inf, 2), lp_pool2d_backward),
    "adaptive_avg_pool2d": (lambda x: adaptive_avg_pool2d_forward(x, 4), adaptive_avg_pool2d_backward),
    "adaptive_max_pool2d": (lambda x: adaptive_max_pool2d_forward(x, 4), adaptive_max_pool2d_backward),
}


@pytest.mark.parametrize("change", [(0, 1), (1, 1), (2, 1), (3, -1)], ids=["N+1", "C+1", "H+1", "W-1"])
@pytest.mark.parametrize("forward, backward", FORWARD_BACKWARD.values(), ids=FORWARD_BACKWARD.keys())
def test_grad_out_must_have_the_output_shape(forward, backward, change):
    out, cache = forward(X)
    shape = list(out.shape)
    shape[change[0]] += change[1]
    with pytest.raises(ValueError, match=r"grad_out must have the forward output's shape "
                                         + str(out.shape).replace("(", r"\(").replace(")", r"\)")
                                         + r", got shape " + str(tuple(shape)).replace("(", r"\(").replace(")", r"\)")):
        backward(np.zeros(shape), cache)


@pytest.mark.parametrize("forward, backward", FORWARD_BACKWARD.values(), ids=FORWARD_BACKWARD.keys())
def test_grad_out_must_have_the_output_ndim(forward, backward):
    out, cache = forward(X)
    with pytest.raises(ValueError, match=r"grad_out must have the forward output's shape"):
        backward(np.zeros(out.shape[1:]), cache)


@pytest.mark.parametrize("forward, backward", FORWARD_BACKWARD.values(), ids=FORWARD_BACKWARD.keys())
def test_grad_out_must_hold_real_numbers(forward, backward):
    out, cache = forward(X)
    with pytest.raises(ValueError, match=r"grad_out must hold real numbers"):
        backward(np.full(out.shape, "g"), cache)


@pytest.mark.parametrize("forward, backward", FORWARD_BACKWARD.values(), ids=FORWARD_BACKWARD.keys())
def test_cache_must_come_from_the_matching_forward(forward, backward):
    out, _ = forward(X)
    _, other_cache = (max_pool2d_forward if backward is not max_pool2d_backward else avg_pool2d_forward)(X, 2)
    with pytest.raises(ValueError, match=r"_backward: cache must be the second result of \w+_forward"):
        backward(np.zeros(out.shape), other_cache)
    with pytest.raises(ValueError, match=r"cache must be the second result"):
        backward(np.zeros(out.shape), (X, out))
