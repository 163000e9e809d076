"""Checks for the notebooks' test cells: assertions whose messages teach.

The functions here raise ``AssertionError`` with a message that says what was
expected, what came out and, where given, a hint about the likely mistake. ``forbid``
makes library functions unavailable while a hidden test runs, so that an exercise is
graded on the student's own code. ``watch`` records NumPy's and cnnlib's functions so
that the grader can tell when a notebook replaced one of them.
"""
from __future__ import annotations

import builtins
import contextlib
import importlib
import sys
import types

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


# ---------------------------------------------------------------------------
# Tamper detection for autograding
# ---------------------------------------------------------------------------

_WATCHED_NUMPY = ("numpy", "numpy.testing", "numpy.linalg", "numpy.random")
_CHECKS = ("check_shape", "check_close", "check_equal", "forbid")


def _fingerprint(obj):
    # A function can be changed in place by swapping its code object.
    return id(obj), getattr(obj, "__code__", None)


def _watched_names(module, private):
    """``{name: fingerprint}`` of the functions, classes and modules ``module`` holds."""
    return {
        name: _fingerprint(value) for name, value in vars(module).items()
        if not name.startswith("__") and (private or not name.startswith("_"))
        and (callable(value) or isinstance(value, types.ModuleType))
    }


def watch():
    """Record NumPy's, cnnlib's and Python's built-in functions as they are now.

    Returns ``verify(namespace)``, which raises ``AssertionError`` naming every
    function that was replaced (or whose code was swapped) since, and every check
    function or module name in ``namespace`` (a notebook's ``globals()``) that no
    longer is the genuine one. The grader calls ``watch`` before a submission's first
    cell and ``verify`` at the end of every test cell, so that a notebook that
    patches ``np.allclose`` or redefines ``check_close`` cannot pass a check it fails.
    This catches patches, not a determined attack on the grader itself.
    """
    import cnnlib

    modules = {name: importlib.import_module(name) for name in _WATCHED_NUMPY}
    modules.update({name: m for name, m in sys.modules.items()
                    if m is not None and (name == "cnnlib" or name.startswith("cnnlib."))})
    recorded = {m: _watched_names(mod, private=m.startswith("cnnlib")) for m, mod in modules.items()}
    recorded["builtins"] = {name: _fingerprint(v) for name, v in vars(builtins).items()
                            if isinstance(v, (type, types.BuiltinFunctionType)) and not name.startswith("_")}
    modules["builtins"] = builtins
    genuine = {"np": modules["numpy"], "numpy": modules["numpy"], "cnnlib": cnnlib}
    genuine.update({name: globals()[name] for name in _CHECKS})

    def verify(namespace=None):
        changed = [f"{m}.{name}" for m, names in recorded.items() for name, fp in names.items()
                   if _fingerprint(getattr(modules[m], name, None)) != fp]
        if namespace is not None:
            changed += [f"the notebook's {name}" for name, obj in genuine.items()
                        if name in namespace and namespace[name] is not obj]
        if changed:
            shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            raise AssertionError(
                f"this notebook replaced {shown}: the checks cannot trust a patched function, so this "
                "test cell scores 0. Remove the code that reassigns it and run the notebook again.")

    return verify
