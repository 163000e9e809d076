"""Plotting helpers for the notebooks: every figure titled, axes labelled, colour bars
where the values matter.

Each function draws into a new figure (or the ``ax`` given) and returns the figure, so
that a notebook cell can end with ``plt.show()``.
"""
from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np


def _new_axes(ax, figsize):
    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


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
        lo, hi = im.get_clim()
        mid = (lo + hi) / 2
        for (i, j), v in np.ndenumerate(m):
            ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8,
                    color="black" if v > mid else "white")
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
    string per image. Axis labels go on the first image of each row. ``robust`` sets
    each image's colour limits to its 1st and 99th percentiles, so that a few extreme
    values (strong edges, say) do not wash out the rest.
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
