"""cnnlib.testing's grading helpers: ``forbid`` by identity, ``use_reference``, and their
peace with the tamper check ``watch``.

A notebook is simulated by a namespace whose ``__name__`` is ``"__main__"``: code
executed in it is the student's code, which ``forbid`` refuses, while code in cnnlib,
NumPy and SciPy may still call a forbidden function.
"""
import ast
import subprocess
import sys

import nbformat
import numpy as np
import pytest
import scipy.ndimage
import scipy.signal
import scipy.signal._signaltools

import cnnlib
import cnnlib.conv
import cnnlib.nn
from cnnlib.testing import FAMILIES, REFERENCES, _resolve, forbid, use_reference
from course import ROOT
from course.integrity import watch


def notebook(source):
    """A namespace in which ``source`` was run as a notebook cell."""
    ns = {"__name__": "__main__", "np": np, "cnnlib": cnnlib}
    exec(compile(source, "<cell>", "exec"), ns)
    return ns


def refused(fn, *args, **kwargs):
    with pytest.raises(AssertionError, match="your own implementation") as err:
        fn(*args, **kwargs)
    return str(err.value)


X, W = np.arange(20.0).reshape(4, 5), np.array([[1.0, 2.0], [0.0, -1.0]])


def test_every_alias_of_a_forbidden_function_refuses_the_notebook():
    ns = notebook("from cnnlib.conv import conv2d as c2\n"
                  "def via_alias(x, w): return c2(x, w)\n"
                  "def via_submodule(x, w): return cnnlib.conv.conv2d(x, w)\n"
                  "def via_package(x, w): return cnnlib.conv2d(x, w)\n")
    x, w = X[None, None], W[None, None]
    originals = (cnnlib.conv2d, cnnlib.conv.conv2d, ns["c2"])
    with forbid("cnnlib.conv2d", namespace=ns):
        for name in ("via_alias", "via_submodule", "via_package"):
            message = refused(ns[name], x, w)
            assert "cnnlib.conv2d()" in message
    assert (cnnlib.conv2d, cnnlib.conv.conv2d, ns["c2"]) == originals
    np.testing.assert_allclose(ns["via_alias"](x, w), cnnlib.conv2d(x, w))


def test_references_the_notebooks_code_keeps_are_refused_too():
    """A default argument, a closure's variable, a class attribute (plain, static or bound in
    a method's defaults) and a partial hold the function itself, not a name that forbid
    rebinds: each is refused inside the block and put back after it."""
    ns = notebook("import functools\n"
                  "def by_default(x, w, c=cnnlib.conv2d): return c(x, w)\n"
                  "def by_keyword(x, w, *, c=cnnlib.conv2d): return c(x, w)\n"
                  "def make():\n    c = cnnlib.conv2d\n    def inner(x, w): return c(x, w)\n    return inner\n"
                  "by_closure = make()\n"
                  "class Layer:\n    conv = staticmethod(cnnlib.conv2d)\n    plain = cnnlib.conv2d\n"
                  "    def __call__(self, x, w, c=cnnlib.conv2d): return c(x, w)\n"
                  "    @classmethod\n    def via_class(cls, x, w): return cls.conv(x, w)\n"
                  "by_partial = functools.partial(cnnlib.conv2d, padding=0)\n"
                  "def by_static(x, w): return Layer.conv(x, w)\n"
                  "def by_attribute(x, w): return Layer.plain(x, w)\n"
                  "def by_method(x, w): return Layer()(x, w)\n"
                  "def by_classmethod(x, w): return Layer.via_class(x, w)\n"
                  "def by_partial_name(x, w): return by_partial(x, w)\n")
    x, w = X[None, None], W[None, None]
    names = [n for n in ns if n.startswith("by_") and n != "by_partial"]
    expected = cnnlib.conv2d(x, w)

    def held():
        layer = vars(ns["Layer"])
        return (ns["by_default"].__defaults__, ns["by_keyword"].__kwdefaults__,
                ns["by_closure"].__closure__[0].cell_contents, layer["conv"], layer["plain"],
                layer["__call__"].__defaults__, ns["by_partial"])

    before = held()
    with forbid("cnnlib.conv2d", namespace=ns):
        for name in names:
            assert "cnnlib.conv2d()" in refused(ns[name], x, w), name
    after = held()
    assert after == before and after[3] is before[3] and after[6] is before[6]
    for name in names:
        np.testing.assert_array_equal(ns[name](x, w), expected)


