"""The host's processes: what a sandbox may have left running, how fast a fresh one starts, and a
free local port for a server the tests start."""
import functools
import math
import os
import socket
import subprocess
import sys
import time


def sleeping(mark: str) -> list[str]:
    """PIDs of ``sleep <mark>`` processes (a submission starts one to see whether it outlives grading)."""
    return [pid for pid in os.listdir("/proc") if pid.isdigit() and _cmdline(pid) == f"sleep\0{mark}\0"]


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as fh:
            return fh.read()
    except OSError:  # it ended meanwhile
        return ""


@functools.cache
def cell_timeout() -> int:
    """A per-cell limit for grading the first notebook (00) in the tests: 6 s, or more where
    the machine is so busy that a fresh interpreter's imports of its setup cell (NumPy,
    matplotlib, cnnlib) take over 0.75 s. Its slowest cell takes about that import time on a
    quiet machine, so a right answer never times out because other work shares the cores;
    the loops and sleeps of the broken submissions are stopped at this limit all the same."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import numpy, matplotlib.pyplot, cnnlib"], check=True)
    return max(6, math.ceil(8 * (time.perf_counter() - start)))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
