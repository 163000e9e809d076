"""Saliency maps, occlusion and their scores (cnnlib.saliency)."""
import copy

import numpy as np
import pytest

from cnnlib import nn, train
from cnnlib.data import cue_positions, make_shapes_scenes
from cnnlib.losses import softmax
from cnnlib.nn import Conv2d, Flatten, Linear, MaxPool2d, ReLU, Sequential
from cnnlib.optim import Adam
from cnnlib.saliency import (cascading_randomisation, gradient_times_input, integrated_gradients,
                             occlusion_sensitivity, pointing_game, rank_correlation, reinitialise,
                             saliency_in_box, saliency_map, smoothgrad)


@pytest.fixture
def linear_model(rng):
    """Scores S = W x + b of 2-channel 4x5 images: the saliency is known exactly."""
    model = Sequential(Flatten(), Linear(2 * 4 * 5, 3, dtype=np.float64))
    model[1].weight = rng.standard_normal((3, 40))
    model[1].bias = rng.standard_normal(3)
    return model


def test_saliency_of_a_linear_model_is_its_weights(linear_model, rng):
    x = rng.standard_normal((4, 2, 4, 5))
    w = linear_model[1].weight.reshape(3, 2, 4, 5)
    sal = saliency_map(linear_model, x, target=2)
    assert sal.shape == (4, 4, 5)
    np.testing.assert_allclose(sal, np.broadcast_to(np.abs(w[2]).max(axis=0), (4, 4, 5)))
    mean = saliency_map(linear_model, x, target=np.array([0, 1, 2, 0]), reduce="mean")
    np.testing.assert_allclose(mean[1], np.abs(w[1]).mean(axis=0))
    np.testing.assert_allclose(mean[3], np.abs(w[0]).mean(axis=0))


def test_saliency_of_the_probability(linear_model, rng):
    x = rng.standard_normal((3, 2, 4, 5))
    p = softmax(linear_model(x))
    w = linear_model[1].weight  # (3, 40)
    c = 1
    expected = p[:, c, None] * (w[c] - p @ w)  # d p_c / d x
    sal = saliency_map(linear_model, x, target=c, wrt="prob")
    np.testing.assert_allclose(sal, np.abs(expected).reshape(3, 2, 4, 5).max(axis=1), rtol=1e-10)


def test_saliency_defaults_to_predicted_class_and_leaves_no_gradients(linear_model, rng):
    x = rng.standard_normal((5, 2, 4, 5))
    pred = linear_model(x).argmax(axis=1)
    np.testing.assert_array_equal(saliency_map(linear_model, x, None), saliency_map(linear_model, x, pred))
    assert not any(g.any() for g in linear_model.grads.values())
    assert linear_model.training


@pytest.mark.parametrize("target, pattern", [
    (3, r"\[0, 3\)"), (np.array([0, 1]), r"shape \(4,\)"), (1.5, "int"),
])
def test_saliency_rejects_bad_targets(linear_model, target, pattern):
    with pytest.raises(ValueError, match=pattern):
        saliency_map(linear_model, np.zeros((4, 2, 4, 5)), target)


def test_saliency_rejects_bad_options(linear_model):
    with pytest.raises(ValueError, match="reduce"):
        saliency_map(linear_model, np.zeros((1, 2, 4, 5)), 0, reduce="sum")
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        saliency_map(linear_model, np.zeros((2, 4, 5)), 0)


def test_occlusion_of_a_linear_model_by_hand(linear_model, rng):
    x = rng.standard_normal((2, 2, 4, 5))
    w = linear_model[1].weight.reshape(3, 2, 4, 5)
    target = np.array([1, 2])
    heat, grid = occlusion_sensitivity(linear_model, x, target, patch=2, stride=(2, 1),
                                       return_grid=True, batch_size=5)
    assert heat.shape == (2, 4, 5) and grid.shape == (2, 2, 4)
    expected_heat = np.zeros((2, 4, 5))
    coverage = np.zeros((4, 5))
    for i, top in enumerate((0, 2)):
        for j, left in enumerate(range(4)):
            win = np.s_[:, :, top:top + 2, left:left + 2]
            drop = (w[target][win] * x[win]).sum(axis=(1, 2, 3))  # fill 0 removes W x there
            np.testing.assert_allclose(grid[:, i, j], drop, rtol=1e-10)
            expected_heat[:, top:top + 2, left:left + 2] += drop[:, None, None]
            coverage[top:top + 2, left:left + 2] += 1
    np.testing.assert_allclose(heat, expected_heat / coverage, rtol=1e-10)
    same = occlusion_sensitivity(linear_model, x, target, patch=2, stride=(2, 1), batch_size=1000)
    np.testing.assert_allclose(heat, same, rtol=1e-12)