def test_library_code_may_still_call_a_forbidden_function():
    ns = notebook("def mine(x): return cnnlib.max_pool2d_forward(x, 2)[0]\n"
                  "def allowed(x): return cnnlib.max_pool2d(x, 2)\n")
    x = X[None, None]
    with forbid("cnnlib.max_pool2d_forward", namespace=ns):
        refused(ns["mine"], x)
        # cnnlib.max_pool2d calls max_pool2d_forward inside: it keeps working.
        np.testing.assert_allclose(ns["allowed"](x), [[[[6, 8], [16, 18]]]])


@pytest.mark.parametrize("call", [
    "np.correlate(x[0], w[0], 'valid')", "np.convolve(x[0], w[0])", "np.polymul(x[0], w[0])",
    "scipy.signal.correlate2d(x, w, 'valid')", "scipy.signal.convolve2d(x, w)",
    "scipy.signal.correlate(x, w, 'valid')", "scipy.signal.fftconvolve(x, w)", "scipy.signal.oaconvolve(x, w)",
    "scipy.signal._signaltools.correlate2d(x, w)", "scipy.ndimage.correlate(x, w)",
    "scipy.ndimage.convolve1d(x[0], w[0])", "cnnlib.correlate2d(x, w)", "cnnlib.conv.convolve2d(x, w)",
    "cnnlib.conv2d_forward(x[None, None], w[None, None])",
    "cnnlib.conv_transpose2d(x[None, None], w[None, None])", "cnnlib.nn.Conv2d(1, 1, 2)",
    "Conv2d(1, 1, 2)", "sig.correlate2d(x, w)", "c2d(x, w)",
])
def test_the_convolution_family_covers_numpy_scipy_and_cnnlib(call):
    ns = notebook("import scipy.signal, scipy.ndimage, scipy.signal._signaltools\n"
                  "import scipy.signal as sig\nfrom scipy.signal import correlate2d as c2d\n"
                  "from cnnlib.nn import Conv2d\n"
                  f"def shortcut(x, w): return {call}\n")
    ns["shortcut"](X, W)  # works outside the block
    with forbid("convolution", namespace=ns):
        refused(ns["shortcut"], X, W)
    ns["shortcut"](X, W)


def test_a_forbidden_class_refuses_construction_but_stays_a_class():
    layer = cnnlib.nn.Conv2d(1, 2, 3, rng=0)
    had_init = "__init__" in vars(cnnlib.nn.Conv2d)
    ns = notebook("from cnnlib.nn import Conv2d\n"
                  "class Mine(Conv2d):\n    pass\n"
                  "def build(): return Conv2d(1, 2, 3)\n")
    with forbid("cnnlib.nn.Conv2d", namespace=ns):
        refused(ns["build"])
        refused(ns["Mine"], 1, 2, 3)
        assert isinstance(layer, cnnlib.nn.Conv2d) and ns["Conv2d"] is cnnlib.nn.Conv2d
        layer(np.zeros((1, 1, 5, 5), dtype=np.float32))   # existing layers still run
        dense = cnnlib.nn.Linear(4, 2, rng=0)             # the library may build one itself
        assert isinstance(cnnlib.fc_to_conv(dense, (1, 2, 2)), cnnlib.nn.Conv2d)
    assert ("__init__" in vars(cnnlib.nn.Conv2d)) == had_init
    assert ns["build"]().weight.shape == (2, 1, 3, 3)


def test_the_notebooks_own_earlier_function_can_be_forbidden():
    ns = notebook("def scatter(x): return x + 1\n"
                  "def via_conv(x): return scatter(x)\n")
    with forbid(ns["scatter"], namespace=ns, why="go by zero insertion and a convolution"):
        message = refused(ns["via_conv"], 1)
    assert "your scatter()" in message and "zero insertion" in message
    assert ns["via_conv"](1) == 2


def test_everything_is_restored_when_the_block_raises():
    before = (np.convolve, scipy.signal.correlate2d, scipy.signal._signaltools.correlate2d, cnnlib.conv2d,
              vars(cnnlib.nn.Conv2d).get("__init__"))
    ns = notebook("from numpy import convolve\n")
    with pytest.raises(ZeroDivisionError):
        with forbid("convolution", namespace=ns):
            assert ns["convolve"] is np.convolve is not before[0]
            1 / 0
    after = (np.convolve, scipy.signal.correlate2d, scipy.signal._signaltools.correlate2d, cnnlib.conv2d,
             vars(cnnlib.nn.Conv2d).get("__init__"))
    assert after == before and ns["convolve"] is np.convolve


