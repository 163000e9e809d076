"""Data sets without downloads (cnnlib.data)."""
import subprocess
import sys

import numpy as np
import pytest

from cnnlib import data


# --------------------------------------------------------------------- digits

def test_digits_split_sizes_types_and_range():
    X_train, y_train = data.load_digits("train")
    X_test, y_test = data.load_digits("test")
    X_all, y_all = data.load_digits(None)
    assert X_train.shape == (1437, 1, 8, 8) and X_test.shape == (360, 1, 8, 8)
    assert X_all.shape == (1797, 1, 8, 8)
    assert X_train.dtype == np.float32 and y_train.dtype == np.int64
    assert X_all.min() == 0.0 and X_all.max() == 1.0
    assert set(np.unique(y_test)) == set(range(10))
    # stratified: each class has 35-37 test images (its share of 360)
    assert np.bincount(y_test).min() >= 35 and np.bincount(y_test).max() <= 37


def test_digits_split_is_fixed_and_disjoint():
    X_train, y_train = data.load_digits("train")
    X_test, _ = data.load_digits("test")
    X_again, y_again = data.load_digits("train")
    np.testing.assert_array_equal(X_train, X_again)
    np.testing.assert_array_equal(y_train, y_again)
    train_rows = {x.tobytes() for x in X_train}
    overlap = sum(x.tobytes() in train_rows for x in X_test)
    # a handful of digits are pixel-identical duplicates in the original data
    assert overlap <= 3
    X_all, _ = data.load_digits(None)
    assert sorted(x.tobytes() for x in np.concatenate([X_train, X_test])) == sorted(x.tobytes() for x in X_all)


def test_stored_split_is_scikit_learns_and_loads_without_it():
    """The default split comes from cnnlib/digits_split.npz, and so from the images and order
    scikit-learn's own split gives; another size or seed is split by scikit-learn itself."""
    from sklearn.datasets import load_digits as sk_load_digits
    from sklearn.model_selection import train_test_split

    digits = sk_load_digits()
    X = (digits.images / 16.0).astype(np.float32)[:, None]
    parts = train_test_split(X, digits.target, test_size=360, stratify=digits.target, random_state=0)
    for split, expected in (("train", parts[0::2]), ("test", parts[1::2])):
        for got, want in zip(data.load_digits(split), expected):
            np.testing.assert_array_equal(got, want, err_msg=f"load_digits({split!r}) is not scikit-learn's split")
    other = train_test_split(X, digits.target, test_size=100, stratify=digits.target, random_state=3)
    np.testing.assert_array_equal(data.load_digits("test", test_size=100, seed=3)[0], other[1])
    loads = "from cnnlib.data import load_digits; import sys; load_digits('train'); print('sklearn' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", loads], capture_output=True, text=True, check=True).stdout == "False\n"


def test_digits_rejects_bad_split():
    with pytest.raises(ValueError, match="split"):
        data.load_digits("validation")


# --------------------------------------------------------------------- lines

def test_lines_ground_truth_without_noise():
    X, y, centres = data.make_lines(200, size=12, noise=0.0, seed=3)
    assert X.shape == (200, 1, 12, 12) and X.dtype == np.float32 and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1, 2, 3}
    img = X[:, 0]
    for i in np.flatnonzero(y == 0):  # horizontal: one row lit, through the centre
        rows = np.flatnonzero(img[i].any(axis=1))
        assert rows.tolist() == [centres[i, 0]]
    for i in np.flatnonzero(y == 2):  # vertical: one column lit
        assert np.flatnonzero(img[i].any(axis=0)).tolist() == [centres[i, 1]]
    for i in np.flatnonzero(y == 1):  # 45 degrees: up to the right, i.e. row + col constant
        r, c = np.nonzero(img[i])
        assert np.all(r + c == centres[i].sum())
    for i in np.flatnonzero(y == 3):  # 135 degrees: row - col constant
        r, c = np.nonzero(img[i])
        assert np.all(r - c == centres[i, 0] - centres[i, 1])
    assert np.all(img[np.arange(200), centres[:, 0], centres[:, 1]] == 1)
    assert np.all((img == 1).sum(axis=(1, 2)) >= 5)  # 7 pixels, 5 on a diagonal (length 6)


def test_lines_are_deterministic_and_noisy_in_range():
    a = data.make_lines(20, seed=1)
    b = data.make_lines(20, rng=np.random.default_rng(1))
    c = data.make_lines(20, seed=2)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[0], c[0])
    assert a[0].min() >= 0 and a[0].max() <= 1
    X, y, _ = data.make_lines(50, orientations=(30, 120), seed=0)
    assert set(np.unique(y)) == {0, 1}


def test_lines_rejects_bad_arguments():
    with pytest.raises(ValueError, match="does not fit"):
        data.make_lines(5, size=8, length=8)
    with pytest.raises(ValueError, match="n must be"):
        data.make_lines(0)
    with pytest.raises(ValueError, match="rng or seed"):
        data.make_lines(5, rng=np.random.default_rng(0), seed=1)


# --------------------------------------------------------------------- shape scenes

