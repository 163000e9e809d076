"""Instructor tooling: building student and solution notebooks, and grading fixes.

Not part of cnnlib (students never import it); used by the Makefile, the tests and
nbgrader_config.py.
"""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


#: The OpenBLAS kernels that computed the outputs stored in solutions/. Training sums in float32
#: in the order a kernel chooses; over hundreds of steps a last-bit difference reaches the printed
#: digits (08_capstone's test accuracy is 0.967 with these kernels, 0.978 with AVX-512's).
BLAS_CORETYPE = "Haswell"


def pin_blas_kernels() -> None:
    """Set ``OPENBLAS_CORETYPE`` for the programs started from here (unless set) to :data:`BLAS_CORETYPE` where this
    CPU runs those kernels (x86-64 with AVX2, read from /proc/cpuinfo), so that the notebooks
    executed by ``make notebooks`` and re-run by nbval print the same numbers on every such
    machine. Elsewhere (other CPUs, or NumPy without OpenBLAS) nothing changes."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return
    if " avx2" in flags and " fma" in flags:
        os.environ.setdefault("OPENBLAS_CORETYPE", BLAS_CORETYPE)
