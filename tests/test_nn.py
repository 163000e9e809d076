"""Layers (cnnlib.nn) and the gradient checker (cnnlib.gradcheck)."""
import copy

import numpy as np
import pytest
from oracle import Oracle

import cnnlib
from cnnlib import gradcheck as gc
from cnnlib import nn
from cnnlib.nn import (
    AdaptiveAvgPool2d, AdaptiveMaxPool2d, AvgPool2d, Conv2d, ConvTranspose2d, Flatten,
    GlobalAvgPool2d, Linear, MaxPool2d, ReLU, Residual, Sequential,
)


def residual_block(c):
    return Residual(Sequential(Conv2d(c, c, 3, padding=1), ReLU(), Conv2d(c, c, 3, padding=1)))


# (layer factory, input shape): every layer the library has, in several configurations.
LAYERS = {
    "conv": (lambda: Conv2d(3, 4, 3, padding=1), (2, 3, 6, 5)),
    "conv_stride_rect": (lambda: Conv2d(3, 2, (3, 2), stride=(2, 1)), (2, 3, 7, 6)),
    "conv_dilated_same": (lambda: Conv2d(2, 3, 3, padding="same", dilation=2), (2, 2, 7, 7)),
    "conv_nobias": (lambda: Conv2d(2, 3, 1, bias=False), (3, 2, 4, 4)),
    "conv_transpose": (lambda: ConvTranspose2d(3, 2, 3, stride=2, padding=1, output_padding=1), (2, 3, 4, 3)),
    "conv_transpose_dilated": (lambda: ConvTranspose2d(2, 3, 2, dilation=2, bias=False), (2, 2, 3, 3)),
    "maxpool": (lambda: MaxPool2d(2), (2, 3, 6, 6)),
    "maxpool_overlap": (lambda: MaxPool2d(3, stride=2, padding=1), (2, 2, 7, 6)),
    "avgpool": (lambda: AvgPool2d(2, stride=1), (2, 2, 5, 5)),
    "avgpool_pad_exclude": (lambda: AvgPool2d(3, stride=2, padding=1, count_include_pad=False), (2, 2, 6, 5)),
    "adaptive_avg": (lambda: AdaptiveAvgPool2d((3, 2)), (2, 2, 7, 5)),
    "adaptive_max": (lambda: AdaptiveMaxPool2d(2), (2, 2, 5, 6)),
    "global_avg": (lambda: GlobalAvgPool2d(), (3, 4, 3, 5)),
    "relu": (lambda: ReLU(), (2, 3, 4, 4)),
    "flatten": (lambda: Flatten(), (2, 3, 2, 2)),
    "linear": (lambda: Linear(6, 4), (5, 6)),
    "linear_nobias": (lambda: Linear(6, 4, bias=False), (5, 6)),
    "residual": (lambda: residual_block(2), (2, 2, 5, 5)),
    "sequential": (lambda: Sequential(Conv2d(2, 3, 3), ReLU(), MaxPool2d(2), Flatten(), Linear(12, 3)),
                   (2, 2, 6, 6)),
}


@pytest.fixture(autouse=True)
def _seed():
    nn.manual_seed(0)


def make(name, rng):
    factory, shape = LAYERS[name]
    return factory(), rng.standard_normal(shape)


# --------------------------------------------------------------------- shapes and dtypes

@pytest.mark.parametrize("layer, x_shape, out_shape", [
    (Conv2d(1, 16, 3, padding=1), (4, 1, 8, 8), (4, 16, 8, 8)),
    (Conv2d(3, 8, 5, stride=2), (2, 3, 13, 13), (2, 8, 5, 5)),
    (ConvTranspose2d(4, 2, 3, stride=2, padding=1, output_padding=1), (1, 4, 3, 3), (1, 2, 6, 6)),
    (MaxPool2d(2), (2, 3, 7, 8), (2, 3, 3, 4)),
    (AvgPool2d(3, stride=2, padding=1), (2, 3, 7, 7), (2, 3, 4, 4)),
    (AdaptiveAvgPool2d(1), (2, 5, 7, 3), (2, 5, 1, 1)),
    (GlobalAvgPool2d(), (2, 5, 7, 3), (2, 5)),
    (Flatten(), (2, 3, 4, 5), (2, 60)),
    (Linear(60, 10), (2, 60), (2, 10)),
])
def test_output_shapes_and_float32_kept(layer, x_shape, out_shape):
    x = np.ones(x_shape, dtype=np.float32)
    out = layer(x)
    assert out.shape == out_shape
    assert out.dtype == np.float32
    assert layer.backward(np.ones_like(out)).dtype == np.float32


