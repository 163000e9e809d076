# The course's commands. `make lab` and `make test` work from a fresh clone with
# only Python 3.11+ and access to the package registry.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
# nbgrader starts helper programs (alembic) by name: the venv's bin comes first.
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: proxy help venv lab lab-instructor test unit test-lib nbtest notebooks check-notebooks bench clean site release example-class grade bench-grading

help:
	@echo "make lab        set up .venv and open the course in JupyterLab (students)"
	@echo "make lab-instructor  JupyterLab with nbgrader's formgrader and Create Assignment"
	@echo "make test       set up .venv and run every test"
	@echo "make test-lib   the library's own tests only, in under a minute (PyTorch's results stored)"
	@echo "make notebooks  regenerate notebooks/ (student) and solutions/ from source/"
	@echo "make bench      benchmark cnnlib against a loop, SciPy and PyTorch"
	@echo "make release    instructors: regenerate the student versions (= make notebooks)"
	@echo "make grade      instructors: autograde submitted/, write feedback/ and grades.csv"
	@echo "make example-class  a class of example students in submitted/, to try make grade"
	@echo "make site       build the course web site from solutions/ into build/site/"

# One environment for students and tests: cnnlib installed editable, so the
# notebooks import it the same way from JupyterLab, nbval and nbgrader.
$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11+ is needed, found " + sys.version.split()[0] + ": run make PYTHON=python3.11 ...")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[course,test]"
	touch $(STAMP)

venv: $(STAMP)

# Installing nbgrader turns on all its JupyterLab panels and server extensions. The folder
# course/jupyter/student (or .../instructor) comes first in JUPYTER_CONFIG_PATH and decides:
# students get the Validate button and nothing of the instructor's (no formgrader, course
# list or Create Assignment, and no /formgrader on the server); instructors get them all.
# Containers often run as root, which JupyterLab refuses unless told.
LAB = JUPYTER_CONFIG_PATH="$(CURDIR)/course/jupyter/$(1)$(if $(JUPYTER_CONFIG_PATH),:$(JUPYTER_CONFIG_PATH))" \
	  $(BIN)/jupyter lab --ServerApp.root_dir="$(CURDIR)" --LabApp.default_url=/lab/tree/notebooks \
	  $(if $(filter 0,$(shell id -u)),--allow-root)

lab: $(STAMP)
	$(call LAB,student)

lab-instructor: $(STAMP)
	$(call LAB,instructor)

unit: $(STAMP)
	$(BIN)/python -m pytest tests

# The fast lane: cnnlib's tests, without grading, notebooks, browser or benchmarks; PyTorch's
# results only from tests/oracle/golden.npz (make unit compares them with live PyTorch too);
# without nbval's plugin, whose imports take seconds.
LIB_TESTS := $(addprefix tests/,test_conv.py test_conv_strategies.py test_conv_errors.py test_convert.py test_data.py test_nn.py \
  test_pool.py test_pool_errors.py test_saliency.py test_shapes.py test_testing.py test_train.py test_animate.py test_plot.py oracle)
test-lib: $(STAMP)
	CNNLIB_TEST_NO_TORCH=1 $(BIN)/python -m pytest -p no:nbval $(LIB_TESTS)

# Re-executes every solution notebook and compares its outputs with the stored ones.
NBVAL := --nbval --nbval-current-env --nbval-sanitize-with sanitize.cfg --nbval-cell-timeout=120
nbtest: $(STAMP)
	$(BIN)/python -m pytest $(NBVAL) solutions

# Both in one run, so that its last lines list the slowest tests, each skip with its reason
# (-rs) and in one line what was not checked here, and count every test with the wall time.
# On every core (pytest-xdist; TEST_JOBS=0 for one process): conftest.py keeps the tests that
# share a fixture or a kernel in one process and hands out the slowest groups first.
TEST_JOBS ?= auto
test: $(STAMP) proxy
	$(BIN)/python -m pytest -n $(TEST_JOBS) --dist loadscope -rs --durations=15 $(NBVAL) tests solutions

# JupyterHub's proxy for tests/test_hub.py, from the npm registry where npm is installed
# (configurable-http-proxy 5 needs Node.js 20+); without it that test says why it skips.
PROXY := $(VENV)/node/node_modules/.bin/configurable-http-proxy
proxy:
	@test -x $(PROXY) || ! command -v npm >/dev/null 2>&1 \
	  || npm install --silent --no-fund --no-audit --prefix $(VENV)/node configurable-http-proxy@5 >/dev/null 2>&1 \
	  || echo "configurable-http-proxy could not be installed with npm: tests/test_hub.py will be skipped"

notebooks: $(STAMP)
	$(BIN)/python -m course.build

check-notebooks: $(STAMP)
	$(BIN)/python -m course.build --check

bench: $(STAMP)
	$(BIN)/python benchmarks/conv.py

# The instructor's path (README, "Instructors"): nbgrader's commands under course/grade.py.
release: notebooks

example-class: $(STAMP)
	$(BIN)/python -m course.example_class $(if $(BAD),--bad)

grade: $(STAMP)
	$(BIN)/python -m course.grade $(ARGS)

bench-grading: $(STAMP)
	$(BIN)/python benchmarks/grading.py

# A static HTML site of the executed notebooks; open build/site/index.html, no network needed.
site: $(STAMP)
	$(BIN)/python -m course.site

clean:
	rm -rf build gradebook.db autograded feedback release solution grades.csv .pytest_cache
