"""Time cnnlib's conv2d, conv_transpose2d and max_pool2d against a loop, SciPy and PyTorch.

    python benchmarks/conv.py [--rounds 15] [--threads 2] [--only W1,W4] [--dtype float32]
                              [--quick] [--no-torch]

What is timed (every layer with a bias; inputs and gradients standard normal):

* conv2d forward (``conv2d``, which keeps nothing for a backward pass, like PyTorch under
  ``no_grad``) and forward+backward (``conv2d_forward`` then ``conv2d_backward`` with a
  random gradient) on the course's workloads W1-W5, against
  ``torch.nn.functional.conv2d`` (forward under ``torch.no_grad``; forward+backward through
  ``torch.autograd.grad`` w.r.t. x, w and b). The forward is also timed against SciPy
  (``scipy.signal.correlate2d`` per (sample, output map, input map), summed; skipped where
  one call would take more than ~2 s) and, on W1, against the textbook loop (one ``np.sum``
  per output pixel, as CS231n's ``conv_forward_naive``).
* conv_transpose2d forward on W4-sized inputs, against ``torch.nn.functional.conv_transpose2d``:
  "W4-T" is the transpose of the W4 convolution itself (x 32x32x32x32, w 32x16x3x3, padding 1,
  out 32x16x32x32) and "W4-up" a DCGAN-style 2x upsampling onto the W4 input size (x 32x32x16x16,
  w 32x16x4x4, stride 2, padding 1, out 32x16x32x32).
* max_pool2d 2x2 stride 2 on the W4 input (32x16x32x32), against ``F.max_pool2d``.

Method. Every output is first checked against cnnlib's (a wrong result is an error, not a
time). Each candidate is called twice to warm up, then the number of calls per sample is set
so that a sample lasts about ``--min-time`` (one call for the slow baselines). The candidates
are then interleaved round by round (order reversed every other round, to cancel drift), with
a pause of ``--pause`` s before every sample: OpenBLAS's and OpenMP's worker threads keep
spinning ~0.1 s after a threaded call and slow down whatever runs next. NumPy (OpenBLAS) and
PyTorch get the same number of threads (``--threads``, default 2; the OMP/OpenBLAS/MKL
variables are read when NumPy is imported, so the script re-executes itself with them set).
The tables give the median time per call and the median of the per-round ratios
cnnlib / PyTorch (below 1: cnnlib is faster), or the speed-up baseline / cnnlib for the loop
and SciPy, next to the course's targets. Shared machines are noisy: read each ratio as ±30 %.
The "others" column is the CPU time other processes took while a row was timed (from
/proc/stat, minus this process's own): a row with others > 0.2 CPUs is timed again, up to
three times, and the quietest attempt is kept.

The peak extra memory of conv2d (no cache), conv2d_forward (with its cache) and
forward+backward on W4 is measured with ``tracemalloc``, which sees NumPy's allocations,
after ``release_work_buffers()`` (so the reused work buffers count), and given as a multiple
of ``x.nbytes``.
"""
from __future__ import annotations

import argparse
import datetime
import importlib.util
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass

import numpy as np

import cnnlib

THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
SCIPY_LIMIT = 2.0  # s: skip SciPy where one call would take longer
BUSY_LIMIT = 0.2  # CPUs kept busy by other processes during a case, above which it is retimed
RETRIES = 3  # at most this many times, after a pause of RETRY_WAIT s; the quietest attempt counts
RETRY_WAIT = 20
HAVE_SCIPY = importlib.util.find_spec("scipy") is not None


@dataclass(frozen=True)
class Workload:
    """A layer: input x (N, C_in, H, W) -> c_out maps, square kernel k."""

    name: str
    x: tuple
    c_out: int
    k: int
    stride: int = 1
    padding: int = 0
    dilation: int = 1

    @property
    def args(self):
        return dict(stride=self.stride, padding=self.padding, dilation=self.dilation)

    def selected(self, only):
        return only is None or any(self.name == s or self.name.startswith(s + "-") for s in only)


