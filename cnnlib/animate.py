"""Convolution arithmetic, animated: a window sliding over a padded input, frame by frame.

In the spirit of Dumoulin & Visin's animations ("A guide to convolution arithmetic for deep
learning", 2016), but drawn from the library itself: the window positions come from
:func:`conv_windows` and :func:`transposed_stamps`, which use :func:`cnnlib.conv_output_size`
and :func:`cnnlib.conv_transpose_output_size`, and the numbers in the output are those of
the real call (:func:`cnnlib.conv2d`, :func:`cnnlib.max_pool2d`, ...). The tests check that
summing each frame's window gives the library's value, so a picture cannot disagree with it.

Every ``animate_*`` function returns a :class:`matplotlib.animation.FuncAnimation`;
:func:`html` turns one into a self-contained JavaScript player (the frames are embedded, so
it plays offline, on the course site too). :func:`explorer` adds sliders in JupyterLab.
"""
from __future__ import annotations

import hashlib
import re
import tempfile
from pathlib import Path

import numpy as np
from matplotlib.animation import FuncAnimation, HTMLWriter

from ._checks import as_pair
from .conv import conv2d, conv_transpose2d
from .pool import avg_pool2d, max_pool2d
from .shapes import conv_output_size, conv_transpose_output_size, receptive_field

__all__ = ["jshtml", "conv_windows", "transposed_stamps", "receptive_field_masks", "animate_receptive_field", "animate_conv2d", "animate_pool2d",
           "animate_conv_transpose2d", "animate_zero_insertion", "html", "explorer", "figures_off"]

PAD_COLOUR, INPUT_COLOUR, WINDOW_COLOUR, OUTPUT_COLOUR = "#e6e6e6", "#cfe3f7", "#1f77b4", "#ffd8a8"


def conv_windows(in_size, kernel_size, stride=1, padding=0, dilation=1):
    """The windows of a convolution (or pooling) in the order its outputs are computed.

    Returns ``[((r, q), [(row, col), ...]), ...]``: for output position (r, q), the cells
    of the *padded* input its kernel taps read, ``(r*s + i*d, q*s + j*d)``. There are
    ``H_out * W_out`` windows, with ``H_out = conv_output_size(H, k, s, p, d)``.
    """
    (h, w), (kh, kw), (sh, sw), (ph, pw), (dh, dw) = (as_pair(v, name) for v, name in zip(
        (in_size, kernel_size, stride, padding, dilation), ("in_size", "kernel_size", "stride", "padding", "dilation")))
    oh, ow = conv_output_size(h, kh, sh, ph, dh), conv_output_size(w, kw, sw, pw, dw)
    return [((r, q), [(r * sh + i * dh, q * sw + j * dw) for i in range(kh) for j in range(kw)])
            for r in range(oh) for q in range(ow)]


def transposed_stamps(in_size, kernel_size, stride=1, padding=0, output_padding=0, dilation=1):
    """Where each input pixel of a transposed convolution stamps its kernel.

    Returns ``(stamps, crop, out_size)``: ``stamps`` is ``[((h, v), [(row, col), ...]), ...]``
    in row-major order of the input, the cells ``(h*s + i*d, v*s + j*d)`` of the uncropped
    output; ``crop`` is ``(top, left)``, the ``padding`` rows and columns cut from the
    uncropped output, and ``out_size`` the output size of
    :func:`cnnlib.conv_transpose_output_size`.
    """
    (h, w), (kh, kw), (sh, sw), (ph, pw), (oph, opw), (dh, dw) = (as_pair(v, name) for v, name in zip(
        (in_size, kernel_size, stride, padding, output_padding, dilation),
        ("in_size", "kernel_size", "stride", "padding", "output_padding", "dilation")))
    out = (conv_transpose_output_size(h, kh, sh, ph, oph, dh), conv_transpose_output_size(w, kw, sw, pw, opw, dw))
    stamps = [((a, b), [(a * sh + i * dh, b * sw + j * dw) for i in range(kh) for j in range(kw)])
              for a in range(h) for b in range(w)]
    return stamps, (ph, pw), out


# --------------------------------------------------------------------------- drawing

