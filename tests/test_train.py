"""Loss (cnnlib.losses), optimisers (cnnlib.optim) and training (cnnlib.train)."""
import numpy as np
import pytest
from oracle import Oracle

from cnnlib import nn, train
from cnnlib.data import load_digits
from cnnlib.gradcheck import numerical_gradient
from cnnlib.losses import cross_entropy, log_softmax, softmax
from cnnlib.nn import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
from cnnlib.optim import SGD, Adam


@pytest.fixture(autouse=True)
def _seed():
    nn.manual_seed(0)


def digits_cnn():
    """The course's small CNN for 8x8 digits (6,090 parameters)."""
    return Sequential(
        Conv2d(1, 16, 3, padding=1), ReLU(), MaxPool2d(2),
        Conv2d(16, 32, 3, padding=1), ReLU(), MaxPool2d(2),
        Flatten(), Linear(128, 10))


def tiny_data(rng, n=60):
    X = rng.standard_normal((n, 1, 4, 4)).astype(np.float32)
    y = (X[:, 0, :2].sum(axis=(1, 2)) > 0).astype(np.int64)
    return X, y


def tiny_model():
    return Sequential(Flatten(), Linear(16, 8), ReLU(), Linear(8, 2))


# --------------------------------------------------------------------- softmax and loss

def test_softmax_and_log_softmax_are_stable_for_huge_logits():
    z = np.array([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4], [5.0, 5.0, 1e4]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        p = softmax(z)
        logp = log_softmax(z)
    assert np.all(np.isfinite(p)) and np.all(np.isfinite(logp))
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    np.testing.assert_allclose(p[1], 1 / 3)
    np.testing.assert_allclose(logp[0], [0.0, -2e4, -1e4])


def test_cross_entropy_value_and_gradient(rng):
    z = rng.standard_normal((5, 4))
    y = np.array([0, 3, 1, 1, 2])
    loss, grad = cross_entropy(z, y)
    p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    assert isinstance(loss, float)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(5), y])), rel=1e-12)
    num = numerical_gradient(lambda: cross_entropy(z, y)[0], z)
    np.testing.assert_allclose(grad, num, rtol=1e-6, atol=1e-9)


def test_cross_entropy_extreme_logits_no_overflow():
    z = np.array([[1e4, -1e4], [-1e4, 1e4], [1e4, 1e4]], dtype=np.float32)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        loss, grad = cross_entropy(z, np.array([0, 0, 1]))
    assert np.isfinite(loss) and np.all(np.isfinite(grad))
    assert loss == pytest.approx((0 + 2e4 + np.log(2)) / 3, rel=1e-6)
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad[1], [-1 / 3, 1 / 3], rtol=1e-6)


# PyTorch's results come from tests/oracle/golden.npz everywhere and, where PyTorch is
# installed, from a live run too (tests/oracle/__init__.py).

def _logits_and_labels(case):
    """Logits of 6 samples and 5 classes, and their labels."""
    rng = case.rng()
    return rng.standard_normal((6, 5)) * 3, rng.integers(5, size=6)


def _torch_cross_entropy(torch, case):
    """Reference: PyTorch's cross-entropy (mean over the batch) and its gradient."""
    z, y = _logits_and_labels(case)
    tz = torch.from_numpy(z).requires_grad_(True)
    tloss = torch.nn.functional.cross_entropy(tz, torch.from_numpy(y))
    tloss.backward()
    return {"z": z, "y": y}, {"loss": tloss, "grad": tz.grad}


CROSS_ENTROPY = Oracle("cross_entropy", [("6x5", None)], _torch_cross_entropy)


@pytest.mark.parametrize("case", CROSS_ENTROPY.cases, ids=str)
def test_cross_entropy_matches_torch(case):
    z, y = _logits_and_labels(case)
    torch_results = CROSS_ENTROPY.results(case, {"z": z, "y": y})
    loss, grad = cross_entropy(z, y)
    torch_results.check("loss", loss, _approx(rel=1e-12))
    torch_results.check("grad", grad, _close(rtol=1e-10, atol=1e-14))


def _approx(rel):
    """An assert function: a float equal to an expected 0-d array, to ``rel``."""
    def compare(actual, expected):
        assert actual == pytest.approx(float(expected), rel=rel)
    return compare


def _close(rtol, atol):
    """An assert function: arrays of the same shape, equal to rtol and atol."""
    def compare(actual, expected):
        assert actual.shape == expected.shape, f"shape {actual.shape}, PyTorch's {expected.shape}"
        np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)
    return compare