def test_weight_shapes_follow_pytorch():
    assert Conv2d(3, 16, 5).weight.shape == (16, 3, 5, 5)
    assert Conv2d(3, 16, 5).bias.shape == (16,)
    assert ConvTranspose2d(3, 16, (2, 4)).weight.shape == (3, 16, 2, 4)
    assert Linear(128, 10).weight.shape == (10, 128)
    assert Conv2d(3, 16, 5, bias=False).bias is None
    assert set(Linear(4, 2).params) == {"weight", "bias"}
    assert set(Linear(4, 2).grads) == {"weight", "bias"}


def test_he_and_glorot_scales():
    he = Conv2d(64, 128, 3, rng=0).weight
    glorot = Conv2d(64, 128, 3, init="glorot", rng=0).weight
    assert he.dtype == np.float32
    assert he.std() == pytest.approx(np.sqrt(2 / (64 * 9)), rel=0.02)
    assert glorot.std() == pytest.approx(np.sqrt(2 / (64 * 9 + 128 * 9)), rel=0.02)
    assert abs(he.mean()) < 0.01 * he.std() * 10
    assert np.all(Conv2d(64, 128, 3).bias == 0)
    with pytest.raises(ValueError, match="init"):
        Linear(3, 2, init="uniform")


def test_initialisation_is_reproducible():
    nn.manual_seed(7)
    a = [Conv2d(3, 3, 3).weight.copy(), Conv2d(3, 3, 3).weight.copy()]
    nn.manual_seed(7)
    b = [Conv2d(3, 3, 3).weight.copy(), Conv2d(3, 3, 3).weight.copy()]
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], a[1]), "two layers of one shape must not start equal"
    np.testing.assert_array_equal(Linear(5, 3, rng=1).weight, Linear(5, 3, rng=np.random.default_rng(1)).weight)


def test_dtype_float64_layers_and_to():
    layer = Conv2d(2, 3, 3, dtype=np.float64)
    assert layer.weight.dtype == np.float64
    model = Sequential(Conv2d(1, 2, 3), Flatten(), Linear(8, 2)).to(np.float64)
    assert all(p.dtype == np.float64 and g.dtype == np.float64 for p, g in model.parameters())
    assert model(np.zeros((1, 1, 4, 4))).dtype == np.float64


# --------------------------------------------------------------------- parameters, modes

def test_sequential_params_names_indexing_and_modes():
    model = Sequential(Conv2d(1, 2, 3), ReLU(), Residual(Sequential(Conv2d(2, 2, 1))), Flatten(),
                       Linear(8, 3))
    assert list(model.params) == ["0.weight", "0.bias", "2.body.0.weight", "2.body.0.bias",
                                  "4.weight", "4.bias"]
    assert model.params["4.weight"] is model[4].weight
    assert model.grads["0.weight"] is model[0].grads["weight"]
    assert model.num_parameters() == 2 * 9 + 2 + 2 * 2 + 2 + 8 * 3 + 3
    assert len(model) == 5 and isinstance(model[-1], Linear)
    assert isinstance(model[:2], Sequential) and len(model[:2]) == 2
    assert [type(m).__name__ for m in model] == ["Conv2d", "ReLU", "Residual", "Flatten", "Linear"]
    model.eval()
    assert not model.training and not model[2].body[0].training
    model.train()
    assert model[2].body[0].training
    assert "Residual" in repr(model) and "Linear(in_features=8" in repr(model)


def test_backward_accumulates_and_zero_grad_clears(rng):
    layer = Linear(4, 3)
    x, g = rng.standard_normal((5, 4)), rng.standard_normal((5, 3))
    layer(x)
    layer.backward(g)
    once = layer.grads["weight"].copy()
    np.testing.assert_allclose(once, g.T @ x, rtol=1e-5)
    layer.backward(g)
    np.testing.assert_allclose(layer.grads["weight"], 2 * once, rtol=1e-6)
    layer.zero_grad()
    assert not layer.grads["weight"].any() and not layer.grads["bias"].any()


