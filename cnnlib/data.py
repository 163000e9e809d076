"""Data sets that need no download: scikit-learn's bundled digits, seeded synthetic
images with known ground truth, and a photograph shipped with matplotlib.

Images are float32 NCHW ``(N, 1, H, W)`` in [0, 1]; labels are int64. Every generator
takes ``seed`` (an int) or ``rng`` (a ``numpy.random.Generator``) and returns the same
arrays for the same seed.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

DIGITS_TEST_SIZE = 360  # of 1,797 images: 1,437 train / 360 test, stratified by class
DIGITS_SEED = 0


def _rng(rng, seed):
    if rng is not None and seed is not None:
        raise ValueError("give rng or seed, not both")
    if isinstance(rng, np.random.Generator):
        return rng
    return np.random.default_rng(seed if rng is None else rng)


def _check_count(n, size, min_size):
    if not (isinstance(n, (int, np.integer)) and n >= 1):
        raise ValueError(f"n must be a positive int, got {n!r}")
    if not (isinstance(size, (int, np.integer)) and size >= min_size):
        raise ValueError(f"size must be an int >= {min_size}, got {size!r}")


def load_digits(split="train", test_size=DIGITS_TEST_SIZE, seed=DIGITS_SEED):
    """The 8x8 handwritten digits bundled with scikit-learn (no download).

    Returns ``(X, y)``: X float32 ``(N, 1, 8, 8)`` scaled from 0..16 to [0, 1], y int64
    ``(N,)`` in 0..9. ``split``: ``"train"`` (1,437 images), ``"test"`` (360) or None (all
    1,797). The split is stratified by class and fixed by ``seed``, so train and test
    never overlap and every call returns the same images.
    """
    if split not in ("train", "test", None):
        raise ValueError(f"split must be 'train', 'test' or None, got {split!r}")
    X, y = _all_digits()
    if split is None:
        return X, y
    if (test_size, seed) == (DIGITS_TEST_SIZE, DIGITS_SEED):
        with np.load(DIGITS_SPLIT_FILE) as stored:
            rows = stored[split]
        return X[rows], y[rows]
    from sklearn.model_selection import train_test_split

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=test_size, stratify=y, random_state=seed)
    return (X_train, y_train) if split == "train" else (X_test, y_test)


#: The rows of the default split, in the order ``sklearn.model_selection.train_test_split(...,
#: test_size=360, stratify=y, random_state=0)`` returns them, stored: importing scikit-learn
#: takes a second, in every kernel that loads the digits (tests/test_data.py checks the file).
DIGITS_SPLIT_FILE = Path(__file__).with_name("digits_split.npz")


def _all_digits():
    """All 1,797 digits in scikit-learn's order, read from the file scikit-learn ships,
    without importing scikit-learn."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError("load_digits reads the digits that scikit-learn ships: pip install scikit-learn")
    path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
    table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    X = (table[:, :-1].reshape(-1, 8, 8) / 16.0).astype(np.float32)[:, None]
    return X, table[:, -1].astype(np.int64)


def _finish(images, noise, rng):
    """Add Gaussian pixel noise, clip to [0, 1], return float32 (N, 1, H, W)."""
    if noise:
        images = images + noise * rng.standard_normal(images.shape)
    return np.clip(images, 0, 1).astype(np.float32)[:, None]


def make_lines(n, size=16, orientations=(0, 45, 90, 135), length=None, thickness=1.0,
               noise=0.1, rng=None, seed=None):
    """Images of one straight line segment each; the label is its orientation.

    ``orientations``: angles in degrees, counter-clockwise from the horizontal
    (0 = horizontal, 90 = vertical). Each image draws label ``k`` uniformly, then a
    segment at ``orientations[k]`` of ``length`` pixels (default ``size // 2``) and
    width ``thickness`` centred on an integer pixel chosen so the segment fits.

    Returns ``(X, y, centres)``: X float32 ``(n, 1, size, size)`` in [0, 1], y int64
    ``(n,)`` and centres int64 ``(n, 2)`` as (row, column).
    """
    _check_count(n, size, 4)
    rng = _rng(rng, seed)
    length = size // 2 if length is None else length
    margin = int(np.ceil(length / 2 + thickness / 2))
    if size - 2 * margin < 1:
        raise ValueError(f"a line of length {length} does not fit in a {size}x{size} image")
    y = rng.integers(len(orientations), size=n)
    centres = rng.integers(margin, size - margin, size=(n, 2))
    theta = np.deg2rad(np.asarray(orientations, dtype=np.float64))[y][:, None, None]
    rows, cols = np.mgrid[:size, :size]
    dr = rows[None] - centres[:, 0, None, None]
    dc = cols[None] - centres[:, 1, None, None]
    # Image rows grow downwards, so the direction at angle theta is (row, col) = (-sin, cos).
    along = dc * np.cos(theta) - dr * np.sin(theta)
    across = dc * np.sin(theta) + dr * np.cos(theta)
    on = (np.abs(across) <= thickness / 2 + 1e-9) & (np.abs(along) <= length / 2)
    return _finish(on.astype(np.float64), noise, rng), y.astype(np.int64), centres.astype(np.int64)


