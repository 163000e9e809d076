"""Smoke test of benchmarks/conv.py: the harness runs and prints its tables.

It runs the real script in a subprocess (the script sets the thread variables and
re-executes itself) with a few short rounds on W1; it never looks at the times.
"""
import subprocess
import sys

import pytest

from course import ROOT

SCRIPT = ROOT / "benchmarks" / "conv.py"


def run(*args):
    proc = subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True,
                          timeout=120, cwd=ROOT)
    return proc.returncode, proc.stdout, proc.stderr


def test_quick_run_prints_the_tables():
    torch_installed = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True).returncode == 0
    code, out, err = run("--quick", "--only", "W1", "--dtype", "float32")
    assert code == 0, err
    assert "machine:" in out and "threads: 2" in out
    for title in ("### conv2d forward", "### conv2d fwd+bwd",
                  "### conv2d forward: cnnlib's speed-up over the naive loop and SciPy"):
        assert title in out
    assert "| W1 " in out and "| naive " in out and "| scipy " in out
    assert ("cnnlib/torch" in out) == torch_installed
    assert "conv_transpose2d" not in out and "W4" not in out  # --only W1


def test_runs_without_pytorch():
    code, out, err = run("--quick", "--only", "W1", "--dtype", "float64", "--no-torch", "--threads", "1")
    assert code == 0, err
    assert "PyTorch is not used" in out and "threads: 1" in out
    assert "torch ms" not in out and "| naive " in out


@pytest.mark.parametrize("args", [("--only", "W9"), ("--dtype", "float16")])
def test_rejects_unknown_workloads_and_dtypes(args):
    code, _, err = run(*args)
    assert code == 2 and "error" in err
