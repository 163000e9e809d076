"""How ``make test`` spreads the tests over the cores (pytest-xdist), and the BLAS kernels of
the notebooks it runs: here rather than in tests/conftest.py, so that both also apply to
solutions/ (nbval), alone or with tests/."""
import re

from course import pin_blas_kernels

# nbval's kernels compute with the BLAS kernels that computed the outputs it compares.
pin_blas_kernels()

#: Where the time goes, slowest first: the groups are handed out in this order, so that no long
#: group starts last and runs alone while the other cores idle.
SLOWEST_FIRST = ["tests/test_grading.py", "tests/test_grade.py", "tests/test_gradebook_db.py", "tests/test_hub.py",
                 "tests/test_browser.py", "tests/test_jupyterlab.py", "solutions/"]


def group(nodeid: str) -> str:
    """The tests that must run in one process: those of one file (a module's fixtures are made
    once; a notebook's cells share a kernel), except that test_grading's fixture grades each
    assignment when first asked, so its tests are grouped by the assignment they name."""
    path = nodeid.split("::")[0]
    if path == "tests/test_grading.py" and (named := re.search(r"\[(\d\d_\w+?)[\]-]", nodeid)):
        return f"{path}:{named[1]}"
    return path


def _rank(nodeid: str) -> tuple:
    """Files in :data:`SLOWEST_FIRST` order; test_grading's assignments last to first (the later
    notebooks train models and grade longest)."""
    first = next((i for i, name in enumerate(SLOWEST_FIRST) if nodeid.startswith(name)), len(SLOWEST_FIRST))
    return first, [-ord(c) for c in group(nodeid).partition(":")[2]]


def pytest_collection_modifyitems(items):
    items.sort(key=lambda item: _rank(item.nodeid))  # stable: a group's tests keep their order


def pytest_xdist_make_scheduler(config, log):
    """xdist's scheduling by scope, with :func:`group` as the scope."""
    from xdist.scheduler import LoadScopeScheduling

    class ByGroup(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            return group(nodeid)

    return ByGroup(config, log)
