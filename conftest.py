"""How ``make test`` spreads the tests over the cores (pytest-xdist), and the BLAS kernels of
the notebooks it runs: here rather than in tests/conftest.py, so that both also apply to
solutions/ (nbval), alone or with tests/."""
import re

from course import pin_blas_kernels

# nbval's kernels compute with the BLAS kernels that computed the outputs it compares.
pin_blas_kernels()

#: The groups (see :func:`group`) slowest first, with their seconds in a ``make test`` run on two
#: cores (2026-12-04). They are handed out in this order, each to the first core that is free, so
#: that no long group starts last and runs alone while the other core idles; the many short
#: groups not listed come after and fill the gaps. A group matches the first entry it starts with.
SLOWEST_FIRST = [
    "tests/test_grade.py",  # 160
    "tests/test_gradebook_db.py",  # 82
    "tests/test_grading.py:04_pooling",  # 74
    "tests/test_browser.py",  # 72
    "tests/test_jupyterlab.py",  # 72
    "tests/test_grading.py:01_sparse_interactions",  # 70
    "tests/test_grading.py:05_dilated_transposed",  # 59
    "tests/test_grading.py:08_capstone",  # 57
    "tests/test_grading.py:06_saliency_maps",  # 54
    "tests/test_grading.py:00_convolution",  # 46
    "tests/test_grading.py:03_equivariance",  # 43
    "tests/test_grading.py:07_fc_to_conv",  # 36
    "tests/test_hub.py",  # 35
    "tests/test_grading.py",  # 34 (02_parameter_sharing, and any assignment added later)
    "tests/test_sandbox.py",  # 13
    "tests/test_notebooks.py",  # 12
    "solutions/",  # 3-9 each
    "tests/test_autograding.py",  # 8
]


def group(nodeid: str) -> str:
    """The tests that must run in one process: those of one file (a module's fixtures are made
    once; a notebook's cells share a kernel), except that test_grading's fixture grades each
    assignment when first asked, so its tests are grouped by the assignment they name."""
    path = nodeid.split("::")[0]
    if path == "tests/test_grading.py" and (named := re.search(r"\[(\d\d_\w+?)[\]-]", nodeid)):
        return f"{path}:{named[1]}"
    return path


def _rank(nodeid: str) -> int:
    """The position of the test's group in :data:`SLOWEST_FIRST` (after them all if not there)."""
    name = group(nodeid)
    return next((i for i, entry in enumerate(SLOWEST_FIRST) if name.startswith(entry)), len(SLOWEST_FIRST))


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: _rank(item.nodeid))  # stable: a group's tests keep their order


def pytest_xdist_make_scheduler(config, log):
    """xdist's scheduling by scope, with :func:`group` as the scope, in the order of
    :data:`SLOWEST_FIRST` (xdist would hand out the groups with the most tests first: test_hub's
    and test_gradebook_db's few long tests ran last, on one core, for a minute and a half)."""
    from xdist.scheduler import LoadScopeScheduling

    config.option.loadscopereorder = False  # keep the collection's order

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return group(nodeid)

    return ByGroup(config, log)
