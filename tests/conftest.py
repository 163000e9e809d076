"""Shared test fixtures and settings."""
import os
from collections import Counter

import numpy as np
import oracle
import pytest
from hypothesis import HealthCheck, settings

# Property tests are derandomised so that a CI run is reproducible; set
# HYPOTHESIS_PROFILE=explore locally to search with fresh random examples.
settings.register_profile(
    "ci", derandomize=True, deadline=None, max_examples=60,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("explore", deadline=None, max_examples=500)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


RNG_SEED = 20261122


# One BLAS thread too in the kernels and programs the tests start (nbval's kernels, the student
# versions', JupyterLab's), unless told otherwise, for the reason one_blas_thread gives: make
# test runs them beside each other and beside grading kernels (which course.grade gives one).
for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):  # course.grading's list
    os.environ.setdefault(_variable, "1")


@pytest.fixture(scope="session", autouse=True)
def one_blas_thread():
    """NumPy's BLAS on one thread while the tests run. With two cores shared by other
    programs, OpenBLAS's second thread spins waiting for a core and the training tests run
    several times slower (test_small_cnn_learns_digits: 8 s on one thread, 24-97 s on two,
    on a loaded 2-core machine)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # scikit-learn brings it; without it, BLAS keeps its threads
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


@pytest.fixture
def rng():
    """A seeded generator, fresh for every test (a failing test's report names the seed)."""
    return np.random.default_rng(RNG_SEED)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.failed and "rng" in getattr(item, "fixturenames", ()):
        report.sections.append(("random inputs", f"the rng fixture: np.random.default_rng({RNG_SEED})"))
    return report


def pytest_report_header():
    table = oracle.manifest()
    stored = f"stored results of PyTorch {table['torch']}" if table else f"{oracle.GOLDEN.name} is missing"
    live = "and live PyTorch" if oracle.torch_installed() else f"only (PyTorch not installed, or {oracle.NO_TORCH} set)"
    return f"PyTorch oracle: {stored} {live}"



@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter):
    """One line at the end, after the list of skips: what this run could not check, and for
    want of what."""
    yield
    skipped = terminalreporter.stats.get("skipped", [])
    reasons = Counter((r.longrepr[2] if isinstance(r.longrepr, tuple) else str(r.longrepr)).removeprefix("Skipped: ")
                      for r in skipped)
    if reasons:
        listed = "; ".join(f"{n} × {reason}" for reason, n in reasons.most_common())
        terminalreporter.write_line(f"not checked here ({len(skipped)} skipped): {listed}", yellow=True)
    else:
        terminalreporter.write_line("nothing skipped: every test ran", green=True)
