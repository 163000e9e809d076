"""Gradient checking: compare a backward pass with central differences, in float64.

The derivative of a scalar function f with respect to one entry x_i is approximated by
``(f(x + h e_i) - f(x - h e_i)) / (2h)``, whose error is O(h^2). In float64 with
h = 1e-6 an analytic gradient that is right agrees to about 1e-8 or better; a wrong
one (a missing transpose, a forgotten term) is off by 1e-2 or more.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import numpy as np

from ._checks import as_float_array
from .losses import cross_entropy

DEFAULT_TOL = 1e-6


def rel_error(a, b):
    """Relative error ``||a - b|| / (||a|| + ||b||)`` (Frobenius norms); 0 when both are 0.

    A norm-wise ratio, not an element-wise maximum, so that entries whose true gradient
    is almost zero do not dominate through their round-off.
    """
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"rel_error: shapes differ, {a.shape} and {b.shape}")
    denom = np.linalg.norm(a) + np.linalg.norm(b)
    return 0.0 if denom == 0 else float(np.linalg.norm(a - b) / denom)


def numerical_gradient(f, x, h=1e-6, index=None):
    """Central-difference gradient of the scalar function ``f()`` with respect to array ``x``.

    ``x`` is changed in place entry by entry (and restored), so ``f`` must read the very
    array ``x`` (a parameter of a model, or an input held by a closure). ``index`` (a
    tuple of index arrays, e.g. from ``np.nonzero``) restricts the estimate to those
    entries; the others are left at 0.

    One evaluation of f per entry and sign: use small arrays.
    """
    grad = np.zeros(x.shape, dtype=np.float64)
    positions = np.ndindex(x.shape) if index is None else zip(*index)
    for i in positions:
        old = x[i]
        x[i] = old + h
        f_plus = f()
        x[i] = old - h
        f_minus = f()
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


@dataclass
class GradientReport:
    """Relative errors of a gradient check, one per checked array (``"input"``, ``"weight"``, ...)."""

    errors: dict = field(default_factory=dict)
    tol: float = DEFAULT_TOL

    @property
    def max_error(self):
        return max(self.errors.values(), default=0.0)

    @property
    def passed(self):
        return self.max_error < self.tol

    def __bool__(self):
        return self.passed

    def __str__(self):
        width = max([len(k) for k in self.errors] + [5])
        lines = [f"gradient check (central differences, float64), relative errors, tol {self.tol:g}:"]
        lines += [f"  {name:<{width}}  {err:.2e}  {'ok' if err < self.tol else 'FAIL'}"
                  for name, err in self.errors.items()]
        return "\n".join(lines)


def _pick(shape, num_checks, rng):
    """All entries, or ``num_checks`` random ones as an index tuple."""
    size = int(np.prod(shape))
    if num_checks is None or num_checks >= size:
        return None
    return np.unravel_index(rng.choice(size, num_checks, replace=False), shape)


def _compare(report, name, analytic, numeric, index):
    if index is not None:
        analytic, numeric = analytic[index], numeric[index]
    report.errors[name] = rel_error(analytic, numeric)


def _check(model, x, loss_and_grad, h, num_checks, rng, tol, check_input):
    """Shared work: analytic gradients from one backward pass, then central differences."""
    model.zero_grad()
    _, grad_out = loss_and_grad(model(x))
    dx = model.backward(grad_out)
    report = GradientReport(tol=tol)

    def f():
        return loss_and_grad(model(x))[0]

    if check_input:
        index = _pick(x.shape, num_checks, rng)
        _compare(report, "input", dx, numerical_gradient(f, x, h, index), index)
    for name, p, g in model.named_parameters():
        index = _pick(p.shape, num_checks, rng)
        _compare(report, name, g, numerical_gradient(f, p, h, index), index)
    return report


def _float64_copy(module, x):
    module = copy.deepcopy(module).to(np.float64)
    x = np.array(as_float_array(x, "x"), dtype=np.float64)  # a copy: it is perturbed
    return module, x


def check_layer_gradients(layer, x, h=1e-6, num_checks=None, rng=None, tol=DEFAULT_TOL,
                          check_input=True):
    """Check ``layer.backward`` against central differences of ``loss = sum(layer(x) * r)``.

    ``r`` is a fixed random array shaped like the output (a random projection), so the
    upstream gradient is ``r`` and every output entry matters. The check runs on a
    float64 copy of the layer; the layer itself is not changed.

    ``num_checks``: check only that many random entries of each array (for big layers).
    Returns a :class:`GradientReport` (print it; ``report.passed`` is the verdict).
    """
    rng = np.random.default_rng(0 if rng is None else rng)
    layer, x = _float64_copy(layer, x)
    r = rng.standard_normal(layer(x).shape)

    def loss_and_grad(out):
        return float(np.sum(out * r)), r

    return _check(layer, x, loss_and_grad, h, num_checks, rng, tol, check_input)


def check_model_gradients(model, x, y, h=1e-6, num_checks=None, rng=None, tol=DEFAULT_TOL,
                          check_input=True):
    """Check the gradients of ``cross_entropy(model(x), y)`` for every parameter and the input.

    Runs on a float64 copy of ``model`` (left unchanged). Returns a :class:`GradientReport`
    with one entry per parameter (``"0.weight"``, ...) and ``"input"``.
    """
    rng = np.random.default_rng(0 if rng is None else rng)
    model, x = _float64_copy(model, x)
    return _check(model, x, lambda out: cross_entropy(out, y), h, num_checks, rng, tol, check_input)