def test_unknown_targets_are_errors():
    with pytest.raises(KeyError, match="no family"):
        with forbid("convolutions"):
            pass
    with pytest.raises(AttributeError):
        with forbid("cnnlib.no_such_function"):
            pass


def test_every_family_member_exists():
    for family, names in FAMILIES.items():
        for name in names:
            if not name.startswith("torch.") or "torch" in sys.modules:
                assert callable(_resolve(name)), f"{family}: {name}"


SLOW_MODULES = r"""
import sys
import numpy as np
from cnnlib.testing import forbid

ns = {"__name__": "__main__", "np": np}
exec('''
def matrix(t, p):
    from sklearn.metrics import confusion_matrix
    return confusion_matrix(t, p)
def window(n):
    import scipy.signal
    return scipy.signal.windows.gaussian(n, 1.0)
def correlate(x, w):
    from scipy.signal import correlate2d
    return correlate2d(x, w)
''', ns)
calls = {"matrix": ([0, 1], [0, 1]), "window": (5,), "correlate": (np.ones((3, 3)), np.ones((2, 2)))}
with forbid("sklearn.metrics.confusion_matrix", "scipy.signal.windows.gaussian", "convolution", namespace=ns):
    assert not {"sklearn.metrics", "scipy.signal", "scipy.ndimage"} & set(sys.modules), "imported for the block"
    for name, args in calls.items():
        try:
            ns[name](*args)
        except AssertionError as err:
            assert "your own implementation" in str(err), err
        else:
            raise SystemExit(f"{name} was not refused")
assert ns["matrix"](*calls["matrix"]).trace() == 2 and ns["window"](5).shape == (5,)
assert ns["correlate"](*calls["correlate"]).shape == (4, 4)
print("ok")
"""


