"""Mini-batch training, evaluation, prediction, and saving parameters to ``.npz`` files."""
from __future__ import annotations

import os
import sys
import time

import numpy as np

from ._checks import as_float_array
from .losses import check_labels, cross_entropy
from .optim import Adam

# The progress display turns itself on when the whole run is expected to take longer.
AUTO_PROGRESS_SECONDS = 2.0


def _check_data(X, y, name="X"):
    X = as_float_array(X, name)
    if X.ndim < 2 or X.shape[0] == 0:
        raise ValueError(f"{name} must be a non-empty batch of shape (N, ...), got shape {X.shape}")
    if y is None:
        return X, None
    y = np.asarray(y)
    if y.dtype.kind not in "iu":
        raise ValueError(f"labels must be integers (class indices), got dtype {y.dtype}")
    if y.ndim != 1 or y.shape[0] != X.shape[0]:
        raise ValueError(f"labels must have shape ({X.shape[0]},), one per sample of {name}, got {y.shape}")
    return X, y


def predict_scores(model, X, batch_size=256):
    """The model's output (e.g. class scores ``(N, K)``) for all of ``X``, in batches.

    Runs in evaluation mode and restores the previous mode afterwards.
    """
    X, _ = _check_data(X, None)
    was_training = model.training
    model.eval()
    try:
        return np.concatenate([model(X[i:i + batch_size]) for i in range(0, len(X), batch_size)])
    finally:
        model.train(was_training)


def predict(model, X, batch_size=256):
    """Predicted class of every sample: ``argmax`` of the scores, int64 ``(N,)``."""
    return predict_scores(model, X, batch_size).argmax(axis=1)


def evaluate(model, X, y, batch_size=256):
    """``(mean cross-entropy loss, accuracy)`` of ``model`` on ``X``, ``y``."""
    X, y = _check_data(X, y)
    scores = predict_scores(model, X, batch_size)
    y = check_labels(y, len(X), scores.shape[1])
    loss, _ = cross_entropy(scores, y)
    return loss, float((scores.argmax(axis=1) == y).mean())


class _Progress:
    """One text line per epoch; with ``enabled=None`` only once a run looks longer than 2 s."""

    def __init__(self, enabled, epochs, stream=None):
        self.enabled, self.epochs = enabled, epochs
        self.stream = stream or sys.stdout
        self.start = time.perf_counter()
        self.pending = []

    def epoch_done(self, epoch, history):
        elapsed = time.perf_counter() - self.start
        line = (f"epoch {epoch:>{len(str(self.epochs))}}/{self.epochs}  "
                f"loss {history['loss'][-1]:.4f}  acc {history['accuracy'][-1]:6.2%}")
        if history["val_loss"]:
            line += f"  val_loss {history['val_loss'][-1]:.4f}  val_acc {history['val_accuracy'][-1]:6.2%}"
        line += f"  [{elapsed:5.1f} s]"
        if self.enabled is None:
            expected_total = elapsed / epoch * self.epochs
            if expected_total <= AUTO_PROGRESS_SECONDS:
                self.pending.append(line)
                return
            self.enabled = True
        if self.enabled:
            for held in self.pending + [line]:
                print(held, file=self.stream, flush=True)
            self.pending = []


def fit(model, X, y, epochs=10, batch_size=64, optimizer=None, X_val=None, y_val=None,
        rng=None, progress=None):
    """Train ``model`` with mini-batch gradient descent on the cross-entropy loss.

    X: ``(N, ...)`` inputs, y: ``(N,)`` int labels. Each epoch visits the samples in a new
    order drawn from ``rng`` (a ``numpy.random.Generator`` or a seed; default seed 0, so a
    run is reproducible). ``optimizer`` defaults to ``Adam(model, lr=1e-3)``.

    ``progress``: True prints one line per epoch, False is silent, None (default) prints
    only when the run is expected to take longer than about 2 s.

    Returns the history, a dict of per-epoch lists: ``loss`` and ``accuracy`` (averaged
    over the epoch's mini-batches, in training mode) and ``val_loss``, ``val_accuracy``
    (empty unless ``X_val`` and ``y_val`` are given), ready for ``plt.plot``.
    """
    X, y = _check_data(X, y)
    if (X_val is None) != (y_val is None):
        raise ValueError("give both X_val and y_val, or neither")
    if X_val is not None:
        X_val, y_val = _check_data(X_val, y_val, "X_val")
    if not (isinstance(epochs, int) and epochs >= 1 and isinstance(batch_size, int) and batch_size >= 1):
        raise ValueError(f"epochs and batch_size must be positive ints, got {epochs!r}, {batch_size!r}")
    rng = rng if isinstance(rng, np.random.Generator) else np.random.default_rng(0 if rng is None else rng)
    optimizer = optimizer or Adam(model)
    history = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    bar = _Progress(progress, epochs)
    n = len(X)
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(n)
        total_loss = correct = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            optimizer.zero_grad()
            scores = model(X[idx])
            loss, grad = cross_entropy(scores, y[idx])
            model.backward(grad)
            optimizer.step()
            total_loss += loss * len(idx)
            correct += (scores.argmax(axis=1) == y[idx]).sum()
        history["loss"].append(total_loss / n)
        history["accuracy"].append(float(correct / n))
        if X_val is not None:
            val_loss, val_acc = evaluate(model, X_val, y_val)
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(val_acc)
        bar.epoch_done(epoch, history)
    return history


def _npz(path):
    """``path`` with the ``.npz`` suffix that ``np.savez`` would add anyway."""
    path = os.fspath(path)
    return path if path.endswith(".npz") else path + ".npz"


def save_params(model, path):
    """Write every parameter to an ``.npz`` file, keyed by its name (``"0.weight"``, ...)."""
    np.savez(_npz(path), **model.params)


def load_params(model, path):
    """Copy the parameters saved by :func:`save_params` into ``model`` (in place).

    The file must hold exactly the model's parameter names, with the same shapes;
    otherwise ``ValueError`` lists what is missing, unexpected or mismatched.
    """
    path = _npz(path)
    with np.load(path) as data:
        saved = {k: data[k] for k in data.files}
    params = model.params
    missing = sorted(set(params) - set(saved))
    unexpected = sorted(set(saved) - set(params))
    if missing or unexpected:
        raise ValueError(f"{path}: parameter names do not match the model; missing {missing}, "
                         f"unexpected {unexpected}")
    wrong = [f"{k}: model {params[k].shape}, file {saved[k].shape}"
             for k in params if params[k].shape != saved[k].shape]
    if wrong:
        raise ValueError(f"{path}: parameter shapes do not match: " + "; ".join(wrong))
    for k, p in params.items():
        p[...] = saved[k]
    return model
