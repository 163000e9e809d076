"""The two setup routes (pip via pyproject.toml, conda via environment.yml) agree,
and the README's commands are the ones CI runs."""
import re
import runpy
import subprocess
import sys
import tomllib

import yaml

from course import ROOT

# conda-forge names that differ from the PyPI ones
CONDA_NAMES = {"playwright": "playwright-python"}


def _pip_requirements():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project["dependencies"])
    for extra in ("course", "test"):
        reqs += project["optional-dependencies"][extra]
    return reqs


def _split(requirement):
    """(name, version range) of a requirement; pip extras such as ``[binary]`` are dropped,
    since a conda package has none."""
    name, spec = re.match(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(.*)$", requirement).groups()
    return name.lower().replace("_", "-"), spec.replace(" ", "")


def test_environment_yml_has_the_same_packages_and_ranges():
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_split(d) for d in env["dependencies"] if isinstance(d, str))
    pip = dict(_split(r) for r in _pip_requirements())
    expected = {CONDA_NAMES.get(name, name): spec for name, spec in pip.items()}
    conda.pop("pip")
    assert conda.pop("python").startswith(">=3.11")
    assert conda == expected
    pip_entries = [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]
    assert "-e ." in pip_entries, "environment.yml must install cnnlib itself (pip: -e .)"


def test_no_exact_pins():
    pinned = [r for r in _pip_requirements() if "==" in r]
    assert not pinned, f"use version ranges, not pins: {pinned}"


def test_runtime_dependencies_are_numpy_and_matplotlib():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert {_split(r)[0] for r in project["dependencies"]} == {"numpy", "matplotlib"}


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "make lab" in readme and "make test" in readme
    assert readme.index("make lab") < readme.index("conda env create")
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test( \|\| status=\$\?)?$", ci, re.M), ".ci/run must end by running `make test`"


def test_nbformat_loads_without_an_iri_parser():
    """Every nbgrader command, Jupyter server and grading worker loads nbformat, and with it
    jsonschema's format checks: from jsonschema 4.25 on they import rfc3987-syntax, which builds
    a parser at import (2.8 s of CPU per process here, against 0.3 s for nbformat without it)."""
    code = "import sys, nbformat, nbgrader.apps; print(sorted(m for m in ('rfc3987_syntax', 'lark') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"loading nbformat and nbgrader imports {out.stdout.strip()}: see pyproject.toml"


def test_the_groups_make_test_hands_out_first_exist():
    """conftest.SLOWEST_FIRST names test files, folders and assignments that exist: a renamed
    one would quietly lose its place and might start last, alone on one core."""
    for entry in runpy.run_path(str(ROOT / "conftest.py"))["SLOWEST_FIRST"]:
        path, _, assignment = entry.partition(":")
        assert (ROOT / path).exists(), f"{entry}: there is no {path}"
        if assignment:
            assert (ROOT / "source" / assignment).is_dir(), f"{entry}: there is no source/{assignment}"