SHAPES = ("square", "disc", "cross")


def _draw_shapes(kind, dr, dc, half):
    """Boolean masks (n, H, W) of shape ``kind[i]`` with half-size ``half[i]`` at offset dr, dc."""
    square = np.maximum(np.abs(dr), np.abs(dc)) <= half
    disc = dr**2 + dc**2 <= (half + 0.5) ** 2
    arm = half // 4  # half-width of the bars: 1 pixel wide up to half = 3, then 3 pixels
    cross = ((np.abs(dr) <= arm) | (np.abs(dc) <= arm)) & square
    masks = {"square": square, "disc": disc, "cross": cross}
    out = np.zeros(dr.shape, dtype=bool)
    for name, mask in masks.items():
        out |= mask & (kind == name)
    return out


def cue_positions(size, num_classes):
    """Pixel (row, col) of each class's spurious marker: top-left, top-right, bottom-left, ..."""
    corners = [(0, 0), (0, size - 1), (size - 1, 0), (size - 1, size - 1)]
    if num_classes > len(corners):
        raise ValueError(f"markers exist for up to 4 classes, got {num_classes}")
    return np.array(corners[:num_classes], dtype=np.int64)


def make_shapes_scenes(n, size=16, shapes=SHAPES, min_half=2, max_half=4, noise=0.1,
                       spurious_cue=False, cue_prob=0.9, return_cue=False, rng=None, seed=None):
    """Scenes of one filled shape on a noisy background; the label is the shape.

    Each image has a random grey background level (0 to 0.3), one shape of class
    ``shapes[y]`` (``"square"``, ``"disc"`` or ``"cross"``) with half-size ``h`` drawn from
    ``min_half..max_half`` (so ``2h + 1`` pixels across), brightness 0.6 to 1, at a random
    position one pixel or more from the border, then Gaussian noise of std ``noise``.

    ``spurious_cue=True`` adds a shortcut: one marker pixel of value 1 at a position
    that depends on a class (the corners, see :func:`cue_positions`). With probability
    ``cue_prob`` it is the position of the image's own class, otherwise that of another
    class. For training data use e.g. ``cue_prob=0.9``; for test data use
    ``cue_prob=None``: the marker's class is then drawn uniformly, independent of the label.

    Returns ``(X, y, boxes)`` (and the marker's class per image if ``return_cue``):
    X float32 ``(n, 1, size, size)``, y int64 ``(n,)``, boxes int64 ``(n, 4)`` as
    ``(top, left, bottom, right)`` with bottom/right exclusive, so that
    ``X[i, 0, top:bottom, left:right]`` is the object's bounding box.
    """
    _check_count(n, size, 2 * max_half + 3)
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown or len(shapes) < 2:
        raise ValueError(f"shapes must be two or more of {SHAPES}, got {shapes!r}")
    if not 1 <= min_half <= max_half:
        raise ValueError(f"need 1 <= min_half <= max_half, got {min_half}, {max_half}")
    rng = _rng(rng, seed)
    k = len(shapes)
    y = rng.integers(k, size=n)
    half = rng.integers(min_half, max_half + 1, size=n)
    # Centres keep the shape one pixel from the border, clear of the corner markers.
    centre = half[:, None] + 1 + np.floor(rng.random((n, 2)) * (size - 2 * half[:, None] - 2)).astype(np.int64)
    rows, cols = np.mgrid[:size, :size]
    dr = rows[None] - centre[:, 0, None, None]
    dc = cols[None] - centre[:, 1, None, None]
    kind = np.asarray(shapes)[y][:, None, None]
    mask = _draw_shapes(kind, dr, dc, half[:, None, None])
    background = rng.uniform(0, 0.3, size=(n, 1, 1))
    brightness = rng.uniform(0.6, 1.0, size=(n, 1, 1))
    images = np.where(mask, brightness, background)
    if noise:
        images = images + noise * rng.standard_normal(images.shape)
    boxes = np.concatenate([centre - half[:, None], centre + half[:, None] + 1], axis=1)
    cue = None
    if spurious_cue:
        if cue_prob is None:
            cue = rng.integers(k, size=n)
        else:
            other = (y + rng.integers(1, k, size=n)) % k  # a uniformly drawn other class
            cue = np.where(rng.random(n) < cue_prob, y, other)
        pos = cue_positions(size, k)[cue]
        images[np.arange(n), pos[:, 0], pos[:, 1]] = 1.0
    X = np.clip(images, 0, 1).astype(np.float32)[:, None]
    out = (X, y.astype(np.int64), boxes.astype(np.int64))
    return out + (cue,) if return_cue else out


