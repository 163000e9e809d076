"""Plotting helpers for the notebooks: every figure titled, axes labelled, colour bars
where the values matter.

Each function draws into a new figure (or the ``ax`` given) and returns the figure, so
that a notebook cell can end with ``plt.show()``.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator


def _new_axes(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def _text_colour(im, value):
    """Black on light cells, white on dark ones, whatever the colour map."""
    r, g, b, _ = im.cmap(im.norm(value))
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def show_matrix(m, title, xlabel="column", ylabel="row", ax=None, annotate=None,
                cmap="viridis", colorbar=True, fmt="{:g}", vmin=None, vmax=None, figsize=(4, 3.5)):
    """Draw a 2-D array as a heat map with integer ticks.

    ``annotate`` (default: when the matrix has at most 12×12 entries) writes each value
    in its cell, for worked examples small enough to check by hand.
    """
    m = np.asarray(m)
    fig, ax = _new_axes(ax, figsize)
    im = ax.imshow(m, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if annotate is None:
        annotate = m.shape[0] <= 12 and m.shape[1] <= 12
    if annotate:
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8, color=_text_colour(im, v))
    if m.shape[1] <= 12:
        ax.set_xticks(range(m.shape[1]))
    if m.shape[0] <= 12:
        ax.set_yticks(range(m.shape[0]))
    if colorbar:
        fig.colorbar(im, ax=ax, shrink=0.8)
    return fig


def show_images(images, titles, suptitle=None, ncols=None, cmap="gray", colorbar=True,
                vmin=None, vmax=None, robust=False, xlabel="x (column)", ylabel="y (row)", size=2.6):
    """Draw 2-D arrays side by side, each with its title and colour bar.

    ``images`` is a sequence of (H, W) arrays (or an array (K, H, W)); ``titles`` one
    string per image. Axis labels go on the first image of each row; ticks are whole
    pixel indices. ``robust`` sets each image's colour limits to its 1st and 99th
    percentiles, so that a few extreme values (strong edges, say) do not wash out the rest.
    """
    images = [np.asarray(im) for im in images]
    if len(titles) != len(images):
        raise ValueError(f"got {len(images)} images but {len(titles)} titles")
    n = len(images)
    ncols = ncols or min(n, 4)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols + 0.6, size * nrows + 0.4),
                             layout="constrained", squeeze=False)
    for k, ax in enumerate(axes.flat):
        if k >= n:
            ax.axis("off")
            continue
        lo, hi = np.percentile(images[k], [1, 99]) if robust else (vmin, vmax)
        im = ax.imshow(images[k], cmap=cmap, vmin=lo, vmax=hi, interpolation="nearest")
        ax.set_title(titles[k], fontsize=10)
        for axis in (ax.xaxis, ax.yaxis):  # pixel indices, not 2.5
            axis.set_major_locator(MaxNLocator(nbins="auto", integer=True))
        if k % ncols == 0:
            ax.set_xlabel(xlabel)
            ax.set_ylabel(ylabel)
        if colorbar:
            fig.colorbar(im, ax=ax, shrink=0.75)
    if suptitle:
        fig.suptitle(suptitle)
    return fig


def show_connections(dependency, title, ax=None, input_label="inputs x", output_label="outputs s",
                     figsize=(6, 2.4)):
    """Draw a layer as two rows of units joined by a line for every nonzero dependency.

    ``dependency`` is an (n_out, n_in) 0/1 matrix: entry (i, j) is 1 when output i
    depends on input j (as in Goodfellow et al., figures 9.2 and 9.3).
    """
    d = np.asarray(dependency)
    n_out, n_in = d.shape
    fig, ax = _new_axes(ax, figsize)
    x_in = np.arange(n_in) - (n_in - 1) / 2
    x_out = np.arange(n_out) - (n_out - 1) / 2
    for i, j in zip(*np.nonzero(d)):
        ax.plot([x_in[j], x_out[i]], [0, 1], color="tab:gray", lw=1, zorder=1)
    ax.scatter(x_in, np.zeros(n_in), s=260, color="tab:blue", zorder=2)
    ax.scatter(x_out, np.ones(n_out), s=260, color="tab:orange", zorder=2)
    for k, x in enumerate(x_in):
        ax.text(x, 0, str(k + 1), ha="center", va="center", color="white", fontsize=8, zorder=3)
    for k, x in enumerate(x_out):
        ax.text(x, 1, str(k + 1), ha="center", va="center", color="white", fontsize=8, zorder=3)
    ax.set_yticks([0, 1], [input_label, output_label])
    ax.set_xticks([])
    ax.set_ylim(-0.4, 1.4)
    ax.set_xlabel("position")
    ax.set_title(title)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    return fig


def connected(dependencies, layer, unit):
    """Boolean masks, one per level (level 0 = the input), of the units linked to one unit.

    ``dependencies[l]`` is the (n_{l+1}, n_l) 0/1 dependency matrix of layer l + 1 (as
    :func:`show_connections` takes). Starting from ``unit`` (an index) of level ``layer``,
    walks down to the input (the unit's receptive field) and up to the top (the units it
    affects, directly or through others).
    """
    deps = [np.asarray(d) != 0 for d in dependencies]
    sizes = [deps[0].shape[1]] + [d.shape[0] for d in deps]
    marked = [np.zeros(size, bool) for size in sizes]
    marked[layer][unit] = True
    for l in range(layer, 0, -1):                       # down: what does the unit read?
        marked[l - 1] = deps[l - 1][marked[l]].any(axis=0)
    for l in range(layer, len(deps)):                   # up: which units read it?
        marked[l + 1] = deps[l][:, marked[l]].any(axis=1)
    return marked


def _unit_positions(sizes, geometry):
    """x-coordinate of every unit, level by level: evenly spaced and centred, or, with
    ``geometry`` (one ``(k, stride, padding)`` per layer), above the centre of its window."""
    if geometry is None:
        return [np.arange(n) - (n - 1) / 2 for n in sizes]
    xs = [np.arange(sizes[0]) - (sizes[0] - 1) / 2]
    for (k, s, p), n in zip(geometry, sizes[1:]):
        below = xs[-1]                                  # evenly spaced: interpolate linearly
        xs.append(below[0] + (below[1] - below[0]) * (np.arange(n) * s - p + (k - 1) / 2))
    return xs


def show_stack(dependencies, title, layer, unit, names=None, ax=None, geometry=None,
               figsize=(6, 2.6)):
    """Draw a stack of layers as rows of numbered units, level 0 (the input) at the bottom.

    ``dependencies`` as in :func:`connected`: a line joins two units wherever the matrix
    has a 1. The unit ``unit`` of level ``layer`` and everything :func:`connected` to it
    (its receptive field below, the units it affects above) are drawn in red, the rest in
    blue and grey (Goodfellow et al., figures 9.2-9.4). Units are numbered from 1, as in
    the book. ``names`` labels the levels; ``geometry`` (one ``(k, stride, padding)`` per
    layer) puts each unit above the centre of the window it reads.
    """
    marked = connected(dependencies, layer, unit)
    names = names if names is not None else [f"level {l}" for l in range(len(marked))]
    if len(names) != len(marked):
        raise ValueError(f"got {len(names)} names for {len(marked)} levels")
    xs = _unit_positions([len(m) for m in marked], geometry)
    fig, ax = _new_axes(ax, figsize)
    for l, d in enumerate(dependencies):
        for i, j in zip(*np.nonzero(np.asarray(d))):
            hot = marked[l + 1][i] and marked[l][j]
            ax.plot([xs[l][j], xs[l + 1][i]], [l, l + 1], color="tab:red" if hot else "lightgray",
                    lw=2 if hot else 1, zorder=2 if hot else 1)
    for l, m in enumerate(marked):
        ax.scatter(xs[l], np.full(len(m), l), s=230, zorder=3,
                   color=["tab:red" if v else "tab:blue" for v in m])
        for k, x in enumerate(xs[l]):
            ax.text(x, l, str(k + 1), ha="center", va="center", color="white", fontsize=8, zorder=4)
    ax.set_yticks(range(len(marked)), names)
    ax.set_xticks([])
    ax.set_xlabel("position")
    ax.set_ylim(-0.4, len(marked) - 0.6)
    ax.set_title(title, fontsize=10)
    for side in ("top", "right", "bottom"):
        ax.spines[side].set_visible(False)
    return fig


def plot_history(history, title="Training history"):
    """Loss and accuracy per epoch from the ``history`` dict returned by ``cnnlib.fit``."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2), layout="constrained")
    epochs = np.arange(1, len(history["loss"]) + 1)
    for key, ax in (("loss", ax_loss), ("accuracy", ax_acc)):
        ax.plot(epochs, history[key], marker="o", label="train")
        if history.get(f"val_{key}"):
            ax.plot(epochs, history[f"val_{key}"], marker="s", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(key)
        ax.legend()
    fig.suptitle(title)
    return fig