CONV = [
    Workload("W1", (1, 1, 28, 28), 8, 3),
    Workload("W2", (64, 1, 8, 8), 16, 3, padding=1),
    Workload("W3a", (64, 1, 28, 28), 6, 5),
    Workload("W3b", (64, 6, 12, 12), 16, 5),
    Workload("W4", (32, 16, 32, 32), 32, 3, padding=1),
    Workload("W5-d2", (16, 8, 64, 64), 8, 3, padding=2, dilation=2),
    Workload("W5-d4", (16, 8, 64, 64), 8, 3, padding=4, dilation=4),
]
TRANSPOSED = [
    Workload("W4-T", (32, 32, 32, 32), 16, 3, padding=1),
    Workload("W4-up", (32, 32, 16, 16), 16, 4, stride=2, padding=1),
]
POOL = Workload("W4", (32, 16, 32, 32), 16, 2, stride=2)
SMALL = ("W1", "W2", "W3a")  # targets 1.0 in float32; the larger layers 2.5 / 3.0


def target(op, wl, dtype):
    """The course's bound on cnnlib / PyTorch (PyTorch has no fast float64 conv: 1.2 there)."""
    if op == "max_pool2d":
        t = 0.5
    elif op == "conv_transpose2d":
        t = 2.5
    elif wl.name in SMALL:
        t = 1.0
    else:
        t = 3.0 if op == "conv2d fwd+bwd" else 2.5
    return 1.2 if dtype == "float64" and op != "max_pool2d" else t


# ----------------------------------------------------------------------------- baselines

def naive_conv2d(x, w, b, stride=1, padding=0, dilation=1):
    """The textbook loop: one np.sum over (C_in, kh, kw) per output pixel."""
    n, _, h, wd = x.shape
    c_out, _, kh, kw = w.shape
    p, s, d = padding, stride, dilation
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    h_out = (h + 2 * p - d * (kh - 1) - 1) // s + 1
    w_out = (wd + 2 * p - d * (kw - 1) - 1) // s + 1
    out = np.empty((n, c_out, h_out, w_out), x.dtype)
    for i in range(n):
        for o in range(c_out):
            for r in range(h_out):
                for q in range(w_out):
                    window = xp[i, :, r * s:r * s + d * (kh - 1) + 1:d, q * s:q * s + d * (kw - 1) + 1:d]
                    out[i, o, r, q] = np.sum(window * w[o]) + b[o]
    return out


def scipy_conv2d(x, w, b, stride=1, padding=0, dilation=1):
    """conv2d from scipy.signal.correlate2d: one 'valid' correlation per (n, c_out, c_in)."""
    from scipy.signal import correlate2d

    if dilation > 1:  # a dilated kernel is the kernel with zeros between its taps
        wd = np.zeros(w.shape[:2] + tuple(dilation * (k - 1) + 1 for k in w.shape[2:]), w.dtype)
        wd[:, :, ::dilation, ::dilation] = w
        w = wd
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = [[sum(correlate2d(xp[i, c], w[o, c], "valid") for c in range(x.shape[1])) + b[o]
            for o in range(w.shape[0])] for i in range(x.shape[0])]
    return np.asarray(out, x.dtype)[:, :, ::stride, ::stride]


def scipy_seconds(wl, dtype):
    """Estimated time of one scipy_conv2d call: one correlate2d, times the number of them."""
    from scipy.signal import correlate2d

    n, c_in, h, wd = wl.x
    span = wl.dilation * (wl.k - 1) + 1
    image = np.ones((h + 2 * wl.padding, wd + 2 * wl.padding), dtype)
    kernel = np.ones((span, span), dtype)
    correlate2d(image, kernel, "valid")
    start = time.perf_counter()
    for _ in range(5):
        correlate2d(image, kernel, "valid")
    return (time.perf_counter() - start) / 5 * n * c_in * wl.c_out


# ----------------------------------------------------------------------------- cases

@dataclass
class Case:
    op: str
    wl: Workload
    dtype: str
    candidates: dict  # name -> callable returning the result (an array or a tuple of them)
    note: str = ""
    times: dict = None  # name -> per-call seconds in each round
    others: float = math.nan  # CPUs used by other processes while it was timed


def _arrays(rng, dtype, *shapes):
    return [rng.standard_normal(s).astype(dtype) for s in shapes]