def test_occlusion_fill_value_and_errors(linear_model, rng):
    x = np.full((1, 2, 4, 5), 0.5)
    heat = occlusion_sensitivity(linear_model, x, 0, patch=(4, 5), fill=0.5)
    np.testing.assert_allclose(heat, 0.0, atol=1e-12)  # filling with the image's own value
    with pytest.raises(ValueError, match="larger than the images"):
        occlusion_sensitivity(linear_model, x, 0, patch=6)


def test_box_scores_by_hand():
    sal = np.zeros((3, 6, 6))
    sal[0, 1:3, 1:3] = 1.0  # all mass in the box
    sal[1, 5, 5] = 3.0  # peak outside, one unit inside
    sal[1, 2, 2] = 1.0
    boxes = np.array([[1, 1, 3, 3], [1, 1, 4, 4], [0, 0, 2, 2]])
    share = saliency_in_box(sal, boxes)
    np.testing.assert_allclose(share, [1.0, 0.25, 0.0])  # an all-zero map scores 0
    np.testing.assert_array_equal(pointing_game(sal, boxes), [True, False, True])
    np.testing.assert_array_equal(pointing_game(sal[1:2], boxes[1:2], tolerance=2), [True])
    negative = -np.ones((1, 6, 6))
    negative[0, 0, 0] = 2
    assert saliency_in_box(negative, np.array([[0, 0, 1, 1]]))[0] == 1.0
    with pytest.raises(ValueError, match=r"boxes must have shape \(3, 4\)"):
        saliency_in_box(sal, boxes[:2])


