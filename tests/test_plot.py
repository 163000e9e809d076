"""cnnlib.plot: the connectivity helpers mark the right units and draw what they mark."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from cnnlib.plot import connected, show_images, show_matrix, show_stack  # noqa: E402


def band(n_out, n_in, k, stride=1, padding=0):
    """0/1 dependency matrix of a 1-D convolution, by its index rule."""
    d = np.zeros((n_out, n_in), int)
    for i in range(n_out):
        start = i * stride - padding
        d[i, max(start, 0):max(start + k, 0)] = 1
    return d


def test_connected_walks_down_to_the_receptive_field_and_up():
    deps = [band(5, 5, 3, padding=1), band(5, 5, 3, padding=1)]
    top = connected(deps, 2, 2)                     # the middle unit of layer 2
    assert [m.tolist() for m in top] == [[True] * 5, [False, True, True, True, False],
                                         [False, False, True, False, False]]
    bottom = connected(deps, 0, 0)                  # the first input: what does it reach?
    assert bottom[1].tolist() == [True, True, False, False, False]
    assert bottom[2].tolist() == [True, True, True, False, False]


def test_connected_with_stride():
    deps = [band(5, 9, 3, stride=2, padding=1), band(5, 5, 3, padding=1)]
    assert np.flatnonzero(connected(deps, 2, 2)[0]).tolist() == list(range(1, 8))  # 7 inputs


def test_show_stack_draws_the_marked_connections_in_red():
    d = band(5, 5, 3, padding=1)
    fig, ax = plt.subplots()
    assert show_stack([d], "title", 1, 2, ["x", "s"], ax=ax) is fig
    red = [line for line in ax.lines if line.get_color() == "tab:red"]
    assert len(ax.lines) == d.sum() and len(red) == 3          # s_3 reads 3 inputs
    assert ax.get_title() == "title"
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "s"]
    plt.close(fig)


def test_show_stack_geometry_puts_units_above_their_windows():
    deps = [band(4, 9, 3, stride=2, padding=0)]
    fig = show_stack(deps, "strided", 1, 0, geometry=[(3, 2, 0)])
    ax = fig.axes[0]
    inputs, outputs = (c.get_offsets()[:, 0] for c in ax.collections)
    # output i reads inputs 2i .. 2i + 2: it sits above input 2i + 1
    assert np.allclose(outputs, inputs[[1, 3, 5, 7]])
    plt.close(fig)


def test_show_stack_checks_the_names():
    with pytest.raises(ValueError, match="names"):
        show_stack([band(3, 3, 1)], "t", 1, 0, ["only one"])
    plt.close("all")


@pytest.mark.parametrize("cmap", ["Greys", "viridis", "gray"])
def test_show_matrix_annotations_contrast_with_their_cells(cmap):
    fig = show_matrix(np.array([[0, 1], [1, 0]]), "t", cmap=cmap, vmin=0, vmax=1)
    ax = fig.axes[0]
    colours = {t.get_text(): t.get_color() for t in ax.texts}
    dark_value = "1" if cmap == "Greys" else "0"       # Greys draws 1 black, the others 0
    light_value = "0" if dark_value == "1" else "1"
    assert colours[dark_value] == "white" and colours[light_value] == "black"
    plt.close(fig)


def test_show_images_ticks_whole_pixels():
    fig = show_images([np.zeros((6, 6)), np.zeros((7, 13))], ["a", "b"])
    fig.canvas.draw()
    images = [ax for ax in fig.axes if ax.get_label() != "<colorbar>"]
    assert len(images) == 2
    for ax in images:
        ticks = [*ax.get_xticks(), *ax.get_yticks()]
        assert ticks and all(float(t).is_integer() for t in ticks), ticks
    plt.close(fig)