def _grid(ax, values, title, colours, fmt="{:g}"):
    """Cells of ``values`` as coloured squares (one image) with their numbers; returns
    {(row, col): Text}."""
    from matplotlib.colors import to_rgb

    rows, cols = np.shape(values)
    ax.imshow(np.array([[to_rgb(c) for c in row] for row in colours]), interpolation="nearest")
    ax.set_xticks(np.arange(-0.5, cols), minor=True)
    ax.set_yticks(np.arange(-0.5, rows), minor=True)
    ax.grid(which="minor", color="#888888", linewidth=0.8)
    ax.tick_params(which="both", labelsize=7, length=0)
    ax.set_xticks(range(cols))
    ax.set_yticks(range(rows))
    texts = {}
    for (i, j), v in np.ndenumerate(values):
        blank = v is None or (isinstance(v, float) and np.isnan(v))
        texts[i, j] = ax.text(j, i, "" if blank else fmt.format(v), ha="center", va="center", fontsize=9)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("column")
    ax.set_ylabel("row")
    return texts


def _outline(ax, colour, width=2.5):
    from matplotlib.patches import Rectangle

    return ax.add_patch(Rectangle((0, 0), 1, 1, fill=False, edgecolor=colour, linewidth=width, visible=False))


def _place(patch, row, col):
    patch.set_xy((col - 0.5, row - 0.5))
    patch.set_visible(True)


class Frames(FuncAnimation):
    """A FuncAnimation that keeps its frame function and count, so that :func:`jshtml` draws
    each frame once (matplotlib's own loop draws the figure two more times per frame)."""

    def __init__(self, fig, update, frames, interval):
        super().__init__(fig, update, frames=frames, interval=interval, repeat=True)
        self.figure, self.update, self.count, self.interval = fig, update, frames, interval
        self.drawn = False  # by jshtml, frame by frame

    def __del__(self):
        if not self.drawn:  # matplotlib warns of an animation never drawn
            super().__del__()


def figures_off():
    """True in a kernel whose inline backend draws no figure (``InlineBackend.figure_formats``
    empty, as when grading with ``GradingExecute.figures`` off): :func:`html` then shows an
    animation as a line of text, as such a kernel shows a figure."""
    try:
        from matplotlib_inline.config import InlineBackend
    except ImportError:
        return False
    return InlineBackend.initialized() and not InlineBackend.instance().figure_formats


def _animation(fig, update, frames, interval, moving_only=True):
    """The :class:`Frames` of ``fig`` whose frames ``update`` draws.

    ``moving_only``: ``update`` returns every artist a frame changes. Then the rest of the
    figure (grids, numbers, ticks, titles) is drawn once and kept as one picture behind them,
    and a frame draws only the artists that move, not the text and ticks of every cell.
    Not where :func:`figures_off`: no frame will be drawn, so nothing is drawn ahead.
    """
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    plt.close(fig)  # shown through html(anim), not as a static figure as well (closing resets the dpi)
    fig.set_dpi(72)
    FigureCanvasAgg(fig)  # closing left a canvas that cannot draw
    moving = update(0)
    if figures_off():
        return Frames(fig, update, frames, interval)
    for artist in moving if moving_only else ():
        artist.set_animated(True)  # left out of the picture of what stays still
    fig.canvas.draw()  # lay the figure out once
    fig.set_layout_engine(None)  # laid out: no layout pass (and no extra draw) per frame
    if moving_only:
        still = np.asarray(fig.canvas.buffer_rgba()).copy()
        keep = {id(artist) for artist in moving}
        for artist in moving:
            artist.set_animated(False)
        for parent in (fig, *fig.axes):
            for child in parent.get_children():
                if id(child) not in keep and child not in fig.axes:
                    child.set_visible(False)
        fig.figimage(still, zorder=-1)
    return Frames(fig, update, frames, interval)


