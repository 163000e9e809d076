"""Checks for the notebooks' test cells: assertions whose messages teach.

The functions here raise ``AssertionError`` with a message that says what was
expected, what came out and, where given, a hint about the likely mistake. ``forbid``
makes library functions unavailable while a hidden test runs, so that an exercise is
graded on the student's own code.
"""
from __future__ import annotations

import contextlib
import importlib

import numpy as np

# Bound at import time: a later monkeypatch of numpy does not change what these use.
_asarray, _isclose, _isfinite, _abs, _argmax = np.asarray, np.isclose, np.isfinite, np.abs, np.argmax


def _fail(message, hint):
    raise AssertionError(f"{message}: {hint}" if hint else message)


def check_shape(actual, expected, name="output", hint=""):
    """Assert ``np.shape(actual) == expected``."""
    shape = np.shape(actual)
    if tuple(shape) != tuple(expected):
        _fail(f"{name}: expected shape {tuple(expected)}, got {tuple(shape)}", hint)


def check_close(actual, expected, name="output", hint="", rtol=1e-6, atol=1e-8):
    """Assert that ``actual`` has ``expected``'s shape and equals it to ``rtol``/``atol``.

    The message shows the first differing position with both values.
    """
    if actual is None:
        _fail(f"{name} is None: did the function forget to `return` its result?", "")
    expected = _asarray(expected, dtype=float)
    check_shape(actual, expected.shape, name, hint)
    actual = _asarray(actual, dtype=float)
    if not _isfinite(actual).all():
        _fail(f"{name} contains NaN or inf", hint)
    ok = _isclose(actual, expected, rtol=rtol, atol=atol)
    if not ok.all():
        bad = np.unravel_index(_argmax(~ok), ok.shape)
        where = f" at index {tuple(int(i) for i in bad)}" if bad else ""
        n_bad = int(ok.size - ok.sum())
        _fail(f"{name} differs from the expected value{where}: expected {expected[bad]:.6g}, "
              f"got {actual[bad]:.6g} ({n_bad} of {ok.size} entries differ)", hint)


def check_equal(actual, expected, name="value", hint=""):
    """Assert ``actual == expected`` for plain values (ints, tuples, strings)."""
    if actual != expected:
        _fail(f"{name}: expected {expected!r}, got {actual!r}", hint)


def _resolve(target):
    module_name, _, attr = target.rpartition(".")
    return importlib.import_module(module_name), attr


@contextlib.contextmanager
def forbid(*targets, namespace=None):
    """Make the functions named by ``targets`` raise while the block runs.

    ``targets`` are dotted names such as ``"cnnlib.conv2d"`` or
    ``"scipy.signal.correlate2d"``. Every module attribute and every name in
    ``namespace`` (pass the notebook's ``globals()``) bound to one of those functions
    is replaced for the duration, then restored.
    """
    originals = {}
    for target in targets:
        module, attr = _resolve(target)
        originals[(module, attr)] = getattr(module, attr)
    banned = {id(f): name for (_, name), f in originals.items()}

    def stand_in(name):
        def refuse(*args, **kwargs):
            raise AssertionError(
                f"this exercise asks for your own implementation, but it called {name}()")
        return refuse

    patched_ns = {}
    if namespace is not None:
        patched_ns = {k: v for k, v in namespace.items() if id(v) in banned}
    try:
        for (module, attr) in originals:
            setattr(module, attr, stand_in(attr))
        for k, v in patched_ns.items():
            namespace[k] = stand_in(banned[id(v)])
        yield
    finally:
        for (module, attr), f in originals.items():
            setattr(module, attr, f)
        if namespace is not None:
            namespace.update(patched_ns)
