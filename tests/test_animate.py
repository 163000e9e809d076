"""cnnlib.animate: the frames agree with the library, and the animations render small and fast."""
import io
import itertools

import matplotlib
import numpy as np
import pytest

import cnnlib
from cnnlib import animate

matplotlib.use("Agg")

GEOMETRIES = [(n, k, s, p, d) for n, k, s, p, d in itertools.product((4, 5, 7), (1, 2, 3), (1, 2, 3), (0, 1, 2), (1, 2))
              if n + 2 * p >= d * (k - 1) + 1]


@pytest.mark.parametrize("n, k, s, p, d", GEOMETRIES)
def test_conv_windows_are_the_library_s(n, k, s, p, d):
    """One window per output, and each window's taps, summed, give cnnlib.conv2d's value."""
    rng = np.random.default_rng(n * 1000 + k * 100 + s * 10 + p + d)
    x, w = rng.standard_normal((n, n + 1)), rng.standard_normal((k, k))
    y = cnnlib.conv2d(x[None, None], w[None, None], stride=s, padding=p, dilation=d)[0, 0]
    windows = animate.conv_windows(x.shape, w.shape, s, p, d)
    assert len(windows) == y.size
    padded = np.pad(x, p)
    for (r, q), cells in windows:
        assert np.isclose(sum(padded[c] * t for c, t in zip(cells, w.ravel())), y[r, q])


@pytest.mark.parametrize("n, k, s, p, d", [g for g in GEOMETRIES if g[3] <= g[4] * (g[1] - 1)])
def test_transposed_stamps_are_the_library_s(n, k, s, p, d):
    """The stamps, added up and cropped by the padding, give cnnlib.conv_transpose2d's output."""
    rng = np.random.default_rng(n * 1000 + k * 100 + s * 10 + p + d)
    x, w = rng.standard_normal((n, n - 1)), rng.standard_normal((k, k))
    op = (s - 1) if s > 1 else 0
    y = cnnlib.conv_transpose2d(x[None, None], w[None, None], stride=s, padding=p, output_padding=op, dilation=d)[0, 0]
    stamps, (top, left), out = animate.transposed_stamps(x.shape, w.shape, s, p, op, d)
    assert out == y.shape and len(stamps) == x.size
    full = np.zeros((out[0] + 2 * top, out[1] + 2 * left))
    for (a, b), cells in stamps:
        for c, t in zip(cells, w.ravel()):
            full[c] += x[a, b] * t
    np.testing.assert_allclose(full[top:top + out[0], left:left + out[1]], y, atol=1e-12)


@pytest.mark.parametrize("layers", [[(3, 1)] * 4, [(3, 1), (2, 2), (3, 1), (2, 2)], [(3, 1, 1), (3, 1, 2), (3, 1, 4)],
                                    [(5, 2), (3, 1, 2)]])
def test_receptive_field_masks_span_the_formula(layers):
    masks = animate.receptive_field_masks(layers, 41)
    for mask, size in zip(masks, cnnlib.receptive_field(layers, per_layer=True)):
        rows, cols = np.nonzero(mask)
        assert rows.max() - rows.min() + 1 == size == cols.max() - cols.min() + 1


def test_a_gridded_dilated_stack_leaves_holes():
    """Rates 2, 2, 2 (a common factor) see only every other pixel; 1, 2, 4 see them all."""
    assert not animate.receptive_field_masks([(3, 1, 2)] * 3, 31)[-1][15, 16]
    mask = animate.receptive_field_masks([(3, 1, 1), (3, 1, 2), (3, 1, 4)], 31)[-1]
    assert mask[8:23, 8:23].all()


CASES = {
    "conv": lambda: animate.animate_conv2d(np.arange(25).reshape(5, 5) % 4, np.ones((3, 3)), stride=2, padding=1),
    "dilated": lambda: animate.animate_conv2d(np.arange(36).reshape(6, 6) % 3, np.eye(3), dilation=2),
    "max pool": lambda: animate.animate_pool2d(np.arange(16).reshape(4, 4) % 5, 2),
    "avg pool overlapping": lambda: animate.animate_pool2d(np.arange(25).reshape(5, 5) % 3, 3, 2, mode="avg"),
    "transposed": lambda: animate.animate_conv_transpose2d([[1, 2], [3, 4]], np.ones((3, 3)), stride=2, padding=1,
                                                           output_padding=1),
    "zero insertion": lambda: animate.animate_zero_insertion([[1, 2], [3, 4]], np.ones((3, 3)), stride=2, padding=1,
                                                            output_padding=1),
}
CASES["receptive field"] = lambda: animate.animate_receptive_field([(3, 1), (3, 1), (2, 2), (3, 1)], 13)
FRAMES = {"receptive field": 4, "conv": 9, "dilated": 4, "max pool": 4, "avg pool overlapping": 4, "transposed": 4, "zero insertion": 16}


@pytest.mark.parametrize("name", CASES)
def test_animations_have_one_frame_per_window_and_stay_small(name):
    anim = CASES[name]()
    page = animate.jshtml(anim)
    assert len(list(anim.new_frame_seq())) == FRAMES[name]
    assert "http" not in page and '<i class="fa' not in page, "the player must load nothing from the network"
    assert page.count("data:image/png;base64") == FRAMES[name]
    assert len(page) < 600_000, f"{len(page):,} bytes of HTML"


@pytest.fixture
def inline_backend():
    """The inline backend's settings, as in a kernel (made here, cleared afterwards)."""
    from matplotlib_inline.config import InlineBackend

    yield InlineBackend.instance()
    InlineBackend.clear_instance()


@pytest.mark.parametrize("name", ["conv", "zero insertion"])
def test_with_figures_off_an_animation_is_a_line_of_text(inline_backend, name, recwarn):
    """As a kernel with ``figure_formats`` empty shows a figure (grading with figures off)."""
    inline_backend.figure_formats = set()
    shown = animate.html(CASES[name]())
    assert repr(shown) == f"<Animation of {FRAMES[name]} frames, not drawn: figures are off>"
    assert not [w for w in recwarn if "Animation was deleted" in str(w.message)]
    inline_backend.figure_formats = {"png"}
    assert animate.html(CASES[name]()).data.count("data:image/png;base64") == FRAMES[name]


def test_frames_change():
    anim = CASES["conv"]()
    fig = anim._fig
    images = []
    for frame in (0, 4):
        anim._func(frame)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        images.append(buffer.getvalue())
    assert images[0] != images[1]


def test_bad_mode_is_named():
    with pytest.raises(ValueError, match="animate_pool2d: mode"):
        animate.animate_pool2d(np.ones((4, 4)), 2, mode="median")


def test_explorer_has_a_slider_per_argument():
    pytest.importorskip("ipywidgets")
    ui = animate.explorer()
    assert [c.description for c in ui.children[:5]] == ["n", "k", "stride", "padding", "dilation"]
