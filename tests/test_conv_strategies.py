"""Every strategy of cnnlib.conv_strategies.STRATEGIES against cnnlib.conv_reference.

One grid of random cases (seeded; the seed is in each test id) is shared by all strategies:
each strategy runs, by its entry in the table, on every case it says it can compute
(``valid``), in float64 and float32, with the work buffers lent full of NaN (so a strategy
that read memory before writing it would fail). Forward, backward and the transposed
convolution are compared with the plain reference, which tests/test_conv.py compares with
loops, SciPy and PyTorch.
"""
import concurrent.futures

import numpy as np
import pytest
from oracle import seed_of

import cnnlib.conv
from cnnlib import conv_reference as reference
from cnnlib.conv_strategies import STRATEGIES, _work, choose, strategy

JOBS = tuple(STRATEGIES)
NAMES = [(job, s.name) for job in JOBS for s in STRATEGIES[job]]


def _grid(count, seed):
    """(N, C_in, C_out, H, W, kernel, stride, padding, output_padding, dilation) cases whose
    kernel fits, stride 1-3, dilation 1-2, padding 0-2, output_padding below the stride or dilation."""
    rng = np.random.default_rng(seed)
    cases = []
    while len(cases) < count:
        n, c_in = (int(v) for v in rng.integers(1, 4, 2))
        c_out = int(rng.choice([1, 3, 9, 33]))  # few and many output maps (the rules look at both)
        kernel = tuple(int(v) for v in rng.integers(1, 5, 2))
        stride = tuple(int(v) for v in rng.choice([1, 1, 2, 3], 2))  # stride 1: where most routes apply
        dilation, padding = (tuple(int(v) for v in rng.integers(lo, hi, 2)) for lo, hi in ((1, 3), (0, 3)))
        size = tuple(int(d * (k - 1) + 1 + rng.integers(0, 7)) for k, d in zip(kernel, dilation))
        output_padding = tuple(int(rng.integers(0, max(s, d))) for s, d in zip(stride, dilation))
        cases.append((n, c_in, c_out, *size, kernel, stride, padding, output_padding, dilation))
    # Large enough for several blocks of output rows in "im2col blocks", the last one short.
    cases.append((4, 8, 6, 40, 40, (3, 3), (1, 1), (0, 0), (0, 0), (1, 1)))
    # Many output maps for many input maps, dilated rows: where conv2d takes the row shifts.
    cases.append((2, 12, 33, 9, 8, (3, 3), (1, 2), (1, 0), (0, 1), (2, 1)))
    return cases


GRID = _grid(60, seed=5)


def _case_id(case):
    n, c_in, c_out, h, w, kernel, stride, padding, output_padding, dilation = case
    text = (f"{n}x{c_in}x{h}x{w}-{c_out}x{kernel[0]}x{kernel[1]}-s{stride[0]}{stride[1]}"
            f"-p{padding[0]}{padding[1]}-op{output_padding[0]}{output_padding[1]}-d{dilation[0]}{dilation[1]}")
    return f"{text}-seed{seed_of(text)}"


def _arrays(case, dtype, transposed):
    n, c_in, c_out, h, w, kernel, *_ = case
    rng = np.random.default_rng(seed_of(_case_id(case).rpartition("-seed")[0]))
    x = rng.standard_normal((n, c_in, h, w))
    wt = rng.standard_normal((c_in, c_out, *kernel) if transposed else (c_out, c_in, *kernel))
    b, g = rng.standard_normal(c_out), rng
    return x.astype(dtype), wt.astype(dtype), b.astype(dtype), g


def _prepared(job, case, dtype):
    """(checked x, w, b, geometry, the reference's results) for a job on a case, or None where
    the case does not fit (a transposed output_padding that the geometry rejects)."""
    n, c_in, c_out, h, w, kernel, stride, padding, output_padding, dilation = case
    x, wt, b, rng = _arrays(case, dtype, job == "transposed")
    if job == "transposed":
        try:
            args = cnnlib.conv._conv_transpose2d_args(x, wt, b, stride, padding, output_padding, dilation)
        except ValueError:
            return None
        return args, reference.conv_transpose2d(x, wt, b, stride, padding, output_padding, dilation=dilation)
    args = cnnlib.conv._conv2d_args(x, wt, b, stride, padding, dilation)
    y = reference.conv2d(x, wt, b, stride, padding, dilation)
    g = rng.standard_normal(y.shape).astype(dtype)
    return args, (y, g, reference.conv2d_backward(g, x, wt, stride, padding, dilation))


def _close(actual, expected, dtype):
    assert actual.shape == expected.shape and actual.dtype == dtype
    scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
    rtol, atol = (2e-4, 2e-5) if dtype == np.float32 else (1e-10, 1e-12)
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol * scale)


@pytest.fixture
def poisoned_buffers(monkeypatch):
    """Every temporary, however small, through the work buffers, and lent full of NaN."""
    monkeypatch.setattr(_work, "SMALL_BYTES", 0)
    monkeypatch.setattr(_work, "poison", True)
    monkeypatch.setattr(_work, "limit", 2**30)


