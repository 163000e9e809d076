"""PyTorch as the test oracle, with or without PyTorch installed.

An :class:`Oracle` is a named grid of cases and a *reference*: a function that draws a
case's inputs from ``case.rng()`` (seeded by the CRC-32 of the case's key, the same in every
process) and runs PyTorch on them in float64. ``python tests/oracle/make_golden.py`` runs
every reference and stores the results, with a fingerprint of each case's inputs, in
``golden.npz``. A test draws the same inputs and asks ``ORACLE.results(case, inputs)`` for
PyTorch's results:

* everywhere, the stored ones: the test fails, naming make_golden.py, when its inputs'
  fingerprints differ from the stored ones (a changed grid or random number generator) or
  the case is not stored at all;
* where PyTorch is installed (and ``CNNLIB_TEST_NO_TORCH`` is not set), a live run's too,
  and the stored results must equal it: otherwise golden.npz is out of date.

``results.check(name, actual, compare)`` compares cnnlib's array with each of them.
"""
import functools
import importlib
import importlib.util
import io
import json
import math
import os
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

GOLDEN = Path(__file__).with_name("golden.npz")
REGENERATE = "python tests/oracle/make_golden.py"
# Set to hide PyTorch from the oracle (as on a machine without it).
NO_TORCH = "CNNLIB_TEST_NO_TORCH"
# The test modules that declare oracles: make_golden.py imports them.
MODULES = ("test_conv", "test_nn", "test_pool", "test_train")
# Stored against live results: PyTorch versions may sum in another order.
STORED_TOLERANCE = dict(rtol=1e-10, atol=1e-13)

ORACLES = {}  # name -> Oracle, filled as the modules declaring them are imported


def seed_of(text):
    """A seed for np.random.default_rng from a string, the same in every process (hash() is not)."""
    return zlib.crc32(text.encode())


@dataclass(frozen=True)
class Case:
    """One case of an oracle: its name (a readable id) and its configuration."""
    oracle: str
    name: str
    config: object

    @property
    def key(self):
        return f"{self.oracle}/{self.name}"

    @property
    def seed(self):
        return seed_of(self.key)

    def rng(self):
        """The generator every random input of the case comes from."""
        return np.random.default_rng(self.seed)

    def __str__(self):  # the pytest id
        return f"{self.name}-seed{self.seed}"


class Oracle:
    """PyTorch's results on a grid of cases: ``configs`` is a list of (case name,
    configuration); ``reference(torch, case)`` returns (inputs, results), two dicts of arrays."""

    def __init__(self, name, configs, reference):
        self.name, self.reference = name, reference
        self.module = reference.__module__
        self.cases = [Case(name, case_name, config) for case_name, config in configs]
        names = [case.name for case in self.cases]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"oracle {name}: case names repeat: {repeated}")
        other = ORACLES.get(name)
        if other is not None and other.module != self.module:
            raise ValueError(f"oracle {name} is declared in {other.module} and in {self.module}")
        ORACLES[name] = self

    def results(self, case, inputs):
        """PyTorch's results for ``case``, whose test drew ``inputs``: stored, and live where
        PyTorch is installed."""
        stored = _stored_case(case, self.module)
        found = fingerprints(inputs)
        if found != stored["inputs"] or case.seed != stored["seed"]:
            pytest.fail(f"the inputs of {case.key} are not those golden.npz was made from (the grid of cases, "
                        f"the seeds or the random numbers changed):\n  now    seed {case.seed}, {found}\n"
                        f"  stored seed {stored['seed']}, {stored['inputs']}\nrun `{REGENERATE}`", pytrace=False)
        sources = [(f"the stored PyTorch {stored['torch']} result (golden.npz)", _stored_arrays(case, stored))]
        torch = live_torch()
        if torch is not None:
            live_inputs, live = self.reference(torch, case)
            live = {name: _as_array(a) for name, a in live.items()}
            assert fingerprints(live_inputs) == found, \
                f"{case.key}: the test and its reference ({self.reference.__name__}) draw different inputs"
            _assert_stored_is_current(case, sources[0][1], live)
            sources.append((f"live PyTorch {torch.__version__}", live))
        return Results(case, sources)


class Results:
    """PyTorch's results for one case, from one or two sources (stored, live)."""

    def __init__(self, case, sources):
        self.case, self.sources = case, sources

    def names(self):
        return set(self.sources[0][1])

    def check(self, name, actual, compare):
        """``compare(actual, expected)`` (an assert function) against every source."""
        for source, results in self.sources:
            if name not in results:
                pytest.fail(f"{self.case.key} has no result {name!r} in {source} (it has {sorted(results)}); "
                            f"run `{REGENERATE}`", pytrace=False)
            try:
                compare(actual, results[name])
            except AssertionError as err:
                raise AssertionError(f"{name} of {self.case.key} (inputs from np.random.default_rng("
                                     f"{self.case.seed})) differs from {source}:\n{err}") from None


