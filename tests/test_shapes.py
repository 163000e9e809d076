"""Output sizes and receptive fields: hand examples, the relationships of Dumoulin & Visin's
"A guide to convolution arithmetic for deep learning", and the shapes conv2d really returns."""
import itertools

import numpy as np
import pytest

from cnnlib import (
    conv2d,
    conv2d_backward,
    conv2d_forward,
    conv_output_size,
    conv_transpose2d,
    conv_transpose_output_size,
    receptive_field,
)

# A small grid of (input size, kernel size, stride, padding, dilation).
GRID = [
    (i, k, s, p, d)
    for i, k, s, p, d in itertools.product(range(1, 9), (1, 2, 3, 4), (1, 2, 3), (0, 1, 2), (1, 2))
    if i + 2 * p >= d * (k - 1) + 1
]


# -- hand examples --------------------------------------------------------------------

def test_hand_examples():
    assert conv_output_size(8, 3) == 6  # 8 inputs, kernel 3: 6 positions
    assert conv_output_size(5, 3, stride=2, padding=1) == 3
    assert conv_output_size(3, 3, stride=2, padding=1) == 2  # the same layer again
    assert conv_output_size(28, 5) == 24
    assert conv_output_size(32, 3, padding=1) == 32
    assert conv_output_size(7, 3, dilation=2) == 3
    assert conv_transpose_output_size(3, 3, stride=2, padding=1, output_padding=1) == 6
    assert conv_transpose_output_size(2, 2, stride=2) == 4


def test_stacked_3x3_receptive_fields():
    assert receptive_field([(3, 1), (3, 1)]) == 5
    assert receptive_field([(3, 1), (3, 1), (3, 1)]) == 7
    assert receptive_field([(3, 1)] * 3, per_layer=True) == [3, 5, 7]
    assert receptive_field([]) == 1


def test_receptive_field_with_strides_and_dilation():
    # conv 3 stride 2, then conv 3: the second layer's taps are 2 input pixels apart.
    assert receptive_field([(3, 2), (3, 1)]) == 3 + 2 * 2
    assert receptive_field([(2, 2), (2, 2), (2, 2)]) == 8  # three 2x2 poolings see 8x8
    assert receptive_field([(3, 1, 2)]) == 5  # dilation 2: effective kernel 5
    assert receptive_field([(3, 1, 1), (3, 1, 2), (3, 1, 4)]) == 15  # WaveNet-style doubling