def sample_photo(gray=True, downscale=1):
    """Grace Hopper's portrait from matplotlib's bundled sample data (no download).

    Returns float32 in [0, 1]: ``(H, W)`` grey (luma 0.299 R + 0.587 G + 0.114 B) or
    ``(3, H, W)`` RGB, 600 x 512 at full size. ``downscale=k`` averages k x k blocks
    (the image is first cropped to a multiple of k), giving ``(600 // k, 512 // k)``.
    """
    if not (isinstance(downscale, (int, np.integer)) and downscale >= 1):
        raise ValueError(f"downscale must be an int >= 1, got {downscale!r}")
    import matplotlib.cbook as cbook
    import matplotlib.image as mpimg

    rgb = mpimg.imread(cbook.get_sample_data("grace_hopper.jpg"))
    img = np.moveaxis(rgb[..., :3].astype(np.float32) / 255.0, -1, 0)  # (3, H, W)
    if gray:
        img = np.tensordot(np.array([0.299, 0.587, 0.114], np.float32), img, axes=1)
    if downscale > 1:
        h, w = (s // downscale * downscale for s in img.shape[-2:])
        img = img[..., :h, :w]
        img = img.reshape(*img.shape[:-2], h // downscale, downscale, w // downscale, downscale)
        img = img.mean(axis=(-3, -1))
    return img.astype(np.float32)


def rotate(image, degrees):
    """Rotate an image about its centre by ``degrees``, counter-clockwise as displayed.

    ``image``: ``(..., H, W)``; the rotation acts on the last two axes. Each output pixel is
    the bilinear interpolation of the input at the rotated position, and zero where that
    position falls outside the image. A multiple of 90° on a square image gives
    ``np.rot90(image, degrees // 90)`` exactly. Returns float64 of the input's shape.
    (Introduced in notebook 03 to show that convolution is not equivariant to rotation.)
    """
    image = np.asarray(image, dtype=float)
    if image.ndim < 2:
        raise ValueError(f"image must have at least 2 dimensions (H, W), got shape {image.shape}")
    t = np.deg2rad(degrees)
    H, W = image.shape[-2:]
    cy, cx = (H - 1) / 2, (W - 1) / 2
    i, j = np.mgrid[0:H, 0:W].astype(float)
    # where each output pixel comes from: the inverse rotation of its position
    y = cy + np.cos(t) * (i - cy) + np.sin(t) * (j - cx)
    x = cx - np.sin(t) * (i - cy) + np.cos(t) * (j - cx)
    y, x = np.round(y, 9), np.round(x, 9)     # exact quarter turns despite cos(90°) = 6e-17
    y0, x0 = np.floor(y).astype(int), np.floor(x).astype(int)
    fy, fx = y - y0, x - x0

    def at(r, c):
        inside = (r >= 0) & (r < H) & (c >= 0) & (c < W)
        return np.where(inside, image[..., np.clip(r, 0, H - 1), np.clip(c, 0, W - 1)], 0.0)

    return ((1 - fy) * (1 - fx) * at(y0, x0) + (1 - fy) * fx * at(y0, x0 + 1)
            + fy * (1 - fx) * at(y0 + 1, x0) + fy * fx * at(y0 + 1, x0 + 1))