def test_twins_in_slow_modules_are_refused_when_imported_inside_the_block():
    """A dotted name or family member in SciPy or scikit-learn, not loaded yet, is not imported
    for the block (most of a second each: a check cell of 04 and one of 08 name one); a
    notebook that imports it inside the block is refused it all the same. In a fresh
    interpreter, where neither is loaded."""
    out = subprocess.run([sys.executable, "-c", SLOW_MODULES], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == "ok\n", out.stderr[-2000:] or out.stdout


def test_every_name_the_notebooks_forbid_exists():
    """Dotted names in slow modules are resolved only if the notebook imports them: a typo in
    a check cell would otherwise pass unnoticed."""
    names = set()
    for path in sorted((ROOT / "source").glob("*/*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type != "code" or "forbid(" not in cell.source:
                continue
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "forbid":
                    names |= {a.value for a in node.args if isinstance(a, ast.Constant) and "." in str(a.value)}
    assert "sklearn.metrics.confusion_matrix" in names and "scipy.signal.windows.gaussian" in names, names
    missing = [n for n in sorted(names) if n.split(".")[0] != "torch" and not callable(_resolve(n))]
    assert not missing, missing


def test_the_tamper_check_never_sees_forbids_patches():
    verify = watch()
    ns = notebook("from cnnlib.testing import forbid, use_reference, check_close\n")
    with forbid("convolution", "pooling", "output_size", namespace=ns):
        with pytest.raises(AssertionError, match="replaced"):
            verify(ns)       # inside the block the patches are visible ...
    verify(ns)               # ... and gone once it is left
    with pytest.raises(RuntimeError):
        with forbid("convolution", namespace=ns):
            raise RuntimeError
    verify(ns)


def test_use_reference_swaps_and_restores():
    ns = notebook("def zero_insert(x, stride): raise NotImplementedError\n"
                  "def upsample(x, stride): return zero_insert(x, stride)\n")
    mine = ns["zero_insert"]
    x = np.arange(6.0).reshape(1, 2, 3)
    with use_reference(ns, "zero_insert", extra=len):
        out = ns["upsample"](x, 2)
        assert ns["extra"] is len
    assert ns["zero_insert"] is mine and "extra" not in ns
    expected = np.zeros((1, 3, 5))
    expected[:, ::2, ::2] = x
    np.testing.assert_array_equal(out, expected)
    with pytest.raises(ValueError):
        with use_reference(ns, "zero_insert"):
            raise ValueError
    assert ns["zero_insert"] is mine
    with pytest.raises(KeyError, match="no reference"):
        with use_reference(ns, "zero_inserts"):
            pass


def test_references_work_inside_forbid():
    ns = notebook("def correlate2d_valid(image, kernel): raise NotImplementedError\n"
                  "def convolve2d_valid(image, kernel): return correlate2d_valid(image, kernel[::-1, ::-1])\n"
                  "def pooled(x): return pool1d(x, 2, 2)\n")
    with use_reference(ns, "correlate2d_valid", "pool1d"), forbid("convolution", "pooling", namespace=ns):
        got = ns["convolve2d_valid"](X, W)
        pooled = ns["pooled"](X)
    np.testing.assert_allclose(got, scipy.signal.convolve2d(X, W, "valid"))
    np.testing.assert_allclose(pooled, X[:, :4].reshape(4, 2, 2).max(axis=2))


def test_references_match_their_exercises(rng):
    assert set(REFERENCES) == {"correlate2d_valid", "conv_matrix", "circular_conv2d", "pool1d", "zero_insert",
                               "conv_layer_cost", "linear_to_conv_weight", "crops",
                               "ResidualBlock"}  # one per exercise that a later one builds on
    x = rng.normal(size=(3, 7, 6))
    ref = REFERENCES
    np.testing.assert_allclose(ref["correlate2d_valid"](x[0], W), scipy.signal.correlate2d(x[0], W, "valid"))
    k = rng.normal(size=(2, 3))
    np.testing.assert_allclose(ref["conv_matrix"](k, (7, 6), stride=2) @ x[0].ravel(),
                               scipy.signal.correlate2d(x[0], k, "valid")[::2, ::2].ravel())
    weight = rng.normal(size=(4, 3 * 2 * 5)).astype(np.float32)
    np.testing.assert_array_equal(ref["linear_to_conv_weight"](weight, (3, 2, 5)), weight.reshape(4, 3, 2, 5))
    crops = ref["crops"](x, 3, 2)  # (rows, cols, C, size, size): the crop at (2i, 2j) of every channel
    assert crops.shape == (3, 2, 3, 3, 3)
    np.testing.assert_array_equal(crops[2, 1], x[:, 4:7, 2:5])
    w = rng.normal(size=(2, 3))
    wrapped = np.pad(x[0], ((0, 1), (1, 1)), mode="wrap")
    np.testing.assert_allclose(ref["circular_conv2d"](x[0], w), scipy.signal.correlate2d(wrapped, w, "valid"))
    for mode, f in (("max", np.max), ("avg", np.mean), ("l2", lambda a, axis: np.sqrt((a ** 2).sum(axis)))):
        windows = np.stack([x[0][:, i:i + 3] for i in range(0, 4, 2)], axis=1)
        np.testing.assert_allclose(ref["pool1d"](x[0], 3, 2, mode), f(windows, axis=2))
    z = ref["zero_insert"](x, 3)
    assert z.shape == (3, 19, 16) and np.array_equal(z[:, ::3, ::3], x) and np.count_nonzero(z) == x.size
    assert ref["conv_layer_cost"](9, 7, 3, 4, 3, 2, sw=2, sh=2) == {
        "output": (4, 3, 4), "weights": 72, "biases": 4, "mult_adds": 4 * 3 * 72}
    block = ref["ResidualBlock"](cnnlib.nn.Sequential(cnnlib.nn.ReLU()))
    assert type(block).__name__ == "ResidualBlock" and block.body is not None
    np.testing.assert_allclose(block(x[None]), x[None] + np.maximum(x[None], 0))


# --- needs: demos below an unsolved exercise print one line ----------------------------------

def stub():
    raise NotImplementedError("replace this line with your code, then run the check cell below")


def solved():
    return 1


def test_needs_prints_a_line_for_an_unsolved_exercise(capsys):
    from cnnlib.testing import needs
    with needs(solved=90, stub=91):
        solved()
        stub()
    assert capsys.readouterr().out == "solve exercise 91 (`stub`) to see this\n"
    with needs(stub=91):          # a later demo fails on what the first could not compute
        raise KeyError("missing")
    assert capsys.readouterr().out == "solve exercise 91 (`stub`) to see this\n"
    with needs(stub=91):          # solved and run again: errors show again
        pass
    with pytest.raises(KeyError), needs(stub=91):
        raise KeyError("a real bug")


def test_needs_hides_no_other_error(capsys):
    from cnnlib.testing import needs
    with pytest.raises(NotImplementedError, match="not a stub"), needs(solved=92):
        raise NotImplementedError("not a stub")
    with pytest.raises(ValueError), needs(solved=92):
        raise ValueError("bug")
    with needs(solved=92):
        print("demo")
    assert capsys.readouterr().out == "demo\n"
