"""Write tests/oracle/golden.npz: PyTorch's results (CPU, float64) on every case of the
PyTorch-oracle tests, so that those tests run without PyTorch too.

Run it, with PyTorch installed, after changing a grid of cases, an input or a reference:

    python tests/oracle/make_golden.py

It imports the test modules listed in tests/oracle/__init__.py (MODULES), so the cases are
exactly those the tests use.
"""
import sys
import warnings
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TESTS))

import oracle  # noqa: E402  (tests/ first on the path)


def main():
    warnings.filterwarnings("ignore", "Using padding='same'")  # PyTorch: it may copy the input; fine
    torch = oracle.live_torch()
    if torch is None:
        sys.exit(f"PyTorch is needed to write {oracle.GOLDEN} (and {oracle.NO_TORCH} must not be set)")
    cases = oracle.write_golden(oracle.GOLDEN, oracle.collect(), torch)
    size = oracle.GOLDEN.stat().st_size
    print(f"{oracle.GOLDEN.relative_to(TESTS.parent)}: {len(cases)} cases of {len(oracle.ORACLES)} oracles, "
          f"PyTorch {torch.__version__}, {size / 1e6:.2f} MB")


if __name__ == "__main__":
    main()