def conv_case(op, wl, dtype, rng, torch):
    backward = op == "conv2d fwd+bwd"
    x, w, b = _arrays(rng, dtype, wl.x, (wl.c_out, wl.x[1], wl.k, wl.k), (wl.c_out,))
    if backward:
        (g,) = _arrays(rng, dtype, cnnlib.conv2d(x, w, b, **wl.args).shape)

        def cnn():
            y, cache = cnnlib.conv2d_forward(x, w, b, **wl.args)
            return (y, *cnnlib.conv2d_backward(g, cache))
    else:
        def cnn():
            return cnnlib.conv2d(x, w, b, **wl.args)

    case = Case(op, wl, dtype, {"cnnlib": cnn})
    if torch is not None:
        F = torch.nn.functional
        tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))
        if backward:
            tg = torch.from_numpy(g)
            for t in (tx, tw, tb):
                t.requires_grad_()

            def pytorch():
                y = F.conv2d(tx, tw, tb, **wl.args)
                return (y, *torch.autograd.grad(y, (tx, tw, tb), tg))
        else:
            def pytorch():
                with torch.no_grad():
                    return F.conv2d(tx, tw, tb, **wl.args)
        case.candidates["torch"] = pytorch
    if not backward:  # the loop and SciPy: forward only
        if not HAVE_SCIPY:
            case.note = "SciPy not installed"
        elif (seconds := scipy_seconds(wl, dtype)) <= SCIPY_LIMIT:
            case.candidates["scipy"] = lambda: scipy_conv2d(x, w, b, **wl.args)
        else:
            case.note = f"SciPy skipped (~{seconds:.0f} s per call)"
        if wl.name == "W1":
            case.candidates["naive"] = lambda: naive_conv2d(x, w, b, **wl.args)
    return case


def transpose_case(wl, dtype, rng, torch):
    x, w, b = _arrays(rng, dtype, wl.x, (wl.x[1], wl.c_out, wl.k, wl.k), (wl.c_out,))
    args = dict(stride=wl.stride, padding=wl.padding)
    case = Case("conv_transpose2d", wl, dtype, {"cnnlib": lambda: cnnlib.conv_transpose2d(x, w, b, **args)})
    if torch is not None:
        tx, tw, tb = (torch.from_numpy(a) for a in (x, w, b))

        def pytorch():
            with torch.no_grad():
                return torch.nn.functional.conv_transpose2d(tx, tw, tb, **args)
        case.candidates["torch"] = pytorch
    return case


def pool_case(wl, dtype, rng, torch):
    (x,) = _arrays(rng, dtype, wl.x)
    case = Case("max_pool2d", wl, dtype, {"cnnlib": lambda: cnnlib.max_pool2d(x, wl.k, wl.stride)})
    if torch is not None:
        tx = torch.from_numpy(x)

        def pytorch():
            with torch.no_grad():
                return torch.nn.functional.max_pool2d(tx, wl.k, wl.stride)
        case.candidates["torch"] = pytorch
    return case


def make_cases(args, torch, rng):
    for op in ("conv2d forward", "conv2d fwd+bwd"):
        for wl in CONV:
            if wl.selected(args.only):
                for dtype in args.dtype:
                    yield conv_case(op, wl, dtype, rng, torch)
    for wl in TRANSPOSED:
        if wl.selected(args.only):
            for dtype in args.dtype:
                yield transpose_case(wl, dtype, rng, torch)
    if POOL.selected(args.only):
        for dtype in args.dtype:
            yield pool_case(POOL, dtype, rng, torch)


# ----------------------------------------------------------------------------- measuring

def _as_numpy(result):
    results = result if isinstance(result, tuple) else (result,)
    return [r.detach().numpy() if hasattr(r, "detach") else np.asarray(r) for r in results]


def check(case):
    """Every candidate's result must match cnnlib's (to float32 or float64 round-off)."""
    tol = 2e-4 if case.dtype == "float32" else 1e-10
    expected = _as_numpy(case.candidates["cnnlib"]())
    for name, fn in case.candidates.items():
        for e, got in zip(expected, _as_numpy(fn())):
            err = np.max(np.abs(got - e)) / max(np.max(np.abs(e)), 1.0)
            if not err <= tol:
                raise AssertionError(f"{case.op} {case.wl.name} {case.dtype}: {name} differs "
                                     f"from cnnlib by {err:.1e} (relative)")


