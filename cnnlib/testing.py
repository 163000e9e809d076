"""Checks for the notebooks' test cells: assertions whose messages teach.

The functions here raise ``AssertionError`` with a message that says what was
expected, what came out and, where given, a hint about the likely mistake. ``forbid``
makes library functions unavailable while a hidden test runs, so that an exercise is
graded on the student's own code; ``use_reference`` swaps in reference answers of the
earlier exercises a later one calls, so that one mistake costs points once. ``needs``
lets a demo below an unsolved exercise print one line instead of a traceback. (The
grader's own tamper check is ``course/integrity.py``, not part of the students' library.)
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import importlib.util
import sys
import types

import numpy as np

from . import conv as _conv, convert as _convert, nn as _nn, pool as _pool, shapes as _shapes

# Bound at import time: a later monkeypatch of numpy does not change what these use.
_asarray, _isclose, _isfinite, _argmax = np.asarray, np.isclose, np.isfinite, np.argmax


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


# ---------------------------------------------------------------------------
# Grading one exercise at a time: forbidden shortcuts and reference answers
# ---------------------------------------------------------------------------

# Code in these packages may call a forbidden function: the library's own functions keep
# working (cnnlib.conv2d calls conv2d_forward), and so do the references below.
_LIBRARY = ("cnnlib", "numpy", "scipy", "sklearn", "torch")
# Slow to import (SciPy's signal and scikit-learn's metrics: most of a second each): a twin in a
# module not loaded yet is not imported for the test; if the notebook imports that module inside
# the block, it is forbidden then.
_ONLY_IF_IMPORTED = ("scipy", "sklearn", "torch")

_NUMPY_CONVOLUTIONS = ("numpy.correlate", "numpy.convolve", "numpy.polymul")
_SCIPY_CONVOLUTIONS = (
    "scipy.signal.correlate", "scipy.signal.convolve", "scipy.signal.correlate2d",
    "scipy.signal.convolve2d", "scipy.signal.fftconvolve", "scipy.signal.oaconvolve",
    "scipy.signal.lfilter", "scipy.ndimage.correlate", "scipy.ndimage.convolve",
    "scipy.ndimage.correlate1d", "scipy.ndimage.convolve1d", "scipy.ndimage.uniform_filter",
)
_TORCH_CONVOLUTIONS = tuple(f"torch.nn.functional.{name}" for name in (
    "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "unfold", "fold"))
_TORCH_POOLING = tuple(f"torch.nn.functional.{kind}_pool{dim}d" for kind in ("max", "avg", "lp") for dim in (1, 2))
_CNNLIB_TRANSPOSED = (
    "cnnlib.conv_transpose2d", "cnnlib.conv_transpose2d_forward", "cnnlib.conv_transpose2d_backward",
    "cnnlib.conv2d_backward", "cnnlib.conv2d_matrix", "cnnlib.nn.ConvTranspose2d",
    "cnnlib.conv_reference.conv_transpose2d", "cnnlib.conv_reference.conv2d_backward",
)
# The routes behind cnnlib.conv2d (cnnlib/conv_strategies.py), callable on their own.
_CNNLIB_STRATEGIES = tuple(f"cnnlib.conv_strategies.{name}" for name in (
    "infer", "_im2col_forward", "_per_row_forward", "_conv2d_rows", "_conv2d_blocked", "_conv2d_per_row",
    "_by_phases", "_col2im", "_col2im_rows", "_im2col", "_im2col_rows"))
_CNNLIB_CONVOLUTIONS = (
    "cnnlib.correlate2d", "cnnlib.convolve2d", "cnnlib.conv1d", "cnnlib.conv2d", "cnnlib.conv2d_forward",
    "cnnlib.nn.Conv2d", "cnnlib.conv_reference.conv2d", *_CNNLIB_TRANSPOSED, *_CNNLIB_STRATEGIES,
)
_SCIPY_POOLING = ("scipy.ndimage.maximum_filter", "scipy.ndimage.maximum_filter1d",
                  "scipy.ndimage.uniform_filter", "scipy.ndimage.uniform_filter1d")
_CNNLIB_POOLING = tuple(f"cnnlib.{kind}_pool2d{part}" for kind in ("max", "avg", "lp", "adaptive_avg", "adaptive_max")
                        for part in ("", "_forward", "_backward")) + (
    "cnnlib.global_avg_pool2d", "cnnlib.global_max_pool2d", "cnnlib.nn.MaxPool2d", "cnnlib.nn.AvgPool2d",
    "cnnlib.nn.AdaptiveAvgPool2d", "cnnlib.nn.AdaptiveMaxPool2d", "cnnlib.nn.GlobalAvgPool2d")

#: Named families of functions that do the same job, for ``forbid("convolution")``.
FAMILIES = {
    "numpy_convolution": _NUMPY_CONVOLUTIONS,
    "scipy_convolution": _SCIPY_CONVOLUTIONS,
    "cnnlib_convolution": _CNNLIB_CONVOLUTIONS,
    "cnnlib_transposed": _CNNLIB_TRANSPOSED,
    "torch_convolution": _TORCH_CONVOLUTIONS,
    "convolution": _NUMPY_CONVOLUTIONS + _SCIPY_CONVOLUTIONS + _CNNLIB_CONVOLUTIONS + _TORCH_CONVOLUTIONS,
    "transposed": _CNNLIB_TRANSPOSED + _CNNLIB_STRATEGIES + ("torch.nn.functional.conv_transpose2d",
                                                             "torch.nn.functional.fold"),
    "pooling": _CNNLIB_POOLING + _SCIPY_POOLING + _TORCH_POOLING,
    "output_size": ("cnnlib.conv_output_size", "cnnlib.conv_transpose_output_size", "cnnlib.receptive_field"),
}


def _resolve(target):
    """The object a dotted name such as ``"scipy.signal.correlate2d"`` names."""
    module_name, _, attr = target.rpartition(".")
    try:
        return getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError):
        # "cnnlib.nn.Conv2d": the module is cnnlib.nn; "numpy.lib.x.y": import as far as possible.
        head, _, rest = module_name.rpartition(".")
        if not head:
            raise
        return getattr(_resolve(f"{head}.{rest}"), attr)


def _not_loaded(name):
    """Whether the twin ``name`` lives in a slow module (:data:`_ONLY_IF_IMPORTED`) not loaded yet."""
    return name.split(".")[0] in _ONLY_IF_IMPORTED and name.rpartition(".")[0] not in sys.modules


def _targets(targets, later=None):
    """``{id: (object, shown name)}`` for the dotted names, family names and objects in ``targets``.

    Dotted names and family members in slow modules not loaded yet (:func:`_not_loaded`) go
    into ``later`` (``{module: [names]}``).
    """
    found = {}
    for target in targets:
        if target is None:
            continue
        if isinstance(target, str) and "." not in target:
            if target not in FAMILIES:
                raise KeyError(f"forbid: no family {target!r}; families: {', '.join(FAMILIES)}")
            for name in FAMILIES[target]:
                if _not_loaded(name):
                    if later is not None:
                        later.setdefault(name.rpartition(".")[0], []).append(name)
                    continue
                try:
                    obj = _resolve(name)
                except (ImportError, AttributeError):  # e.g. SciPy not installed: nothing to forbid
                    continue
                found.setdefault(id(obj), (obj, name))
        elif isinstance(target, str):
            if later is not None and _not_loaded(target):
                later.setdefault(target.rpartition(".")[0], []).append(target)
                continue
            obj = _resolve(target)
            found.setdefault(id(obj), (obj, target))
        elif callable(target):
            module = getattr(target, "__module__", None) or ""
            name = getattr(target, "__qualname__", None) or repr(target)
            shown = f"your {name}" if module == "__main__" else f"{module}.{name}"
            found.setdefault(id(target), (target, shown))
        else:
            raise TypeError(f"forbid: {target!r} is neither a name nor a function")
    return found


def _called_by_library(depth):
    """Whether the code ``depth`` frames up belongs to cnnlib, NumPy or SciPy."""
    caller = sys._getframe(depth + 1).f_globals.get("__name__") or ""
    return caller.split(".")[0] in _LIBRARY


def _refusal(shown, why):
    message = f"this exercise asks for your own implementation, but it called {shown}()"
    return AssertionError(f"{message}: {why}" if why else message)


def _refusing_function(original, shown, why):
    def refuse(*args, **kwargs):
        if _called_by_library(1):
            return original(*args, **kwargs)
        raise _refusal(shown, why)
    refuse.__name__ = refuse.__qualname__ = getattr(original, "__name__", "refuse")
    refuse.__doc__ = f"Forbidden in this test: {shown}."
    return refuse


def _refusing_init(original_init, shown, why):
    def __init__(self, *args, **kwargs):
        if _called_by_library(1):
            return original_init(self, *args, **kwargs)
        raise _refusal(shown, why)
    return __init__


def _held_references(namespace, wanted):
    """``(value, put)`` for each place where the notebook's own code keeps a value that
    ``wanted(value)`` picks: its names in ``namespace``, the default arguments and closure
    variables of the functions defined there (and of the notebook's functions those closures
    hold), the attributes of its classes (methods' defaults and closures included), and the
    function of a ``functools.partial`` bound to a name. ``put(v)`` stores ``v`` there."""
    home = namespace.get("__name__", "__main__")
    found, seen = [], set()

    def walk(fn):
        if not isinstance(fn, types.FunctionType) or fn.__module__ != home or id(fn) in seen:
            return
        seen.add(id(fn))
        for i, value in enumerate(fn.__defaults__ or ()):
            if wanted(value):
                found.append((value, lambda v, i=i: setattr(
                    fn, "__defaults__", fn.__defaults__[:i] + (v,) + fn.__defaults__[i + 1:])))
        for key, value in (fn.__kwdefaults__ or {}).items():
            if wanted(value):
                found.append((value, lambda v, k=key: setattr(fn, "__kwdefaults__", {**fn.__kwdefaults__, k: v})))
        for cell in fn.__closure__ or ():
            try:
                value = cell.cell_contents
            except ValueError:  # a variable not assigned yet
                continue
            if wanted(value):
                found.append((value, lambda v, c=cell: setattr(c, "cell_contents", v)))
            walk(value)

    for name, value in list(namespace.items()):
        if wanted(value):
            found.append((value, lambda v, n=name: namespace.__setitem__(n, v)))
        if isinstance(value, types.FunctionType):
            walk(value)
        elif isinstance(value, type) and value.__module__ == home:
            for attr, member in list(vars(value).items()):
                if isinstance(member, (staticmethod, classmethod)):
                    if wanted(member.__func__):
                        found.append((member.__func__, lambda v, c=value, a=attr, m=member: setattr(
                            c, a, m if v is m.__func__ else type(m)(v))))
                    walk(member.__func__)
                else:
                    if wanted(member):
                        found.append((member, lambda v, c=value, a=attr: setattr(c, a, v)))
                    walk(member)
        elif isinstance(value, functools.partial) and wanted(value.func):
            # A partial's function is read-only: a new partial in its place, then the old one back.
            found.append((value.func, lambda v, n=name, p=value: namespace.__setitem__(
                n, p if v is p.func else functools.partial(v, *p.args, **p.keywords))))
    return found


def _library_modules(extra_roots=()):
    roots = set(_LIBRARY) | set(extra_roots)
    return [m for name, m in list(sys.modules.items())
            if m is not None and name.split(".")[0] in roots and isinstance(m, types.ModuleType)]


@contextlib.contextmanager
def forbid(*targets, namespace=None, why=""):
    """Make the functions in ``targets`` raise ``AssertionError`` when the notebook calls them.

    ``targets`` are dotted names (``"scipy.signal.correlate2d"``, ``"cnnlib.conv2d"``),
    family names from :data:`FAMILIES` (``"convolution"``: cnnlib's, NumPy's and SciPy's
    ways to compute a convolution), or objects (the notebook's own ``zero_insert``;
    ``None`` is skipped, for ``globals().get(name)`` of a function the notebook may lack).
    A function is forbidden by identity: every name bound to it in a loaded cnnlib,
    NumPy or SciPy module, and in ``namespace`` (pass the notebook's ``globals()``), is
    replaced for the duration, so ``cnnlib.conv.conv2d`` is as forbidden as
    ``cnnlib.conv2d``; so is a reference that the notebook's own functions and classes
    hold (a default argument ``def f(x, c=np.convolve)``, a closure's variable, a class
    attribute, a ``functools.partial`` in ``namespace``; see :func:`_held_references`).
    A class is forbidden by refusing its construction. Calls from
    library code itself still work (``cnnlib.conv2d`` may call ``conv2d_forward``), so
    the test can allow one function and forbid another. ``why`` ends the message.
    A twin in SciPy, scikit-learn or PyTorch whose module is not loaded is not imported
    for the block (that takes most of a second); if the notebook imports it inside the
    block, it is forbidden then. Everything is restored on leaving the block, also when
    it raises.
    """
    later = {}
    found = _targets(targets, later)
    functions, stand_ins, undo, refused = {}, {}, [], set()

    def refuse(new):
        """Refuse what ``new`` (``{id: (object, shown)}``) holds and was not refused yet: a
        class's construction, and every alias of a function."""
        new = {i: f for i, f in new.items() if i not in refused}
        refused.update(new)
        for cls, shown in (f for f in new.values() if isinstance(f[0], type)):
            if "__init__" in vars(cls):
                undo.append((setattr, cls, "__init__", vars(cls)["__init__"]))
            else:
                undo.append((delattr, cls, "__init__"))
            cls.__init__ = _refusing_init(cls.__init__, shown, why)
        new = {i: f for i, f in new.items() if not isinstance(f[0], type)}
        if not new:
            return
        functions.update(new)
        stand_ins.update({i: _refusing_function(obj, shown, why) for i, (obj, shown) in new.items()})

        def is_new(value):
            return id(value) in new and value is functions[id(value)][0]

        roots = {(getattr(obj, "__module__", None) or "").split(".")[0] for obj, _ in functions.values()}
        ids = new.keys()
        for module in _library_modules(roots - {"__main__", "builtins", ""}):
            if ids.isdisjoint(map(id, vars(module).values())):  # most modules: no Python loop over them
                continue
            # is_new(value) written out: this loop runs over hundreds of NumPy's names per block.
            for attr, value in list(vars(module).items()):
                if id(value) in new and value is functions[id(value)][0]:
                    undo.append((setattr, module, attr, value))
                    setattr(module, attr, stand_ins[id(value)])
        if namespace is not None:
            for value, put in _held_references(namespace, is_new):
                undo.append((put, value))
                put(stand_ins[id(value)])

    def imported(module_name):
        refuse(_targets(later.pop(module_name)))

    watcher = _ImportWatcher(later, imported) if later else None
    try:
        refuse(found)
        if watcher:
            sys.meta_path.insert(0, watcher)
        yield
    finally:
        if watcher in sys.meta_path:
            sys.meta_path.remove(watcher)
        for action, *args in reversed(undo):
            action(*args)


class _ImportWatcher:
    """A finder that lets a watched module import, then calls ``imported(name)``:
    :func:`forbid` then refuses the twins it holds, without importing it beforehand."""

    def __init__(self, watched, imported):
        self.watched, self.imported = watched, imported

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in self.watched:
            return None
        sys.meta_path.remove(self)  # the real finders, for this one module
        try:
            spec = importlib.util.find_spec(fullname)
        finally:
            sys.meta_path.insert(0, self)
        if spec is None or spec.loader is None:
            return spec
        run, done = spec.loader.exec_module, self.imported

        def exec_module(module):
            run(module)
            sys.modules[fullname] = module
            done(fullname)

        spec.loader = _Loader(spec.loader, exec_module)
        return spec


class _Loader:
    """``loader`` with another ``exec_module``."""

    def __init__(self, loader, exec_module):
        self._loader, self.exec_module = loader, exec_module

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def __getattr__(self, name):
        return getattr(self._loader, name)


# References call the library through its modules: inside ``forbid`` they still work,
# because calls from cnnlib are let through.

def _ref_correlate2d_valid(image, kernel):
    return _conv.correlate2d(image, kernel, mode="valid")


def _ref_conv_matrix(kernel, input_shape, stride=1):
    return _conv.conv2d_matrix(_asarray(kernel, dtype=float)[None, None], input_shape, stride=stride)


def _ref_circular_conv2d(x, w):
    w = _asarray(w, dtype=float)
    kh, kw = w.shape
    pads = (((kh - 1) // 2, kh // 2), ((kw - 1) // 2, kw // 2))
    return _conv.correlate2d(np.pad(_asarray(x, dtype=float), pads, mode="wrap"), w)


def _ref_pool1d(x, width, stride=1, mode="max"):
    x = _asarray(x, dtype=float)[None, :, None, :]
    if mode == "l2":
        return _pool.lp_pool2d(x, 2, (1, width), stride=(1, stride))[0, :, 0, :]
    pooling = {"max": _pool.max_pool2d, "avg": _pool.avg_pool2d}[mode]
    return pooling(x, (1, width), stride=(1, stride))[0, :, 0, :]


def _ref_zero_insert(x, stride):
    x = _asarray(x, dtype=float)
    return _conv.conv_transpose2d(x[:, None], np.ones((1, 1, 1, 1)), stride=stride)[:, 0]


def _ref_linear_to_conv_weight(weight, in_shape):
    linear = _nn.Linear(np.shape(weight)[1], np.shape(weight)[0], rng=0)
    linear.weight = weight
    return _convert.fc_to_conv(linear, in_shape).weight


def _ref_crops(x, size, stride):
    view = np.lib.stride_tricks.sliding_window_view(_asarray(x), (size, size), axis=(1, 2))
    return np.ascontiguousarray(view[:, ::stride, ::stride].transpose(1, 2, 0, 3, 4))


def _ref_conv_layer_cost(W, H, C, K, kw, kh, sw=1, sh=1):
    w_out, h_out = _shapes.conv_output_size(W, kw, stride=sw), _shapes.conv_output_size(H, kh, stride=sh)
    weights = K * kw * kh * C
    return {"output": (w_out, h_out, K), "weights": weights, "biases": K, "mult_adds": w_out * h_out * weights}


class _RefResidualBlock(_nn.Residual):
    """The reference ``ResidualBlock``: cnnlib's ``Residual`` under the exercise's name."""


_RefResidualBlock.__name__ = _RefResidualBlock.__qualname__ = "ResidualBlock"

#: Reference answers of the exercises that later exercises build on, by their names in the notebooks.
REFERENCES = {
    "correlate2d_valid": _ref_correlate2d_valid,
    "conv_matrix": _ref_conv_matrix,
    "circular_conv2d": _ref_circular_conv2d,
    "pool1d": _ref_pool1d,
    "zero_insert": _ref_zero_insert,
    "conv_layer_cost": _ref_conv_layer_cost,
    "linear_to_conv_weight": _ref_linear_to_conv_weight,
    "crops": _ref_crops,
    "ResidualBlock": _RefResidualBlock,
}


@contextlib.contextmanager
def use_reference(namespace, *names, **references):
    """Run the block with reference versions of earlier exercises in ``namespace``.

    ``names`` are exercises listed in :data:`REFERENCES` (``use_reference(globals(),
    "zero_insert")``); ``references`` give others by keyword (``zero_insert=my_ref``).
    A later exercise that calls an earlier one is then graded on its own work: a
    mistake in ``zero_insert`` costs the points of ``zero_insert`` only. The notebook's
    own versions are put back on leaving the block, also when it raises.
    """
    for name in names:
        if name not in REFERENCES:
            raise KeyError(f"use_reference: no reference for {name!r}; known: {', '.join(REFERENCES)}")
        references.setdefault(name, REFERENCES[name])
    missing = object()
    saved = {name: namespace.get(name, missing) for name in references}
    try:
        namespace.update(references)
        yield
    finally:
        for name, value in saved.items():
            if value is missing:
                namespace.pop(name, None)
            else:
                namespace[name] = value


#: The start of the message of an exercise's stub (``raise NotImplementedError(...)``).
STUB_MESSAGE = "replace this line with your code"
_unsolved = set()


class needs:
    """Run a demo that uses exercises; while one is unsolved, print one line instead.

    ``with needs(layer_costs=2):`` around a demo cell (the exercises it uses, by name,
    with their numbers): if the block reaches an exercise's stub (a ``NotImplementedError``
    whose message starts with :data:`STUB_MESSAGE`), the cell prints "solve exercise 2
    (`layer_costs`) to see this" instead of a traceback. The exercise is remembered as
    unsolved, so that later demos that need it also print the line rather than fail on
    what the first demo could not compute; a block that runs through forgets that. Any
    other error propagates: in a solved notebook nothing is hidden.
    """

    def __init__(self, **exercises):
        self.labels = {name: f"exercise {number} (`{name}`)" for name, number in exercises.items()}

    def __enter__(self):
        return self

    def _stub_of(self, traceback):
        """The exercise whose stub raised: the innermost frame of the traceback that is one."""
        found = None
        while traceback is not None:
            frame = traceback.tb_frame
            owner = frame.f_locals.get("self")
            for name in (frame.f_code.co_name, type(owner).__name__ if owner is not None else None):
                if name in self.labels:
                    found = name
            traceback = traceback.tb_next
        return found

    def __exit__(self, kind, error, traceback):
        if kind is None:
            _unsolved.difference_update(self.labels.values())
            return False
        if isinstance(error, NotImplementedError) and str(error).startswith(STUB_MESSAGE):
            name = self._stub_of(traceback)
            missing = [self.labels[name]] if name else list(self.labels.values())
            _unsolved.update(missing)
        elif isinstance(error, Exception):
            missing = [label for label in self.labels.values() if label in _unsolved]
        else:
            missing = []
        if not missing:
            return False
        if "matplotlib.pyplot" in sys.modules:   # no half-drawn figure below the message
            sys.modules["matplotlib.pyplot"].close("all")
        print(f"solve {' and '.join(missing)} to see this")
        return True