def _sliding(padded, is_pad, windows, values, title, out_title, interval, fmt="{:g}",
             input_title="input (grey: padding)"):
    """The animation of ``windows`` over ``padded`` (grey where ``is_pad``) filling ``values``."""
    import matplotlib.pyplot as plt

    hp, wp = padded.shape
    oh, ow = values.shape
    fig, (left, right) = plt.subplots(1, 2, figsize=(2.2 + 0.42 * (wp + ow), 1.2 + 0.42 * max(hp, oh)),
                                      layout="constrained", gridspec_kw={"width_ratios": [wp, max(ow, 2)]})
    fig.suptitle(title, fontsize=10)
    colours = [[PAD_COLOUR if is_pad[i, j] else INPUT_COLOUR for j in range(wp)] for i in range(hp)]
    _grid(left, padded, input_title, colours, fmt)
    out_texts = _grid(right, np.full(values.shape, np.nan), out_title,
                      [[OUTPUT_COLOUR] * ow for _ in range(oh)], fmt)
    taps = [_outline(left, WINDOW_COLOUR) for _ in windows[0][1]]
    current = _outline(right, WINDOW_COLOUR)

    def update(frame):
        (r, q), cells = windows[frame]
        for patch, (row, col) in zip(taps, cells):
            _place(patch, row, col)
        _place(current, r, q)
        for (i, j), text in out_texts.items():  # every output up to this frame is filled
            text.set_text(fmt.format(values[i, j]) if i * ow + j <= frame else "")
        return [*taps, current, *out_texts.values()]

    return _animation(fig, update, len(windows), interval)


def _padded(x, padding, value=0):
    (ph, pw) = as_pair(padding, "padding")
    padded = np.pad(np.asarray(x, dtype=float), ((ph, ph), (pw, pw)), constant_values=value)
    is_pad = np.ones(padded.shape, bool)
    is_pad[ph:ph + x.shape[0], pw:pw + x.shape[1]] = False
    return padded, is_pad


def animate_conv2d(x, w, stride=1, padding=0, dilation=1, interval=600):
    """A 3×3 (or any) kernel ``w`` (kh, kw) sliding over the image ``x`` (H, W).

    Each frame outlines the taps of one window on the zero-padded input and fills the output
    cell it computes, with the value of ``cnnlib.conv2d`` (a cross-correlation, as in
    PyTorch). ``padding`` is an int or an (h, w) pair.
    """
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    y = conv2d(x[None, None], w[None, None], stride=stride, padding=padding, dilation=dilation)[0, 0]
    padded, is_pad = _padded(x, padding)
    windows = conv_windows(x.shape, w.shape, stride, padding, dilation)
    (sh, _), (ph, _), (dh, _) = (as_pair(stride, "stride"), as_pair(padding, "padding"),
                                 as_pair(dilation, "dilation"))
    title = (f"conv2d: kernel {w.shape[0]}×{w.shape[1]}, stride {sh}, padding {ph}, dilation {dh}\n"
             f"input {x.shape[0]}×{x.shape[1]} → output {y.shape[0]}×{y.shape[1]}")
    return _sliding(padded, is_pad, windows, y, title, "output", interval)


def animate_pool2d(x, kernel_size, stride=None, padding=0, mode="max", interval=600):
    """Max (``mode="max"``) or average pooling windows over ``x`` (H, W), frame by frame,
    each output from ``cnnlib.max_pool2d`` / ``cnnlib.avg_pool2d``."""
    x = np.asarray(x, dtype=float)
    stride = kernel_size if stride is None else stride
    if mode not in ("max", "avg"):
        raise ValueError(f"animate_pool2d: mode must be 'max' or 'avg', got {mode!r}")
    pool = max_pool2d if mode == "max" else avg_pool2d
    y = pool(x[None, None], kernel_size, stride, padding)[0, 0]
    padded, is_pad = _padded(x, padding)
    windows = conv_windows(x.shape, kernel_size, stride, padding)
    (kh, kw), (sh, _), (ph, _) = (as_pair(kernel_size, "kernel_size"), as_pair(stride, "stride"),
                                  as_pair(padding, "padding"))
    title = (f"{mode} pooling: window {kh}×{kw}, stride {sh}, padding {ph}\n"
             f"input {x.shape[0]}×{x.shape[1]} → output {y.shape[0]}×{y.shape[1]}")
    return _sliding(padded, is_pad, windows, y, title, f"{mode} of each window", interval, fmt="{:.3g}")