@pytest.mark.parametrize("k", [1, 3, 5, 7])
@pytest.mark.parametrize("n", [7, 8, 12])
def test_padding_regimes_for_odd_kernels(n, k):
    assert conv_output_size(n, k, padding="valid") == n - k + 1
    assert conv_output_size(n, k, padding="same") == n
    assert conv_output_size(n, k, padding="full") == n + k - 1
    assert conv_output_size(n, k, padding=k // 2) == n  # "half" padding


def test_same_padding_with_even_kernel_and_dilation():
    assert conv_output_size(9, 4, padding="same") == 9
    assert conv_output_size(9, 4, padding="same", dilation=3) == 9


# -- Dumoulin & Visin's relationships -------------------------------------------------

@pytest.mark.parametrize("i", range(3, 12))
@pytest.mark.parametrize("k", [1, 2, 3])
def test_relationships_unit_stride(i, k):
    assert conv_output_size(i, k) == i - k + 1  # no padding (relationship 1)
    for p in range(4):
        assert conv_output_size(i, k, padding=p) == i - k + 2 * p + 1  # relationship 2
    if k % 2:
        assert conv_output_size(i, k, padding=k // 2) == i  # half padding (relationship 3)
    assert conv_output_size(i, k, padding=k - 1) == i + k - 1  # full padding (relationship 4)


def test_relationship_with_strides_and_dilation():
    for i, k, s, p, d in GRID:
        k_hat = k + (k - 1) * (d - 1)  # the effective size of a dilated kernel
        expected = (i + 2 * p - k_hat) // s + 1
        assert conv_output_size(i, k, s, p, d) == expected, (i, k, s, p, d)
        assert conv_output_size(i, k_hat, s, p) == expected, (i, k, s, p, d)


def test_transposed_size_recovers_input():
    for i, k, s, p, d in GRID:
        k_hat = k + (k - 1) * (d - 1)
        o = conv_output_size(i, k, s, p, d)
        a = (i + 2 * p - k_hat) % s  # the inputs the direct convolution ignores at the end
        assert conv_transpose_output_size(o, k, s, p, a, d) == i, (i, k, s, p, d)
        # Without output padding, o' = s(o - 1) + k_hat - 2p (relationship 12 of the guide).
        if s * (o - 1) + k_hat - 2 * p >= 1:
            assert conv_transpose_output_size(o, k, s, p, 0, d) == s * (o - 1) + k_hat - 2 * p


# -- agreement with the shapes the layers produce -------------------------------------

SHAPE_GRID = [
    ((h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw))
    for (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) in [
        ((5, 7), (3, 2), (1, 2), (0, 1), (1, 1)),
        ((8, 8), (3, 3), (2, 2), (1, 1), (1, 1)),
        ((9, 6), (2, 3), (3, 1), (2, 0), (2, 1)),
        ((7, 7), (5, 5), (1, 1), (2, 2), (1, 1)),
        ((6, 10), (3, 3), (2, 3), (0, 2), (2, 3)),
        ((4, 4), (1, 1), (3, 3), (0, 0), (1, 1)),
        ((12, 5), (4, 2), (4, 2), (3, 1), (1, 2)),
    ]
]


@pytest.mark.parametrize("size, kernel, stride, padding, dilation", SHAPE_GRID, ids=str)
def test_conv2d_and_transposed_shapes_agree_with_formulas(size, kernel, stride, padding, dilation):
    x = np.zeros((2, 3) + size)
    w = np.zeros((4, 3) + kernel)
    y = conv2d(x, w, stride=stride, padding=padding, dilation=dilation)
    expected = tuple(conv_output_size(*a) for a in zip(size, kernel, stride, padding, dilation))
    assert y.shape == (2, 4) + expected
    # The transposed convolution with the same parameters maps y back to x's size.
    output_padding = tuple(
        (n + 2 * p - d * (k - 1) - 1) % s for n, k, s, p, d in zip(size, kernel, stride, padding, dilation)
    )
    wt = np.zeros((4, 3) + kernel)
    if all(a < max(s, d) for a, s, d in zip(output_padding, stride, dilation)):
        x_back = conv_transpose2d(y, wt, stride=stride, padding=padding,
                                  output_padding=output_padding, dilation=dilation)
        assert x_back.shape == x.shape
        assert x_back.shape[2:] == tuple(
            conv_transpose_output_size(*a)
            for a in zip(expected, kernel, stride, padding, output_padding, dilation)
        )


@pytest.mark.parametrize("padding", ["valid", "same", "full"])
@pytest.mark.parametrize("k, d", [(1, 1), (3, 1), (4, 1), (3, 2), (2, 3)])
def test_padding_strings_agree_with_conv2d(padding, k, d):
    x = np.zeros((1, 1, 9, 8))
    w = np.zeros((1, 1, k, k))
    y = conv2d(x, w, padding=padding, dilation=d)
    assert y.shape[2:] == (conv_output_size(9, k, padding=padding, dilation=d),
                           conv_output_size(8, k, padding=padding, dilation=d))


@pytest.mark.parametrize("layers", [
    [(3, 1)],
    [(3, 1), (3, 1), (3, 1)],
    [(3, 2), (3, 1)],
    [(5, 2), (3, 2), (3, 1)],
    [(3, 1, 2), (3, 1, 4)],
    [(2, 2), (3, 1, 2)],
])
def test_receptive_field_agrees_with_the_gradient_of_a_conv_stack(layers):
    # The input pixels that influence one output unit are where its gradient is non-zero
    # (with all-ones weights and inputs nothing cancels).
    r = receptive_field(layers)
    x = np.ones((1, 1, r + 6, r + 6))
    caches, a = [], x
    for k, s, *d in layers:
        a, cache = conv2d_forward(a, np.ones((1, 1, k, k)), stride=s, dilation=d[0] if d else 1)
        caches.append(cache)
    g = np.zeros(a.shape)
    g[0, 0, 0, 0] = 1.0
    for cache in reversed(caches):
        g, _, _ = conv2d_backward(g, cache)
    rows, cols = np.nonzero(g[0, 0])
    assert rows.max() - rows.min() + 1 == r
    assert cols.max() - cols.min() + 1 == r


# -- bad arguments ----------------------------------------------------------------------

@pytest.mark.parametrize("args, kwargs, match", [
    ((2, 3), {}, "larger than the padded input"),
    ((5, 3), {"dilation": 3}, "larger than the padded input"),
    ((5, 0), {}, "kernel_size must be an int >= 1"),
    ((5, 3), {"stride": 0}, "stride must be an int >= 1"),
    ((5, 3), {"dilation": 0}, "dilation must be an int >= 1"),
    ((5, 3), {"padding": -1}, "padding must be an int >= 0"),
    ((5, 3), {"padding": "half"}, "padding must be an int or one of"),
    ((5, 3), {"padding": "same", "stride": 2}, "needs stride 1"),
    ((-1, 3), {}, "n must be an int >= 0"),
    ((5.0, 3), {}, "n must be an int"),
    ((5, 3), {"stride": 1.5}, "stride must be an int"),
    ((True, 1), {}, "n must be an int"),
])
def test_conv_output_size_rejects_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv_output_size(*args, **kwargs)


@pytest.mark.parametrize("args, kwargs, match", [
    ((3, 3), {"stride": 2, "output_padding": 2}, "output_padding must be smaller than stride or dilation"),
    ((3, 3), {"output_padding": 1}, "output_padding must be smaller"),
    ((1, 1), {"padding": 1}, "too large"),
    ((0, 3), {}, "n must be an int >= 1"),
    ((3, 3), {"padding": -1}, "padding must be an int >= 0"),
    ((3, 0), {}, "kernel_size must be an int >= 1"),
    ((3, 3), {"stride": 0}, "stride must be an int >= 1"),
])
def test_conv_transpose_output_size_rejects_bad_arguments(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        conv_transpose_output_size(*args, **kwargs)


def test_output_padding_smaller_than_dilation_is_allowed():
    assert conv_transpose_output_size(3, 3, stride=1, output_padding=1, dilation=2) == 8


@pytest.mark.parametrize("layers, match", [
    ([3], r"layers\[0\] must be \(kernel_size, stride\)"),
    ([(3, 1), (3,)], r"layers\[1\] must be"),
    ([(3, 1, 1, 1)], "too many entries"),
    ([(0, 1)], r"layers\[0\] kernel_size must be an int >= 1"),
    ([(3, 0)], r"layers\[0\] stride must be an int >= 1"),
    ([(3, 1, 0)], r"layers\[0\] dilation must be an int >= 1"),
])
def test_receptive_field_rejects_bad_layers(layers, match):
    with pytest.raises(ValueError, match=match):
        receptive_field(layers)
