"""golden.npz is whole and current, and the oracle's checks can fail."""
import numpy as np
import oracle
import pytest

MAX_BYTES = 3_000_000


@pytest.fixture(scope="module")
def oracles():
    return oracle.collect()


def _first_case(oracles):
    """A conv2d case of test_conv.py and its inputs, as its test draws them."""
    import test_conv

    case = oracles["conv2d"].cases[0]
    x, w, b, _ = test_conv._conv2d_inputs(case)
    return oracles["conv2d"], case, {"x": x, "w": w, "b": b}


def test_golden_file_holds_exactly_the_cases_of_the_tests(oracles):
    stored = set(oracle.manifest()["cases"])
    wanted = {case.key for o in oracles.values() for case in o.cases}
    missing, extra = sorted(wanted - stored), sorted(stored - wanted)
    assert not missing and not extra, (f"golden.npz lacks {len(missing)} cases of the tests {missing[:5]} and has "
                                       f"{len(extra)} they no longer have {extra[:5]}: run `{oracle.REGENERATE}`")


def test_every_oracle_is_declared_in_a_listed_module(oracles):
    assert {o.module for o in oracle.ORACLES.values()} <= set(oracle.MODULES)


def test_golden_file_stays_small():
    assert oracle.GOLDEN.stat().st_size < MAX_BYTES


def test_seeds_do_not_depend_on_the_process():
    assert oracle.seed_of("conv2d/a") == 1065420045  # zlib.crc32, unlike hash()
    assert oracle.Case("conv2d", "a", None).seed == oracle.seed_of("conv2d/a")


def test_a_result_that_differs_fails_naming_the_source(oracles):
    torch_oracle, case, inputs = _first_case(oracles)
    results = torch_oracle.results(case, inputs)
    wrong = results.sources[0][1]["out"] + 1.0
    with pytest.raises(AssertionError, match=r"out of conv2d/.* differs from the stored PyTorch"):
        results.check("out", wrong, np.testing.assert_allclose)
    with pytest.raises(pytest.fail.Exception, match="no result 'dy'"):
        results.check("dy", wrong, np.testing.assert_allclose)


def test_changed_inputs_fail_naming_make_golden(oracles):
    torch_oracle, case, inputs = _first_case(oracles)
    x = inputs["x"]
    nudged = x.copy()
    nudged.flat[-1] += 1e-9
    reordered = x.ravel()[::-1].reshape(x.shape)
    for changed in (nudged, reordered, x[..., None]):
        with pytest.raises(pytest.fail.Exception, match="make_golden.py"):
            torch_oracle.results(case, inputs | {"x": changed})
    torch_oracle.results(case, inputs)


def test_a_case_not_stored_fails_naming_make_golden(oracles):
    torch_oracle, case, inputs = _first_case(oracles)
    with pytest.raises(pytest.fail.Exception, match="no results for conv2d/new.*make_golden.py"):
        torch_oracle.results(oracle.Case("conv2d", "new", case.config), inputs)


def test_a_stored_result_that_live_pytorch_no_longer_gives_fails_naming_make_golden():
    live = {"out": np.array([1.0, 2.0, np.nan]), "dx": np.array([-np.inf, 3.0])}
    case = oracle.Case("conv2d", "a", None)
    oracle._assert_stored_is_current(case, {name: a.copy() for name, a in live.items()}, live)
    for stored in ({"out": np.array([1.0, 2.0 + 1e-8, np.nan]), "dx": live["dx"]},
                   {"out": np.array([1.0, 2.0, 0.0]), "dx": live["dx"]},
                   {"out": live["out"]}):
        with pytest.raises(pytest.fail.Exception, match="make_golden.py"):
            oracle._assert_stored_is_current(case, stored, live)


def test_fingerprints_see_values_order_shape_and_dtype():
    a = np.arange(6.0).reshape(2, 3)
    same = oracle.fingerprint(a.copy())
    assert oracle.fingerprint(a) == same
    for changed in (a + 1e-12, a[::-1], a.reshape(3, 2), a.astype(np.float32), a.T):
        assert oracle.fingerprint(changed) != same
    assert oracle.fingerprint(np.array([np.nan, -np.inf])) != oracle.fingerprint(np.array([0.0, 0.0]))