def test_shapes_boxes_contain_the_object():
    X, y, boxes = data.make_shapes_scenes(300, size=16, noise=0.0, seed=4)
    assert X.shape == (300, 1, 16, 16) and boxes.shape == (300, 4) and boxes.dtype == np.int64
    img = X[:, 0]
    background = img[:, 0, 0]  # no noise: corners show the background level
    obj = img > background[:, None, None] + 1e-6
    rows = np.arange(16)
    inside = ((rows[None, :, None] >= boxes[:, 0, None, None]) & (rows[None, :, None] < boxes[:, 2, None, None])
              & (rows[None, None, :] >= boxes[:, 1, None, None]) & (rows[None, None, :] < boxes[:, 3, None, None]))
    assert not (obj & ~inside).any(), "object pixels outside their box"
    # the box is tight: the object touches all four sides
    for i in range(300):
        t, l, b, r = boxes[i]
        assert obj[i, t].any() and obj[i, b - 1].any() and obj[i, :, l].any() and obj[i, :, r - 1].any()
    assert boxes[:, :2].min() >= 1 and boxes[:, 2:].max() <= 15


def test_shapes_classes_differ_as_described():
    X, y, boxes = data.make_shapes_scenes(300, noise=0.0, min_half=3, max_half=3, seed=5)
    fill = np.array([(X[i, 0, t:b, l:r] > X[i, 0, 0, 0] + 1e-6).mean() for i, (t, l, b, r) in enumerate(boxes)])
    assert np.all(fill[y == 0] == 1.0)  # square fills its box
    assert np.all((fill[y == 1] > 0.7) & (fill[y == 1] < 1))  # disc misses the corners
    assert np.all(fill[y == 2] < 0.6)  # cross: two bars


def test_spurious_cue_correlates_in_train_not_in_test():
    size, n = 16, 4000
    corners = data.cue_positions(size, 3)
    X, y, _, cue = data.make_shapes_scenes(n, size=size, spurious_cue=True, cue_prob=0.9, seed=0, return_cue=True)
    np.testing.assert_array_equal(X[np.arange(n), 0, corners[cue, 0], corners[cue, 1]], 1.0)
    assert np.mean(cue == y) == pytest.approx(0.9, abs=0.02)
    X_t, y_t, _, cue_t = data.make_shapes_scenes(n, size=size, spurious_cue=True, cue_prob=None, seed=1,
                                                 return_cue=True)
    assert np.mean(cue_t == y_t) == pytest.approx(1 / 3, abs=0.03)
    plain, _, _ = data.make_shapes_scenes(n, size=size, seed=0)
    assert np.mean(plain[:, 0, corners[:, 0], corners[:, 1]] == 1.0) < 0.05


def test_shapes_deterministic_and_validated():
    a = data.make_shapes_scenes(10, seed=9)
    b = data.make_shapes_scenes(10, seed=9)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    with pytest.raises(ValueError, match="shapes must be"):
        data.make_shapes_scenes(10, shapes=("square", "star"))
    with pytest.raises(ValueError, match="size must be"):
        data.make_shapes_scenes(10, size=8)


# --------------------------------------------------------------------- photograph

def test_sample_photo_gray_rgb_and_downscale():
    gray = data.sample_photo()
    rgb = data.sample_photo(gray=False)
    assert gray.shape == (600, 512) and rgb.shape == (3, 600, 512)
    assert gray.dtype == np.float32 and 0 <= gray.min() and gray.max() <= 1
    np.testing.assert_allclose(gray, 0.299 * rgb[0] + 0.587 * rgb[1] + 0.114 * rgb[2], atol=1e-6)
    small = data.sample_photo(downscale=7)
    assert small.shape == (85, 73)
    assert small[3, 5] == pytest.approx(gray[21:28, 35:42].mean(), abs=1e-6)
    assert data.sample_photo(gray=False, downscale=4).shape == (3, 150, 128)
    with pytest.raises(ValueError, match="downscale"):
        data.sample_photo(downscale=0)


# --------------------------------------------------------------------- rotate

def test_rotate_quarter_turns_are_exact_and_counter_clockwise():
    x = np.random.default_rng(0).normal(size=(2, 6, 6))
    for k in range(-2, 5):
        np.testing.assert_array_equal(data.rotate(x, 90 * k), np.rot90(x, k, axes=(-2, -1)))
    dot = np.zeros((5, 5))
    dot[2, 4] = 1.0                       # right of the centre ...
    assert data.rotate(dot, 90)[0, 2] == 1.0   # ... goes to the top


def test_rotate_interpolates_and_fills_zeros_outside():
    x = np.ones((9, 9))
    r = data.rotate(x, 45)
    assert r.shape == (9, 9) and r.dtype == np.float64
    assert r[4, 4] == pytest.approx(1.0) and r[0, 0] == 0.0      # the centre stays, corners come from outside
    assert np.all((r >= 0) & (r <= 1 + 1e-12))
    # a smooth ramp rotated by a small angle: bilinear interpolation is exact for linear functions
    i, j = np.mgrid[0:9, 0:9].astype(float)
    t = np.deg2rad(10)
    ramp = j - 4.0
    expected = np.cos(t) * (j - 4) - np.sin(t) * (i - 4)
    inner = (i - 4) ** 2 + (j - 4) ** 2 < 3 ** 2
    np.testing.assert_allclose(data.rotate(ramp, 10)[inner], expected[inner], atol=1e-9)
    with pytest.raises(ValueError, match="dimensions"):
        data.rotate(np.ones(5), 10)