def _sample(fn, number):
    start = time.perf_counter()
    for _ in range(number):
        fn()
    return (time.perf_counter() - start) / number


def time_rounds(candidates, rounds, min_time, pause):
    """Per-call seconds of each candidate in each round: {name: [t_round0, t_round1, ...]}."""
    number = {}
    for name, fn in candidates.items():  # check() made the first call; this is the second
        time.sleep(pause)
        number[name] = max(1, math.ceil(min_time / _sample(fn, 1)))
    names = list(candidates)
    times = {name: [] for name in names}
    for r in range(rounds):
        for name in names if r % 2 == 0 else names[::-1]:
            time.sleep(pause)
            times[name].append(_sample(candidates[name], number[name]))
    return times


def cpu_seconds():
    """(busy seconds of all CPUs, including stolen ones; this process's CPU seconds; wall time)."""
    try:
        with open("/proc/stat") as f:
            ticks = [int(v) for v in f.readline().split()[1:9]]  # user ... steal
        busy = (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait
    except OSError:  # not Linux
        busy = math.nan
    return busy, time.process_time(), time.perf_counter()


def measure(case, args):
    """Time a case; if other processes kept the CPUs busy meanwhile, wait and time it again."""
    attempts, retries = [], 0 if args.quick else RETRIES
    for attempt in range(retries + 1):
        start = cpu_seconds()
        times = time_rounds(case.candidates, args.rounds, args.min_time, args.pause)
        busy, own, wall = (b - a for a, b in zip(start, cpu_seconds()))
        attempts.append((max(busy - own, 0.0) / wall, times))
        if not attempts[-1][0] > BUSY_LIMIT or attempt == retries:
            break
        print(f"    other processes used {attempts[-1][0]:.2f} CPUs meanwhile: "
              f"timing again in {RETRY_WAIT} s", file=sys.stderr, flush=True)
        time.sleep(RETRY_WAIT)
    case.others, case.times = min(attempts, key=lambda a: a[0])


def median_ratio(num, den):
    return statistics.median(a / b for a, b in zip(num, den))


def peak_memory(wl, dtype, passes):
    """Peak bytes NumPy allocates during one pass ("conv2d", "conv2d_forward" or
    "forward+backward"), work buffers included, divided by x.nbytes; and the output's."""
    x, w, b = _arrays(np.random.default_rng(0), dtype, wl.x, (wl.c_out, wl.x[1], wl.k, wl.k), (wl.c_out,))
    (g,) = _arrays(np.random.default_rng(1), dtype, cnnlib.conv2d(x, w, b, **wl.args).shape)
    cnnlib.conv.release_work_buffers()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    if passes == "conv2d":
        y = cnnlib.conv2d(x, w, b, **wl.args)
    else:
        y, cache = cnnlib.conv2d_forward(x, w, b, **wl.args)
    if passes == "forward+backward":
        grads = cnnlib.conv2d_backward(g, cache)  # noqa: F841 (kept alive, as in training)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak / x.nbytes, y.nbytes / x.nbytes


# ----------------------------------------------------------------------------- reporting

def ms(seconds):
    t = seconds * 1e3
    return f"{t:.3f}" if t < 1 else f"{t:.2f}" if t < 100 else f"{t:.0f}"


def print_table(title, headers, rows):
    """A Markdown table, aligned so that it also reads well in a terminal."""
    widths = [max(len(str(c)) for c in col) for col in zip(headers, *rows)]

    def line(cells):
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths)) + " |"

    print(f"\n### {title}\n")
    print(line(headers))
    print(line(["-" * w for w in widths]))
    for row in rows:
        print(line(row))
    sys.stdout.flush()


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read()
    except OSError:
        return platform.processor() or "unknown CPU"
    model = next((line.split(":", 1)[1].strip() for line in info.splitlines()
                  if line.startswith("model name")), "?")
    simd = "AVX-512" if "avx512f" in info else "AVX2" if "avx2" in info else ""
    return f"{model} ({simd})" if simd else model