def fingerprint(a):
    """dtype, shape, sum and position-weighted sum of an array (exact sums, math.fsum): cheap,
    and they change when the numbers, their order or the shape change. NaN and infinities
    count as fixed stand-ins."""
    if a is None:
        return None
    a = np.asarray(a)
    flat = np.nan_to_num(a.astype(np.float64).ravel(), nan=0.125, posinf=1e300, neginf=-1e300)
    weights = np.arange(1, flat.size + 1, dtype=np.float64)
    return [a.dtype.name, list(a.shape), math.fsum(flat.tolist()), math.fsum((flat * weights).tolist())]


def fingerprints(inputs):
    return {name: fingerprint(a) for name, a in inputs.items()}


def torch_installed():
    """Whether live_torch() will give PyTorch, without importing it (that takes seconds)."""
    if os.environ.get(NO_TORCH):
        return False
    try:
        return importlib.util.find_spec("torch") is not None
    except (ImportError, ValueError):
        return False


@functools.cache
def live_torch():
    """PyTorch (CPU, one thread), or None where it is not installed or CNNLIB_TEST_NO_TORCH is set."""
    if os.environ.get(NO_TORCH):
        return None
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(1)
    return torch


def collect():
    """Every oracle of the test modules, by name."""
    for module in MODULES:
        importlib.import_module(module)
    return dict(ORACLES)


# --------------------------------------------------------------------------- golden.npz

@functools.cache
def _golden():
    if not GOLDEN.exists():
        return None
    return np.load(GOLDEN, allow_pickle=False)


@functools.cache
def manifest():
    """golden.npz's table of contents: the PyTorch version and, per case key, its seed,
    its inputs' fingerprints and the names of its results; None without the file."""
    golden = _golden()
    return None if golden is None else json.loads(str(golden["manifest"]))


def _stored_case(case, module):
    table = manifest()
    if table is None:
        pytest.fail(f"{GOLDEN} is missing: run `{REGENERATE}`", pytrace=False)
    stored = table["cases"].get(case.key)
    if stored is None:
        listed = "" if module in MODULES else f" (and add {module} to MODULES in tests/oracle/__init__.py)"
        pytest.fail(f"golden.npz has no results for {case.key}: run `{REGENERATE}`{listed}", pytrace=False)
    return dict(stored, torch=table["torch"])


def _stored_arrays(case, stored):
    golden = _golden()
    return {name: golden[f"{case.key}:{name}"] for name in stored["results"]}


def _as_array(a):
    """A float64 NumPy copy of an array or a PyTorch tensor."""
    if hasattr(a, "detach"):
        a = a.detach().numpy()
    return np.array(a, dtype=np.float64)


def _assert_stored_is_current(case, stored, live):
    if set(stored) != set(live):
        pytest.fail(f"{case.key}: golden.npz stores {sorted(stored)}, PyTorch now gives {sorted(live)}: "
                    f"run `{REGENERATE}`", pytrace=False)
    for name, want in live.items():
        scale = max(1.0, float(np.abs(want[np.isfinite(want)]).max(initial=0.0)))
        tol = dict(rtol=STORED_TOLERANCE["rtol"], atol=STORED_TOLERANCE["atol"] * scale)
        try:
            np.testing.assert_allclose(stored[name], want, equal_nan=True, **tol)
        except AssertionError as err:
            difference = str(err)
        else:
            continue
        pytest.fail(f"golden.npz is out of date: {name} of {case.key} differs from live PyTorch "
                    f"(ACTUAL: stored, DESIRED: live):\n{difference}\n"
                    f"run `{REGENERATE}`", pytrace=False)


def write_golden(path, oracles, torch):
    """Run every case's reference and write path: one .npy per result and a JSON manifest,
    in a zip whose bytes depend only on the results (no time stamps). Returns the manifest's cases."""
    cases, arrays = {}, {}
    for oracle in sorted(oracles.values(), key=lambda o: o.name):
        for case in oracle.cases:
            inputs, results = oracle.reference(torch, case)
            cases[case.key] = {"seed": case.seed, "inputs": fingerprints(inputs), "results": sorted(results)}
            for name, a in results.items():
                arrays[f"{case.key}:{name}"] = _as_array(a)
    table = {"torch": torch.__version__, "numpy": np.__version__, "cases": cases}
    arrays["manifest"] = np.array(json.dumps(table, indent=1, sort_keys=True))
    partial = path.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name in sorted(arrays):
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, arrays[name], allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buffer.getvalue(), compresslevel=9)
    partial.replace(path)
    return cases