def animate_conv_transpose2d(x, w, stride=1, padding=0, output_padding=0, dilation=1, interval=700):
    """The transposed convolution as a scatter: each input pixel of ``x`` (H, W) stamps the
    kernel ``w`` (kh, kw), scaled by its value, onto the output; overlapping stamps add.

    The uncropped output is drawn, ``padding`` rows and columns greyed at each side (they
    are cut off); its inner part equals ``cnnlib.conv_transpose2d``, which the title's size
    comes from.
    """
    import matplotlib.pyplot as plt

    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    y = conv_transpose2d(x[None, None], w[None, None], stride=stride, padding=padding,
                         output_padding=output_padding, dilation=dilation)[0, 0]
    stamps, (ph, pw), out = transposed_stamps(x.shape, w.shape, stride, padding, output_padding, dilation)
    full = (out[0] + 2 * ph, out[1] + 2 * pw)
    partial = np.zeros((len(stamps) + 1, *full))
    for n, ((a, b), cells) in enumerate(stamps, start=1):
        partial[n] = partial[n - 1]
        for (row, col), k in zip(cells, w.ravel()):
            if row < full[0] and col < full[1]:
                partial[n, row, col] += x[a, b] * k
    fig, (left, right) = plt.subplots(1, 2, figsize=(2.2 + 0.42 * (x.shape[1] + full[1]), 1.2 + 0.42 * max(full)),
                                      layout="constrained", gridspec_kw={"width_ratios": [x.shape[1], full[1]]})
    (sh, _), (dh, _) = as_pair(stride, "stride"), as_pair(dilation, "dilation")
    fig.suptitle(f"conv_transpose2d as a scatter: kernel {w.shape[0]}×{w.shape[1]}, stride {sh}, padding {ph}, "
                 f"dilation {dh}\ninput {x.shape[0]}×{x.shape[1]} → output {out[0]}×{out[1]}", fontsize=10)
    _grid(left, x, "input", [[INPUT_COLOUR] * x.shape[1] for _ in range(x.shape[0])])
    inside = np.zeros(full, bool)
    inside[ph:ph + out[0], pw:pw + out[1]] = True
    texts = _grid(right, np.zeros(full), "output (grey: cut by padding)",
                  [[OUTPUT_COLOUR if inside[i, j] else PAD_COLOUR for j in range(full[1])] for i in range(full[0])])
    source, stamp = _outline(left, WINDOW_COLOUR), [_outline(right, WINDOW_COLOUR) for _ in stamps[0][1]]

    def update(frame):
        (a, b), cells = stamps[frame]
        _place(source, a, b)
        for patch, (row, col) in zip(stamp, cells):
            patch.set_visible(row < full[0] and col < full[1])
            patch.set_xy((col - 0.5, row - 0.5))
        for (i, j), text in texts.items():
            text.set_text(f"{partial[frame + 1, i, j]:g}")
        return [source, *stamp, *texts.values()]

    return _animation(fig, update, len(stamps), interval)


def animate_zero_insertion(x, w, stride=2, padding=0, output_padding=0, interval=600):
    """The same transposed convolution as :func:`animate_conv_transpose2d`, the other way:
    ``stride - 1`` zeros inserted between the input pixels, ``k - 1 - padding`` zeros around
    (plus ``output_padding`` at the bottom and right), then a plain convolution with the
    flipped kernel. The output equals ``cnnlib.conv_transpose2d``'s (no dilation here)."""
    x, w = np.asarray(x, dtype=float), np.asarray(w, dtype=float)
    (sh, sw), (ph, pw), (oph, opw) = (as_pair(stride, "stride"), as_pair(padding, "padding"),
                                      as_pair(output_padding, "output_padding"))
    kh, kw = w.shape
    if ph > kh - 1 or pw > kw - 1:
        raise ValueError(f"animate_zero_insertion: padding {padding} must be at most k - 1 = {kh - 1}")
    inserted = np.zeros(((x.shape[0] - 1) * sh + 1, (x.shape[1] - 1) * sw + 1))
    inserted[::sh, ::sw] = x
    top, left = kh - 1 - ph, kw - 1 - pw
    padded = np.pad(inserted, ((top, top + oph), (left, left + opw)))
    is_pad = np.ones(padded.shape, bool)
    is_pad[top:top + inserted.shape[0]:sh, left:left + inserted.shape[1]:sw] = False  # the real pixels
    y = conv_transpose2d(x[None, None], w[None, None], stride=stride, padding=padding,
                         output_padding=output_padding)[0, 0]
    windows = conv_windows(padded.shape, w.shape)
    title = (f"conv_transpose2d as zero insertion + convolution with the flipped kernel\n"
             f"stride {sh}, padding {ph}: input {x.shape[0]}×{x.shape[1]} → output {y.shape[0]}×{y.shape[1]}")
    return _sliding(padded, is_pad, windows, y, title, "output (= conv_transpose2d)", interval,
                    input_title="input (grey: inserted zeros, padding)")