def machine(torch, threads, no_torch):
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        blas = f"{blas['name']} {blas['version']}"
    except Exception:  # older NumPy, or a build without the dict
        blas = "?"
    versions = [f"Python {platform.python_version()}", f"NumPy {np.__version__} ({blas})"]
    try:
        import scipy
        versions.append(f"SciPy {scipy.__version__}")
    except ImportError:
        versions.append("SciPy not installed")
    versions.append(f"PyTorch {torch.__version__}" if torch else
                    "PyTorch not used (--no-torch)" if no_torch else "PyTorch not installed")
    cores = f"{os.cpu_count()} logical CPUs"
    if hasattr(os, "sched_getaffinity"):
        cores += f" ({len(os.sched_getaffinity(0))} usable)"
    load = " / ".join(f"{v:.2f}" for v in os.getloadavg())
    used = []
    try:  # check that the thread settings took
        from threadpoolctl import threadpool_info
        used = [f"{p['internal_api']} {p['num_threads']}"
                + (f" ({p['architecture']} kernels)" if p.get("architecture") else "")
                for p in threadpool_info()]
    except ImportError:
        pass
    if torch:
        used.append(f"torch {torch.get_num_threads()}")
    return (f"machine: {cpu_model()}, {cores}, {platform.system()} {platform.machine()}\n"
            f"software: {', '.join(versions)}\n"
            f"threads: {threads} for NumPy's BLAS and PyTorch (in use: {', '.join(used) or '?'}); "
            f"load average (1/5/15 min): {load}")


def report(op, cases, have_torch):
    """Print the table of one operation; return its verdicts [(label, met), ...]."""
    rows, verdicts = [], []
    for case in cases:
        t = case.times
        row = [case.wl.name, case.dtype, ms(statistics.median(t["cnnlib"]))]
        if have_torch:
            ratio, goal = median_ratio(t["cnnlib"], t["torch"]), target(op, case.wl, case.dtype)
            row += [ms(statistics.median(t["torch"])), f"{ratio:.2f}", f"≤ {goal}",
                    "OK" if ratio <= goal else "MISS"]
            verdicts.append((f"{op} {case.wl.name} {case.dtype} ({ratio:.2f}, target ≤ {goal})", ratio <= goal))
        rows.append(row + [f"{case.others:.2f}"])
    headers = ["workload", "dtype", "cnnlib ms"]
    if have_torch:
        headers += ["torch ms", "cnnlib/torch", "target", ""]
    print_table(op, headers + ["others"], rows)
    return verdicts


def report_baselines(cases):
    rows, verdicts = [], []
    for case in cases:
        t = case.times
        for name in ("naive", "scipy"):
            if name in t:
                speedup = median_ratio(t[name], t["cnnlib"])
                goal = "≥ 300" if name == "naive" else ""
                verdict = ("OK" if speedup >= 300 else "MISS") if goal else ""
                if goal:
                    verdicts.append((f"naive loop {case.wl.name} {case.dtype} ({speedup:,.0f}×, target ≥ 300×)",
                                     speedup >= 300))
                rows.append([case.wl.name, case.dtype, name, ms(statistics.median(t[name])),
                             ms(statistics.median(t["cnnlib"])), f"{speedup:,.0f}×", goal, verdict])
        if case.note:
            rows.append([case.wl.name, case.dtype, case.note, "", "", "", "", ""])
    if rows:
        print_table("conv2d forward: cnnlib's speed-up over the naive loop and SciPy",
                    ["workload", "dtype", "baseline", "baseline ms", "cnnlib ms", "speed-up", "target", ""],
                    rows)
    return verdicts


# ----------------------------------------------------------------------------- main

