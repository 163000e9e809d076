"""Fully connected layers as convolutions (cnnlib.convert)."""
import numpy as np
import pytest

from cnnlib import nn
from cnnlib.convert import fc_to_conv, to_fully_convolutional
from cnnlib.nn import AvgPool2d, Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential


@pytest.fixture(autouse=True)
def _seed():
    nn.manual_seed(3)


def valid_cnn():
    """A classifier of 12x12 images without padding, so that crops and the large map agree."""
    return Sequential(
        Conv2d(1, 4, 3), ReLU(), MaxPool2d(2),   # 12 -> 10 -> 5
        Conv2d(4, 6, 2), ReLU(), MaxPool2d(2),   # 5 -> 4 -> 2
        Flatten(), Linear(6 * 2 * 2, 16), ReLU(), Linear(16, 5))


def test_fc_to_conv_reshapes_each_row_into_a_kernel(rng):
    linear = Linear(3 * 4 * 2, 7)
    linear.bias = rng.standard_normal(7)
    conv = fc_to_conv(linear, (3, 4, 2))
    assert isinstance(conv, Conv2d) and conv.weight.shape == (7, 3, 4, 2)
    np.testing.assert_array_equal(conv.weight[2], linear.weight[2].reshape(3, 4, 2))
    x = rng.standard_normal((5, 3, 4, 2)).astype(np.float32)
    out = conv(x)
    assert out.shape == (5, 7, 1, 1) and out.dtype == np.float32
    np.testing.assert_allclose(out[:, :, 0, 0], linear(x.reshape(5, -1)), rtol=1e-5, atol=1e-6)
    assert fc_to_conv(Linear(4, 2, bias=False), (4, 1, 1)).bias is None


def test_fc_to_conv_rejects_a_mismatched_shape():
    with pytest.raises(ValueError, match=r"in_features=128.*\(32, 3, 3\).*C\*H\*W = 288"):
        fc_to_conv(Linear(128, 10), (32, 3, 3))
    with pytest.raises(ValueError, match="needs a Linear"):
        fc_to_conv(Conv2d(1, 1, 1), (1, 1, 1))


def test_fully_convolutional_matches_at_the_training_size(rng):
    model = valid_cnn()
    fcn = to_fully_convolutional(model, (1, 12, 12))
    assert not any(isinstance(layer, (Flatten, Linear)) for layer in fcn)
    assert fcn[6].kernel_size == (2, 2) and fcn[8].kernel_size == (1, 1)
    x = rng.standard_normal((4, 1, 12, 12)).astype(np.float32)
    out = fcn(x)
    assert out.shape == (4, 5, 1, 1)
    np.testing.assert_allclose(out[:, :, 0, 0], model(x), rtol=1e-5, atol=1e-5)
    fcn[0].weight = np.zeros((4, 1, 3, 3))
    assert model[0].weight.any(), "the conversion copies; the original is unchanged"


def test_fully_convolutional_on_a_larger_image_scores_every_crop(rng):
    model = valid_cnn()
    fcn = to_fully_convolutional(model, (1, 12, 12))
    big = rng.standard_normal((2, 1, 20, 24)).astype(np.float32)
    scores = fcn(big)
    stride = 4  # two 2x2 poolings
    assert scores.shape == (2, 5, (20 - 12) // stride + 1, (24 - 12) // stride + 1)
    for i in range(scores.shape[2]):
        for j in range(scores.shape[3]):
            crop = big[:, :, i * stride:i * stride + 12, j * stride:j * stride + 12]
            np.testing.assert_allclose(scores[:, :, i, j], model(crop), rtol=1e-5, atol=1e-5,
                                       err_msg=f"crop at ({i}, {j})")


def test_padding_breaks_the_crop_equivalence(rng):
    """With padded convolutions a crop's border sees zeros, the large image real pixels."""
    model = Sequential(Conv2d(1, 3, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(3 * 4 * 4, 2))
    fcn = to_fully_convolutional(model, (1, 8, 8))
    big = rng.standard_normal((1, 1, 16, 16)).astype(np.float32)
    np.testing.assert_allclose(fcn(big[:, :, :8, :8])[:, :, 0, 0], model(big[:, :, :8, :8]), rtol=1e-5, atol=1e-6)
    assert not np.allclose(fcn(big)[:, :, 0, 0], model(big[:, :, :8, :8]), rtol=1e-3)


@pytest.mark.parametrize("model, pattern", [
    (Sequential(Conv2d(1, 2, 3), Linear(2, 2)), "exactly one Flatten"),
    (Sequential(Conv2d(1, 2, 3), Flatten(), Linear(2 * 6 * 6, 4), AvgPool2d(1)), "only Linear and ReLU"),
    (Sequential(Conv2d(1, 2, 3), Flatten(), Linear(10, 4)), r"in_features=10.*C\*H\*W = 72"),
    (Linear(3, 2), "Sequential"),
])
def test_to_fully_convolutional_rejects_unsupported_models(model, pattern):
    with pytest.raises(ValueError, match=pattern):
        to_fully_convolutional(model, (1, 8, 8))
