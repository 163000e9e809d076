"""The host's processes by command line: what a sandbox may have left running."""
import os


def sleeping(mark: str) -> list[str]:
    """PIDs of ``sleep <mark>`` processes (a submission starts one to see whether it outlives grading)."""
    return [pid for pid in os.listdir("/proc") if pid.isdigit() and _cmdline(pid) == f"sleep\0{mark}\0"]


def _cmdline(pid: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline") as fh:
            return fh.read()
    except OSError:  # it ended meanwhile
        return ""