@pytest.mark.parametrize("case", GRID, ids=_case_id)
@pytest.mark.parametrize("job, name", NAMES, ids=[f"{j}:{n}" for j, n in NAMES])
def test_strategy_matches_the_reference(poisoned_buffers, job, name, case):
    chosen = strategy(job, name)
    ran = False
    for dtype in (np.float64, np.float32):
        prepared = _prepared(job, case, dtype)
        if prepared is None:
            return
        (x, w, b, geo), expected = prepared
        if not chosen.valid(w.shape, geo):
            return
        ran = True
        if job == "training":
            y_ref, g, grads_ref = expected
            y, saved = chosen.forward(x, w, b, geo)
            _close(y, y_ref, dtype)
            for got, want in zip(chosen.backward(g, saved, w, geo, True), grads_ref):
                _close(got, want, dtype)
        else:
            _close(chosen.forward(x, w, b, geo), expected if job == "transposed" else expected[0], dtype)
    assert ran


UNPADDED = [case for case in GRID if case[7] == (0, 0)]
DIRECT = [(job, name) for job, name in NAMES if job != "transposed"]


@pytest.mark.parametrize("case", UNPADDED, ids=_case_id)
@pytest.mark.parametrize("job, name", DIRECT, ids=[f"{j}:{n}" for j, n in DIRECT])
def test_strategy_reads_a_batch_last_input_in_place(job, name, case):
    """An input already laid out batch-last (a convolution's result fed to the next layer)
    is read where it lies when there is no padding: same numbers, input unchanged."""
    chosen = strategy(job, name)
    (x, w, b, geo), expected = _prepared(job, case, np.float64)
    if not chosen.valid(w.shape, geo):
        return
    x_bl = np.ascontiguousarray(x.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)  # same values
    before = x_bl.copy()
    y = chosen.forward(x_bl, w, b, geo)
    y = y[0] if job == "training" else y  # (output, saved for the backward)
    _close(y, expected[0], np.float64)
    assert np.array_equal(x_bl, before) and not np.shares_memory(y, x_bl)


@pytest.mark.parametrize("job, name", NAMES, ids=[f"{j}:{n}" for j, n in NAMES])
def test_every_strategy_is_valid_on_the_grid_and_chosen_somewhere(job, name):
    """No strategy is tested on too few cases, and the rules of the table reach each one."""
    valid = chosen = 0
    for case in GRID:
        for dtype in (np.float64, np.float32):
            prepared = _prepared(job, case, dtype)
            if prepared is None:
                continue
            (x, w, b, geo), _ = prepared
            valid += strategy(job, name).valid(w.shape, geo)
            chosen += choose(job, w.shape, geo, x.dtype).name == name
    assert valid >= 8, f"{job}:{name} is valid on only {valid} cases of the grid"
    assert chosen >= 1, f"the {job} table never chooses {name} on the grid"


def test_a_strategy_applies_only_where_it_is_valid():
    for case in GRID:
        for job in JOBS:
            for dtype in (np.float64, np.float32):
                prepared = _prepared(job, case, dtype)
                if prepared is None:
                    continue
                (x, w, b, geo), _ = prepared
                for s in STRATEGIES[job]:
                    assert not s.applies(w.shape, geo, x.dtype) or s.valid(w.shape, geo), (job, s.name, case)
                assert STRATEGIES[job][-1].applies(w.shape, geo, x.dtype) or job == "transposed"


def test_the_public_functions_run_the_chosen_strategy():
    """conv2d_forward keeps the strategy that the table chose, and its backward uses it."""
    for case in GRID[:20]:
        (x, w, b, geo), _ = _prepared("training", case, np.float64)
        y, cache = cnnlib.conv.conv2d_forward(x, w, b, *case[6:8], dilation=case[9])
        assert cache["strategy"] is choose("training", w.shape, geo, x.dtype)


@pytest.mark.parametrize("name", [s.name for s in STRATEGIES["inference"]])
def test_inference_strategies_from_several_threads(poisoned_buffers, name):
    """Threads calling at once never see each other's work buffers."""
    rng = np.random.default_rng(10)
    chosen = strategy("inference", name)
    problems = [cnnlib.conv._conv2d_args(rng.standard_normal((8, 4, 24, 24)), rng.standard_normal((36, 4, 3, 3)),
                                         None, 1, 1, 1) for _ in range(6)]
    expected = [reference.conv2d(x, w, None, 1, 1, 1) for x, w, _, _ in problems]

    def run(i):
        x, w, b, geo = problems[i % len(problems)]
        return i % len(problems), np.array(chosen.forward(x, w, b, geo))

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        for i, y in pool.map(run, range(24)):
            _close(y, expected[i], np.float64)


def test_work_buffers_stay_under_their_limit_and_can_be_switched_off():
    rng = np.random.default_rng(11)
    x, w = rng.standard_normal((8, 16, 48, 48)), rng.standard_normal((16, 16, 3, 3))
    expected = reference.conv2d(x, w, None, 1, 1)
    old = cnnlib.conv.work_buffer_limit()
    try:
        cnnlib.conv.work_buffer_limit(3 * 2**20)
        for job in ("training", "inference"):
            for s in STRATEGIES[job]:
                s.forward(*cnnlib.conv._conv2d_args(x, w, None, 1, 1, 1))
                assert _work.kept_bytes() <= 3 * 2**20
        cnnlib.conv.work_buffer_limit(0)
        _close(cnnlib.conv.conv2d(x, w, None, 1, 1), expected, np.float64)
        assert _work.kept_bytes() == 0
    finally:
        cnnlib.conv.work_buffer_limit(old)
    with pytest.raises(ValueError, match="work_buffer_limit: nbytes"):
        cnnlib.conv.work_buffer_limit(-1)