def _scene_cnn(size, k):
    return Sequential(Conv2d(1, 16, 3, padding=1), ReLU(), MaxPool2d(2),
                      Conv2d(16, 32, 3, padding=1), ReLU(), MaxPool2d(2),
                      Flatten(), Linear(32 * (size // 4) ** 2, k))


def _train(X, y, epochs):
    nn.manual_seed(0)
    model = _scene_cnn(16, 3)
    train.fit(model, X, y, epochs=epochs, batch_size=32, optimizer=Adam(model, lr=3e-3), progress=False)
    return model


@pytest.fixture(scope="module")
def clean_model():
    """The scene CNN trained 8 epochs on 1,200 clean scenes (seed 1), once for both tests
    that use it (training is seeded: each would get the same model). The tests only read it."""
    X, y, _ = make_shapes_scenes(1200, seed=1)
    return _train(X, y, epochs=8)


def test_trained_cnn_looks_at_the_object(clean_model):
    X_test, y_test, boxes = make_shapes_scenes(200, seed=2)
    model = clean_model
    assert train.evaluate(model, X_test, y_test)[1] > 0.85
    area = ((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1]) / 256).mean()
    sal = saliency_map(model, X_test, y_test)
    occ = occlusion_sensitivity(model, X_test[:100], y_test[:100], patch=3, stride=1)
    # chance: a uniform map puts `area` of its mass in the box and points into it that often
    assert saliency_in_box(sal, boxes).mean() > 1.25 * area
    assert pointing_game(sal, boxes).mean() > 2 * area
    assert saliency_in_box(occ, boxes[:100]).mean() > 2 * area
    assert pointing_game(occ, boxes[:100]).mean() > 0.8


def test_saliency_reveals_a_spurious_cue(clean_model):
    """Trained with a corner marker that gives the label away, the CNN looks at the corners."""
    X, y, _ = make_shapes_scenes(1200, seed=1, spurious_cue=True, cue_prob=0.95)
    X_test, y_test, boxes, cue = make_shapes_scenes(200, seed=2, spurious_cue=True, cue_prob=None,
                                                    return_cue=True)
    model = _train(X, y, epochs=8)
    clean = clean_model
    pred = train.predict(model, X_test)
    assert np.mean(pred == cue) > np.mean(pred == y_test), "predictions follow the marker"
    corners = cue_positions(16, 3)
    rows = np.arange(len(X_test))

    def marker_share(m):
        sal = saliency_map(m, X_test, pred)
        return (sal[rows, corners[cue, 0], corners[cue, 1]] / sal.sum(axis=(1, 2))).mean()

    assert marker_share(model) > 3 * marker_share(clean)
    assert marker_share(model) > 5 / 256  # the marker pixel gets 5x a uniform pixel's share


def test_rank_correlation_by_hand_and_against_scipy(rng):
    v = np.arange(1.0, 6.0)
    assert rank_correlation(v, v ** 3) == pytest.approx(1.0)
    assert rank_correlation(v, -v) == pytest.approx(-1.0)
    # ties share their mean rank: ranks (1, 2.5, 2.5, 4) against (1, 2, 3, 4)
    assert rank_correlation([10, 20, 20, 40], [1, 2, 3, 4]) == pytest.approx(4.5 / np.sqrt(22.5))
    assert rank_correlation(np.ones(4), v[:4]) == 0.0
    with pytest.raises(ValueError, match="same size"):
        rank_correlation(v, v[:3])
    stats = pytest.importorskip("scipy.stats")
    for _ in range(5):
        a, b = rng.integers(0, 4, size=(6, 5)), rng.normal(size=(6, 5))
        assert rank_correlation(a, b) == pytest.approx(stats.spearmanr(a.ravel(), b.ravel())[0], abs=1e-12)


def test_gradient_variants_of_a_linear_model(linear_model, rng):
    """For S = W x + b the gradient is W everywhere: the variants are known exactly."""
    x = rng.standard_normal((3, 2, 4, 5))
    w = linear_model[1].weight.reshape(3, 2, 4, 5)
    np.testing.assert_allclose(gradient_times_input(linear_model, x, 1), np.abs(x * w[1]).max(axis=1))
    np.testing.assert_allclose(smoothgrad(linear_model, x, 1, samples=3), saliency_map(linear_model, x, 1))
    # integrated gradients of a linear score: (x - x') * W, exact with one step
    signed = integrated_gradients(linear_model, x, 2, baseline=0.5, steps=1, signed=True)
    np.testing.assert_allclose(signed, (x - 0.5) * w[2])
    np.testing.assert_allclose(integrated_gradients(linear_model, x, 2, baseline=0.5, steps=1, reduce="mean"),
                               np.abs((x - 0.5) * w[2]).mean(axis=1))


def test_integrated_gradients_completeness_and_smoothgrad_seed(rng):
    model = Sequential(Conv2d(2, 4, 3, padding=1, rng=1, dtype=np.float64), ReLU(), MaxPool2d(2),
                       Flatten(), Linear(4 * 2 * 2, 3, rng=2, dtype=np.float64))
    x = rng.standard_normal((2, 2, 4, 4))
    attr = integrated_gradients(model, x, np.array([0, 2]), steps=300, signed=True)
    gain = model(x)[[0, 1], [0, 2]] - model(np.zeros_like(x))[[0, 1], [0, 2]]
    np.testing.assert_allclose(attr.sum(axis=(1, 2, 3)), gain, rtol=2e-2, atol=1e-3)
    a = smoothgrad(model, x, 1, samples=4, seed=3)
    np.testing.assert_array_equal(a, smoothgrad(model, x, 1, samples=4, seed=3))
    assert not np.allclose(a, smoothgrad(model, x, 1, samples=4, seed=4))
    assert not any(g.any() for g in model.grads.values())


def test_cascading_randomisation_by_hand(rng):
    model = Sequential(Conv2d(1, 3, 3, padding=1, rng=1), ReLU(), Conv2d(3, 3, 3, padding=1, rng=2), ReLU(),
                       Flatten(), Linear(3 * 5 * 5, 4, rng=3))
    model[0].bias = rng.normal(size=3).astype(np.float32)
    before = [p.copy() for p, _ in model.parameters()]
    x = rng.standard_normal((3, 1, 5, 5)).astype(np.float32)
    rho = cascading_randomisation(model, x, np.array([0, 1, 3]), seed=7)
    assert rho.shape == (3, 3)
    for (p, _), q in zip(model.parameters(), before):   # the model itself is untouched
        np.testing.assert_array_equal(p, q)
    trained = saliency_map(model, x, np.array([0, 1, 3]))
    g = np.random.default_rng(7)
    m = copy.deepcopy(model)
    for row, i in enumerate((5, 2, 0)):
        reinitialise(m[i], g)
        assert not m[i].bias.any()
        maps = saliency_map(m, x, np.array([0, 1, 3]))
        np.testing.assert_allclose(rho[row], [rank_correlation(a, b) for a, b in zip(trained, maps)])


def test_gradient_passes_and_gradient_times_input_fails_the_check(clean_model):
    """Adebayo et al.: with random weights the gradient maps change, gradient x input maps do not."""
    X_test, y_test, _ = make_shapes_scenes(40, seed=3)
    grad = cascading_randomisation(clean_model, X_test, y_test, saliency_map, seed=0).mean(axis=1)
    gxi = cascading_randomisation(clean_model, X_test, y_test, gradient_times_input, seed=0).mean(axis=1)
    assert grad[-1] < 0.5 < gxi[-1]
