"""The grader's tamper check: has a notebook replaced NumPy's, cnnlib's or the checks' functions?

:class:`course.autograding.InjectIntegrityChecks` runs this file's source in the grading
kernel before a submission's first cell (as code, not as an import: the sandboxed kernel
sees cnnlib but not the course) and calls the ``verify`` it makes at the end of every test
cell; :class:`course.autograding.RemoveIntegrityChecks` takes both out again afterwards.
It needs nothing but the standard library, NumPy and cnnlib.
"""
import builtins
import importlib
import sys
import types

_WATCHED_NUMPY = ("numpy", "numpy.testing", "numpy.linalg", "numpy.random")
_CHECKS = ("check_shape", "check_close", "check_equal", "forbid", "use_reference")


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
    import cnnlib.testing

    modules = {name: importlib.import_module(name) for name in _WATCHED_NUMPY}
    modules.update({name: m for name, m in sys.modules.items()
                    if m is not None and (name == "cnnlib" or name.startswith("cnnlib."))})
    recorded = {m: _watched_names(mod, private=m.startswith("cnnlib")) for m, mod in modules.items()}
    recorded["builtins"] = {name: _fingerprint(v) for name, v in vars(builtins).items()
                            if isinstance(v, (type, types.BuiltinFunctionType)) and not name.startswith("_")}
    modules["builtins"] = builtins
    genuine = {"np": modules["numpy"], "numpy": modules["numpy"], "cnnlib": cnnlib}
    genuine.update({name: getattr(cnnlib.testing, name) for name in _CHECKS})

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