def test_weight_assignment_copies_in_place_and_checks_shape():
    layer = Conv2d(1, 1, 3)
    w = layer.weight
    layer.weight = np.ones((1, 1, 3, 3))
    assert layer.weight is w and np.all(w == 1)
    with pytest.raises(ValueError, match=r"weight must have shape \(1, 1, 3, 3\)"):
        layer.weight = np.ones((3, 3))


# --------------------------------------------------------------------- clear errors

def test_conv_wrong_channels_names_layer_expected_and_actual():
    layer = Conv2d(3, 16, 3)
    with pytest.raises(ValueError) as err:
        layer(np.zeros((8, 1, 28, 28), dtype=np.float32))
    msg = str(err.value)
    assert "Conv2d(3, 16" in msg and "(N, 3, H, W)" in msg and "(8, 1, 28, 28)" in msg


@pytest.mark.parametrize("layer, x, pattern", [
    (Conv2d(1, 2, 3), np.zeros((1, 8, 8)), r"\(N, 1, H, W\).*\(1, 8, 8\)"),
    (ConvTranspose2d(2, 2, 3), np.zeros((1, 3, 4, 4)), r"ConvTranspose2d.*\(N, 2, H, W\)"),
    (Conv2d(1, 2, 5), np.zeros((1, 1, 3, 3)), r"Conv2d\(1, 2.*larger than the padded input"),
    (MaxPool2d(2), np.zeros((4, 4)), r"MaxPool2d.*\(N, C, H, W\)"),
    (MaxPool2d(4), np.zeros((1, 1, 2, 2)), r"MaxPool2d.*kernel_size"),
    (Linear(128, 10), np.zeros((2, 512)), r"Linear\(in_features=128.*\(N, 128\).*\(2, 512\)"),
    (Linear(128, 10), np.zeros((2, 32, 2, 2)), r"Flatten\(\) layer is missing"),
    (GlobalAvgPool2d(), np.zeros((2, 3)), r"GlobalAvgPool2d"),
    (Residual(Conv2d(2, 3, 1)), np.zeros((1, 2, 4, 4)), r"Residual.*same shape"),
    (Sequential(Flatten(), Linear(5, 2)), np.zeros((1, 1, 2, 2)), r"Sequential layer 1: Linear"),
    (Conv2d(1, 1, 3), np.array([["a"]]), r"real numbers"),
])
def test_bad_input_gives_value_error(layer, x, pattern):
    with pytest.raises(ValueError, match=pattern):
        layer(x)


@pytest.mark.parametrize("make, pattern", [
    (lambda: Conv2d(1, 2, 3, stride=2, padding="same"), "needs stride 1"),
    (lambda: Conv2d(1, 2, 3, padding="half"), "padding must be"),
    (lambda: Conv2d(0, 2, 3), "in_channels must be >= 1"),
    (lambda: Linear(4, 2.5), "out_features"),
    (lambda: MaxPool2d((2, 2, 2)), "kernel_size"),
    (lambda: Sequential(Conv2d(1, 1, 1), "relu"), "argument 1 is not a Module"),
])
def test_bad_layer_arguments_give_value_error(make, pattern):
    with pytest.raises(ValueError, match=pattern):
        make()


def test_backward_before_forward_and_wrong_grad_shape():
    layer = Conv2d(1, 2, 3)
    with pytest.raises(RuntimeError, match="backward.*before forward"):
        layer.backward(np.zeros((1, 2, 2, 2)))
    with pytest.raises(RuntimeError, match="before forward"):
        ReLU().backward(np.zeros(3))
    layer(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match=r"grad_out must have the shape.*\(1, 2, 2, 2\)"):
        layer.backward(np.zeros((1, 2, 3, 3)))


def test_summary_lists_shapes_and_parameters():
    model = Sequential(Conv2d(1, 16, 3, padding=1), ReLU(), MaxPool2d(2), Flatten(), Linear(256, 10))
    text = nn.summary(model, (1, 1, 8, 8))
    assert "(1, 16, 4, 4)" in text and "2,570" in text and f"{model.num_parameters():,}" in text


# --------------------------------------------------------------------- gradient checks

@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_gradients_match_central_differences(name, rng):
    layer, x = make(name, rng)
    report = gc.check_layer_gradients(layer, x)
    assert report.passed, str(report)
    assert report.max_error < 1e-6
    expected = {"input"} | set(layer.params)
    assert set(report.errors) == expected