@pytest.mark.parametrize("logits, labels, pattern", [
    (np.zeros((3, 4)), np.array([0, 4, 1]), r"\[0, 4\).*from 0 to 4"),
    (np.zeros((3, 4)), np.array([0, -1, 1]), r"\[0, 4\)"),
    (np.zeros((3, 4)), np.array([0, 1]), r"shape \(3,\)"),
    (np.zeros((3, 4)), np.array([[0, 1, 2]]), r"shape \(3,\)"),
    (np.zeros((3, 4)), np.array([0.0, 1.0, 2.0]), r"integers"),
    (np.zeros(4), np.array([0]), r"logits must be 2-D"),
    (np.zeros((0, 4)), np.zeros(0, dtype=int), r"empty"),
])
def test_cross_entropy_rejects_bad_labels(logits, labels, pattern):
    with pytest.raises(ValueError, match=pattern):
        cross_entropy(logits, labels)


# --------------------------------------------------------------------- optimisers

OPTIMISERS = [  # (id, ours, PyTorch's)
    ("sgd", lambda ps: SGD(ps, lr=0.1), lambda t, ps: t.optim.SGD(ps, lr=0.1)),
    ("sgd-momentum-weight_decay", lambda ps: SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01),
     lambda t, ps: t.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=0.01)),
    ("adam", lambda ps: Adam(ps), lambda t, ps: t.optim.Adam(ps)),
    ("adam-options", lambda ps: Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1),
     lambda t, ps: t.optim.Adam(ps, lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
]
STEPS = 3


def _params_and_gradients(case):
    """Two parameters, their gradient buffers, and the gradients of each of STEPS steps."""
    rng = case.rng()
    p = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    g = [rng.standard_normal((3, 4)), rng.standard_normal(4)]
    steps = [[rng.standard_normal(a.shape) for a in p] for _ in range(STEPS)]
    return p, g, steps


def _flat(p, g, steps):
    """The inputs of an optimiser case as one dict, for the fingerprints."""
    arrays = {f"p{i}": a for i, a in enumerate(p)} | {f"g{i}": a for i, a in enumerate(g)}
    return arrays | {f"step{k + 1} g{i}": a for k, grads in enumerate(steps) for i, a in enumerate(grads)}


def _torch_optimiser(torch, case):
    """Reference: the parameters after each step of PyTorch's optimiser."""
    p, g, steps = _params_and_gradients(case)
    inputs = _flat(p, g, steps)
    tp = [torch.tensor(a, requires_grad=True) for a in p]
    topt = case.config[1](torch, tp)
    results = {}
    for step, grads in enumerate(steps, 1):
        for t, new in zip(tp, grads):
            t.grad = torch.from_numpy(new.copy())
        topt.step()
        results |= {f"step{step} p{i}": t.detach().clone() for i, t in enumerate(tp)}
    return inputs, results


OPTIMISER_ORACLE = Oracle("optimisers", [(name, (ours, theirs)) for name, ours, theirs in OPTIMISERS],
                          _torch_optimiser)


@pytest.mark.parametrize("case", OPTIMISER_ORACLE.cases, ids=str)
def test_optimisers_match_torch_over_three_steps(case):
    p, g, steps = _params_and_gradients(case)
    torch_results = OPTIMISER_ORACLE.results(case, _flat(p, g, steps))
    opt = case.config[0](list(zip(p, g)))
    for step, grads in enumerate(steps, 1):
        for buf, new in zip(g, grads):
            buf[...] = new
        opt.step()
        for i, a in enumerate(p):
            torch_results.check(f"step{step} p{i}", a, _close(rtol=1e-12, atol=1e-14))


def test_sgd_step_by_hand_and_float32_kept():
    layer = Linear(2, 1, dtype=np.float32)
    layer.weight = [[1.0, 2.0]]
    layer.grads["weight"][...] = [[0.5, -1.0]]
    opt = SGD(layer, lr=0.1)
    opt.step()
    np.testing.assert_allclose(layer.weight, [[0.95, 2.1]], rtol=1e-6)
    assert layer.weight.dtype == np.float32
    opt.zero_grad()
    assert not layer.grads["weight"].any()


def test_optimiser_rejects_bad_arguments():
    with pytest.raises(ValueError, match="lr must be positive"):
        SGD(Linear(2, 2), lr=0)
    with pytest.raises(ValueError, match="betas"):
        Adam(Linear(2, 2), betas=(0.9, 1.0))
    with pytest.raises(ValueError, match="param, grad"):
        SGD([np.zeros(3)], lr=0.1)


# --------------------------------------------------------------------- fit, evaluate, predict

def test_fit_returns_history_and_learns(rng):
    X, y = tiny_data(rng)
    model = tiny_model()
    hist = train.fit(model, X, y, epochs=20, batch_size=16, optimizer=Adam(model, lr=1e-2),
                     X_val=X[:20], y_val=y[:20], progress=False)
    assert set(hist) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert all(len(v) == 20 for v in hist.values())
    assert hist["loss"][-1] < hist["loss"][0]
    assert hist["accuracy"][-1] > 0.9 and hist["val_accuracy"][-1] > 0.9
    assert model.params["1.weight"].dtype == np.float32
    assert train.fit(tiny_model(), X, y, epochs=1, progress=False)["val_loss"] == []