def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, help="timed rounds per case (default 15; 3 with --quick)")
    p.add_argument("--threads", type=int, default=2, help="threads for NumPy and PyTorch (default 2)")
    p.add_argument("--only", type=lambda s: s.split(","),
                   help="comma-separated workloads, e.g. W1,W4 (W5 = W5-d2 and W5-d4; "
                        "W4 includes conv_transpose2d and max_pool2d)")
    p.add_argument("--dtype", type=lambda s: s.split(","), default=["float32", "float64"],
                   help="float32, float64 or both, comma-separated (default: both)")
    p.add_argument("--quick", action="store_true",
                   help="a few short rounds to check that the harness runs (times not meaningful)")
    p.add_argument("--no-torch", action="store_true", help="do not use PyTorch, even if installed")
    p.add_argument("--min-time", type=float, help="seconds per timed sample (default 0.05)")
    p.add_argument("--pause", type=float, help="seconds of pause before each sample (default 0.15)")
    args = p.parse_args(argv)
    names = {wl.name.split("-")[0] for wl in CONV} | {wl.name for wl in CONV}
    if args.only and not set(args.only) <= names:
        p.error(f"--only: unknown workload(s) {sorted(set(args.only) - names)}; choose from {sorted(names)}")
    if not set(args.dtype) <= {"float32", "float64"}:
        p.error(f"--dtype must be float32, float64 or both, got {','.join(args.dtype)}")
    args.rounds = args.rounds or (3 if args.quick else 15)
    args.min_time = args.min_time if args.min_time is not None else (0.005 if args.quick else 0.05)
    args.pause = args.pause if args.pause is not None else (0.02 if args.quick else 0.15)
    return args


def main(argv=None):
    args = parse_args(argv)
    if argv is None and any(os.environ.get(v) != str(args.threads) for v in THREAD_VARS):
        # BLAS and OpenMP read these when they load: start again with them set.
        os.environ.update({v: str(args.threads) for v in THREAD_VARS})
        os.execv(sys.executable, [sys.executable, *sys.argv])
    torch = None
    if not args.no_torch:
        try:
            import torch
            torch.set_num_threads(args.threads)
        except ImportError:
            pass

    print(f"# cnnlib benchmark, {datetime.datetime.now():%Y-%m-%d %H:%M}\n")
    print(machine(torch, args.threads, args.no_torch))
    print(f"method: {args.rounds} interleaved rounds, samples of ≥ {args.min_time} s, "
          f"{args.pause} s pause before each; median times, median of per-round ratios")
    if args.quick:
        print("--quick: too few rounds for the times to mean anything")
    if torch is None:
        print(f"PyTorch is {'not used' if args.no_torch else 'not installed'}: "
              "cnnlib times and its speed-ups over the loop and SciPy only")

    cases = []
    for case in make_cases(args, torch, np.random.default_rng(0)):
        print(f"  timing {case.op} {case.wl.name} {case.dtype} ...", file=sys.stderr, flush=True)
        check(case)
        measure(case, args)
        cases.append(case)
    verdicts = []
    for op in dict.fromkeys(c.op for c in cases):
        verdicts += report(op, [c for c in cases if c.op == op], torch is not None)
        if op == "conv2d forward":
            verdicts += report_baselines([c for c in cases if c.op == op])

    w4 = next(wl for wl in CONV if wl.name == "W4")
    if w4.selected(args.only):
        rows = []
        for passes in ("conv2d", "conv2d_forward", "forward+backward"):
            peak, out = peak_memory(w4, args.dtype[0], passes)
            rows.append([passes, args.dtype[0], f"{peak:.1f}×", f"{out:.1f}×"])
        print_table("conv2d peak extra memory on W4 (tracemalloc), in multiples of x.nbytes",
                    ["pass", "dtype", "peak / x.nbytes", "output / x.nbytes"], rows)
    missed = [label for label, met in verdicts if not met]
    print(f"\ntargets: {len(verdicts) - len(missed)} met, {len(missed)} missed"
          + "".join(f"\n  MISS {label}" for label in missed))
    retimed = "not retimed with --quick" if args.quick else \
        f"above {BUSY_LIMIT} a row was retimed up to {RETRIES} times and the quietest attempt is shown"
    print(f"others: CPUs kept busy by other processes (or stolen by the hypervisor) while the row "
          f"was timed ({retimed}). A busy CPU delays every threaded call (OpenMP and OpenBLAS "
          "wait for their slowest thread): rerun such rows with --only when the machine is quiet.")
    print(f"load average at the end (1/5/15 min): {' / '.join(f'{v:.2f}' for v in os.getloadavg())}")


if __name__ == "__main__":
    main()