def test_model_gradients_match_central_differences(rng):
    model = Sequential(
        Conv2d(1, 3, 3, padding=1), ReLU(), MaxPool2d(2),
        residual_block(3), ReLU(), Conv2d(3, 4, 1), AvgPool2d(2), Flatten(),
        Linear(4, 5), ReLU(), Linear(5, 3))
    x = rng.standard_normal((3, 1, 4, 4)).astype(np.float32)
    before = copy.deepcopy(model.params)
    report = gc.check_model_gradients(model, x, np.array([0, 2, 1]))
    assert report.passed, str(report)
    assert set(report.errors) == {"input"} | set(model.params)
    assert all(np.array_equal(before[k], v) and v.dtype == np.float32 for k, v in model.params.items())
    assert "0.weight" in str(report) and "ok" in str(report)


class _BrokenLinear(Linear):
    """A classic mistake: forgets the transpose's partner and drops the bias gradient."""

    def backward(self, grad_out):
        grad_out, x = self._require_cache(grad_out)
        self._accumulate("weight", grad_out.T @ x)
        return grad_out @ self.weight * 0.5


def test_gradient_check_catches_a_wrong_backward(rng):
    report = gc.check_layer_gradients(_BrokenLinear(4, 3), rng.standard_normal((5, 4)))
    assert not report.passed
    assert report.errors["input"] > 0.1 and report.errors["bias"] > 0.1
    assert report.errors["weight"] < 1e-6
    assert "FAIL" in str(report)


def test_sparse_gradient_check_samples_entries(rng):
    layer = Conv2d(4, 8, 3, padding=1)
    report = gc.check_layer_gradients(layer, rng.standard_normal((2, 4, 6, 6)), num_checks=10)
    assert report.passed, str(report)


def test_numerical_gradient_and_rel_error(rng):
    x = rng.standard_normal((3, 4))
    a = rng.standard_normal((4, 2))
    grad = gc.numerical_gradient(lambda: float(np.sum(np.sin(x) @ a)), x)
    np.testing.assert_allclose(grad, np.cos(x) * a.sum(axis=1), rtol=1e-7, atol=1e-9)
    assert gc.rel_error(np.ones(3), np.ones(3)) == 0.0
    assert gc.rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert gc.rel_error(np.array([1.0]), np.array([3.0])) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="shapes differ"):
        gc.rel_error(np.ones(3), np.ones(4))


# --------------------------------------------------------------------- PyTorch as the oracle
# PyTorch's results come from tests/oracle/golden.npz everywhere and, where PyTorch is
# installed, from a live run too (tests/oracle/__init__.py).

def _torch_layer(torch, layer):
    """The torch.nn twin of ``layer``, with the same weights (float64)."""
    tnn = torch.nn
    if isinstance(layer, Conv2d):
        twin = tnn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size, layer.stride,
                          layer.padding, layer.dilation, bias=layer.bias is not None)
    elif isinstance(layer, ConvTranspose2d):
        twin = tnn.ConvTranspose2d(layer.in_channels, layer.out_channels, layer.kernel_size,
                                   layer.stride, layer.padding, layer.output_padding,
                                   dilation=layer.dilation, bias=layer.bias is not None)
    elif isinstance(layer, Linear):
        twin = tnn.Linear(layer.in_features, layer.out_features, bias=layer.bias is not None)
    elif isinstance(layer, MaxPool2d):
        twin = tnn.MaxPool2d(layer.kernel_size, layer.stride, layer.padding)
    elif isinstance(layer, AvgPool2d):
        twin = tnn.AvgPool2d(layer.kernel_size, layer.stride, layer.padding,
                             count_include_pad=layer.count_include_pad)
    elif isinstance(layer, AdaptiveAvgPool2d):
        twin = tnn.AdaptiveAvgPool2d(layer.output_size)
    elif isinstance(layer, AdaptiveMaxPool2d):
        twin = tnn.AdaptiveMaxPool2d(layer.output_size)
    elif isinstance(layer, GlobalAvgPool2d):
        twin = tnn.Sequential(tnn.AdaptiveAvgPool2d(1), tnn.Flatten())
    elif isinstance(layer, ReLU):
        twin = tnn.ReLU()
    elif isinstance(layer, Flatten):
        twin = tnn.Flatten()
    elif isinstance(layer, Sequential):
        twin = tnn.Sequential(*[_torch_layer(torch, sub) for sub in layer])
    elif isinstance(layer, Residual):
        body = _torch_layer(torch, layer.body)

        class TorchResidual(tnn.Module):
            def __init__(self):
                super().__init__()
                self.body = body

            def forward(self, x):
                return x + self.body(x)

        return TorchResidual()
    else:
        raise AssertionError(f"no torch twin for {layer!r}")
    twin = twin.double()
    with torch.no_grad():
        for name, p in twin.named_parameters():
            p.copy_(torch.from_numpy(np.asarray(layer.params[name], dtype=np.float64)))
    return twin