def receptive_field_masks(layers, size):
    """Which input pixels the centre unit of each layer of a stack sees.

    ``layers``: ``(kernel_size, stride)`` or ``(kernel_size, stride, dilation)`` tuples as
    for :func:`cnnlib.receptive_field`, each layer padded by ``dilation*(k - 1)//2`` so that
    the centre stays in the middle; ``size``: the input's side. Returns boolean masks
    (L, size, size), found by following :func:`conv_windows` down the stack: their extent is
    :func:`cnnlib.receptive_field` (where it fits in the input), and the holes a dilated
    stack leaves show.
    """
    sizes, masks = [size], []
    for k, s, *d in layers:
        d = d[0] if d else 1
        sizes.append(conv_output_size(sizes[-1], k, s, d * (k - 1) // 2, d))
    for top in range(1, len(layers) + 1):
        c = sizes[top] // 2
        seen = {(c, c)}
        for level in range(top, 0, -1):
            k, s, *d = layers[level - 1]
            d = d[0] if d else 1
            p = d * (k - 1) // 2
            windows = dict(conv_windows((sizes[level - 1],) * 2, k, s, p, d))
            seen = {(row - p, col - p) for unit in seen for row, col in windows[unit]
                    if 0 <= row - p < sizes[level - 1] and 0 <= col - p < sizes[level - 1]}
        mask = np.zeros((size, size), bool)
        mask[tuple(np.array(sorted(seen)).T)] = True
        masks.append(mask)
    return np.array(masks)


def animate_receptive_field(layers, size=15, interval=900):
    """The receptive field of one unit growing layer by layer through a stack (see
    :func:`receptive_field_masks`), with the size :func:`cnnlib.receptive_field` gives."""
    import matplotlib.pyplot as plt

    masks = receptive_field_masks(layers, size)
    sizes = receptive_field(layers, per_layer=True)
    fig, ax = plt.subplots(figsize=(0.3 * size + 1.5, 0.3 * size + 1.4), layout="constrained")
    colours = [[INPUT_COLOUR] * size for _ in range(size)]
    _grid(ax, np.full((size, size), np.nan), "", colours)
    image = ax.images[0]

    def update(frame):
        rgb = np.where(masks[frame][..., None], np.array([1.0, 0.6, 0.2]), np.array([0.81, 0.89, 0.97]))
        image.set_data(rgb)
        k, s, *d = layers[frame]
        ax.set_title(f"layer {frame + 1} (kernel {k}, stride {s}, dilation {d[0] if d else 1}): "
                     f"receptive field {sizes[frame]}×{sizes[frame]}", fontsize=9)
        return [image]

    return _animation(fig, update, len(layers), interval, moving_only=False)  # image and title change


# matplotlib's player draws its buttons with Font Awesome, fetched from a CDN: plain symbols
# instead, so that a page with an animation loads nothing from the network.
_ICONS = {"fa-minus": "−", "fa-fast-backward": "⏮", "fa-step-backward": "◀|", "fa-play fa-flip-horizontal": "◀",
          "fa-pause": "⏸", "fa-play": "▶", "fa-step-forward": "|▶", "fa-fast-forward": "⏭", "fa-plus": "+"}


def jshtml(anim, default_mode="loop"):
    """``anim`` (a :class:`Frames`, or any matplotlib animation) as the HTML of matplotlib's
    JavaScript player, its frames embedded as PNG images, nothing fetched from the network.
    The player's id comes from its frames, so the same animation gives the same page."""
    import matplotlib.pyplot as plt

    if not isinstance(anim, Frames):
        page = anim.to_jshtml(default_mode=default_mode)
    else:
        writer = HTMLWriter(fps=1000 / anim.interval, embed_frames=True, default_mode=default_mode)
        # Frames at the figure's own size: the picture of what stays still is in its pixels.
        with tempfile.TemporaryDirectory() as folder, plt.rc_context({"savefig.bbox": "standard"}):
            path = Path(folder) / "player.html"
            with writer.saving(anim.figure, path, dpi=anim.figure.dpi):
                for frame in range(anim.count):
                    anim.update(frame)
                    writer.grab_frame()
            page = path.read_text()
        anim.drawn = True
    page = re.sub(r'<link rel="stylesheet"\s+href="https?://[^"]*font-awesome[^"]*">', "", page)
    for icon, symbol in _ICONS.items():
        page = page.replace(f'<i class="fa {icon}"></i>', symbol)
    ids = set(re.findall(r"_anim_img([0-9a-f]{32})", page))
    for old in ids:  # matplotlib's random uuid4
        page = page.replace(old, hashlib.sha1(page.replace(old, "").encode()).hexdigest()[:32])
    return page


class NotDrawn:
    """What :func:`html` shows where :func:`figures_off`: one line of text, as for a figure."""

    def __init__(self, anim):
        count = getattr(anim, "count", None) or getattr(anim, "_save_count", None)
        self.text = f"<Animation of {count} frames, not drawn: figures are off>"

    def __repr__(self):
        return self.text


def html(anim, default_mode="loop"):
    """``anim`` as a player for a notebook (plays offline, and on the site): :func:`jshtml`.
    Where :func:`figures_off`, a line of text (:class:`NotDrawn`) instead, and no frame drawn."""
    from IPython.display import HTML

    if figures_off():
        if isinstance(anim, Frames):
            anim.drawn = True  # on purpose: matplotlib need not warn that it never was
        return NotDrawn(anim)
    return HTML(jshtml(anim, default_mode))


def explorer():
    """Sliders for input size, kernel, stride, padding and dilation (ipywidgets) that redraw
    the windows of the first, middle and last output and print the output size formula
    with the numbers filled in. Without ipywidgets or a kernel, use the animations."""
    import ipywidgets as widgets
    import matplotlib.pyplot as plt

    def draw(n=5, k=3, stride=1, padding=0, dilation=1):
        span = dilation * (k - 1) + 1
        if n + 2 * padding < span:
            print(f"the kernel (span d(k - 1) + 1 = {span}) does not fit the padded input "
                  f"(n + 2p = {n + 2 * padding}): no output")
            return
        out = conv_output_size(n, k, stride, padding, dilation)
        print(f"out = floor((n + 2p - d(k - 1) - 1) / s) + 1 = floor(({n} + {2 * padding} - {dilation * (k - 1)} - 1)"
              f" / {stride}) + 1 = {out}")
        x = np.arange(1, n * n + 1, dtype=float).reshape(n, n) % 10
        padded, is_pad = _padded(x, padding)
        windows = conv_windows(x.shape, k, stride, padding, dilation)
        picks = [windows[0], windows[len(windows) // 2], windows[-1]]
        fig, axes = plt.subplots(1, 3, figsize=(3 + 0.9 * padded.shape[1], 0.4 * padded.shape[0] + 1.2),
                                 layout="constrained")
        for ax, ((r, q), cells) in zip(axes, picks):
            colours = [[PAD_COLOUR if is_pad[i, j] else INPUT_COLOUR for j in range(padded.shape[1])]
                       for i in range(padded.shape[0])]
            _grid(ax, padded, f"output ({r}, {q}) of {out}×{out}", colours)
            for row, col in cells:
                _place(_outline(ax, WINDOW_COLOUR), row, col)
        plt.show()

    return widgets.interactive(draw, n=(1, 9), k=(1, 5), stride=(1, 3), padding=(0, 3), dilation=(1, 3))