def test_fit_is_reproducible_and_rng_controls_shuffling(rng):
    X, y = tiny_data(rng)

    def run(seed):
        nn.manual_seed(0)
        model = tiny_model()
        return train.fit(model, X, y, epochs=2, batch_size=8, optimizer=SGD(model, lr=0.1),
                         rng=seed, progress=False)["loss"]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_progress_lines(rng, capsys):
    X, y = tiny_data(rng)
    train.fit(tiny_model(), X, y, epochs=3, progress=True, X_val=X, y_val=y)
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 3
    assert lines[0].startswith("epoch 1/3") and "loss" in lines[0] and "val_acc" in lines[2]
    train.fit(tiny_model(), X, y, epochs=3, progress=False)
    train.fit(tiny_model(), X, y, epochs=3)  # auto: a 0.01 s run stays silent
    assert capsys.readouterr().out == ""


def test_progress_turns_on_for_long_runs(rng, capsys, monkeypatch):
    monkeypatch.setattr(train, "AUTO_PROGRESS_SECONDS", 0.0)
    X, y = tiny_data(rng)
    train.fit(tiny_model(), X, y, epochs=2)
    assert len(capsys.readouterr().out.splitlines()) == 2


def test_evaluate_and_predict(rng):
    X, y = tiny_data(rng, 30)
    model = tiny_model()
    scores = model(X)
    loss, acc = train.evaluate(model, X, y, batch_size=7)
    assert loss == pytest.approx(cross_entropy(scores, y)[0], rel=1e-5)
    assert acc == pytest.approx(np.mean(scores.argmax(1) == y))
    pred = train.predict(model, X, batch_size=4)
    assert pred.shape == (30,) and np.array_equal(pred, scores.argmax(1))
    assert model.training, "evaluate/predict must restore training mode"


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(y=np.zeros(5, dtype=int)), r"labels must have shape \(60,\)"),
    (dict(y_val=np.zeros(3, dtype=int)), r"both X_val and y_val"),
    (dict(epochs=0), r"positive ints"),
    (dict(y=np.full(60, 7)), r"\[0, 2\)"),
    (dict(y=np.zeros(60)), r"integers"),
])
def test_fit_rejects_bad_arguments(rng, kwargs, pattern):
    X, y = tiny_data(rng)
    args = dict(X=X, y=y, progress=False) | kwargs
    with pytest.raises(ValueError, match=pattern):
        train.fit(tiny_model(), **args)


# --------------------------------------------------------------------- save and load

def test_save_and_load_params_roundtrip(tmp_path, rng):
    nn.manual_seed(1)
    a = digits_cnn()
    nn.manual_seed(2)
    b = digits_cnn()
    path = tmp_path / "cnn.npz"
    train.save_params(a, path)
    w = b[0].weight
    train.load_params(b, path)
    assert b[0].weight is w, "load must copy in place so an optimiser keeps working"
    train.save_params(a, tmp_path / "no_suffix")  # np.savez adds .npz; load finds it
    train.load_params(b, tmp_path / "no_suffix")
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    x = rng.standard_normal((2, 1, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(a(x), b(x))


def test_load_params_checks_names_and_shapes(tmp_path):
    path = tmp_path / "m.npz"
    train.save_params(digits_cnn(), path)
    other = Sequential(Conv2d(1, 16, 3, padding=1), ReLU(), Flatten(), Linear(1024, 10))
    with pytest.raises(ValueError, match=r"missing \[\].*unexpected \['7.bias', '7.weight'\]"):
        train.load_params(other, path)
    wider = digits_cnn()
    wider.layers[-1] = Linear(128, 11)
    with pytest.raises(ValueError, match=r"7.weight: model \(11, 128\), file \(10, 128\)"):
        train.load_params(wider, path)


# --------------------------------------------------------------------- the acceptance run

def test_small_cnn_learns_digits():
    """The course's CNN reaches >= 97 % test accuracy in 15 epochs (about 1 s)."""
    X_train, y_train = load_digits("train")
    X_test, y_test = load_digits("test")
    nn.manual_seed(0)
    model = digits_cnn()
    hist = train.fit(model, X_train, y_train, epochs=15, batch_size=32,
                     optimizer=Adam(model, lr=3e-3), rng=0, progress=False)
    loss, acc = train.evaluate(model, X_test, y_test)
    assert hist["accuracy"][-1] > 0.98
    assert acc >= 0.97, f"test accuracy {acc:.2%}"
    assert loss < 0.15