def _layer_inputs(case):
    """The layer of a case in float64 with weights drawn from the case's generator (not the
    initialisation's), its input, and the generator to go on with."""
    factory, shape = LAYERS[case.config]
    layer = factory().to(np.float64)
    rng = case.rng()
    for p in layer.params.values():
        p[...] = rng.standard_normal(p.shape)
    return layer, rng.standard_normal(shape), rng


def _torch_layer_results(torch, case):
    """Reference: the torch.nn twin's output, and its gradients for the cotangent drawn next."""
    layer, x, rng = _layer_inputs(case)
    twin = _torch_layer(torch, layer)
    tx = torch.from_numpy(x).requires_grad_(True)
    tout = twin(tx)
    g = rng.standard_normal(tuple(tout.shape))
    tout.backward(torch.from_numpy(g))
    grads = {f"grad {pname}": p.grad for pname, p in twin.named_parameters()}
    return {"x": x} | layer.params, {"out": tout, "dx": tx.grad} | grads


def _close(actual, expected):
    """Same shape, equal to round-off."""
    assert actual.shape == expected.shape, f"shape {actual.shape}, PyTorch's {expected.shape}"
    np.testing.assert_allclose(actual, expected, rtol=1e-10, atol=1e-12)


LAYER_ORACLE = Oracle("layers", [(name, name) for name in sorted(LAYERS)], _torch_layer_results)


@pytest.mark.parametrize("case", LAYER_ORACLE.cases, ids=str)
def test_layers_match_torch_autograd(case):
    layer, x, rng = _layer_inputs(case)
    torch_results = LAYER_ORACLE.results(case, {"x": x} | layer.params)
    assert torch_results.names() == {"out", "dx"} | {f"grad {pname}" for pname in layer.params}
    out = layer(x)
    torch_results.check("out", out, _close)
    g = rng.standard_normal(out.shape)
    torch_results.check("dx", layer.backward(g), _close)
    for pname, grad in layer.grads.items():
        torch_results.check(f"grad {pname}", grad, _close)



def test_a_containers_params_reach_its_layers():
    """model.params["0.weight"] = ... sets the layer's weight in place; a wrong name or shape fails."""
    model = Sequential(Conv2d(1, 2, 3), ReLU(), Residual(Sequential(Conv2d(2, 2, 1))))
    weight = model[0].weight
    model.params["0.weight"] = np.ones((2, 1, 3, 3))
    assert model[0].weight is weight and (weight == 1).all()
    model.params.update({"2.body.0.bias": [5.0, 6.0]})
    np.testing.assert_array_equal(model[2].body[0].bias, [5.0, 6.0])
    with pytest.raises(KeyError, match="0.wieght"):
        model.params["0.wieght"] = np.ones((2, 1, 3, 3))
    with pytest.raises(ValueError, match="shape"):
        model.params["0.weight"] = np.ones((3, 3))
    with pytest.raises(TypeError):
        del model.params["0.weight"]


def test_pytorch_positional_prefix_only():
    """After PyTorch's shared positional prefix, cnnlib's extra arguments are keyword-only:
    a call copied from PyTorch code (7th argument groups) fails instead of meaning dilation or bias."""
    with pytest.raises(TypeError):
        Conv2d(1, 2, 3, 1, 0, 1, 1)  # PyTorch: groups=1
    with pytest.raises(TypeError):
        ConvTranspose2d(1, 2, 3, 1, 0, 0, 1)
    with pytest.raises(TypeError):
        AvgPool2d(2, 2, 0, False)  # PyTorch: ceil_mode=False
    assert Conv2d(1, 2, 3, 1, 0, 1, bias=False).bias is None
    x = np.ones((1, 1, 4, 4))
    with pytest.raises(TypeError):
        cnnlib.conv_transpose2d(x, np.ones((1, 1, 2, 2)), None, 1, 0, 0, 1)  # PyTorch: groups=1
    with pytest.raises(TypeError):
        cnnlib.avg_pool2d(x, 2, 2, 0, False)  # PyTorch: ceil_mode=False
