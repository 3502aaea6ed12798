"""The ``decide`` rules of the theory.* claims on hand-made results, both sides of each rule."""

from __future__ import annotations

import math

from verify.claims.theory.chain_law_matches_particles import LadderResult, decide_ladder
from verify.claims.theory.discretization_order import OrderRunResult, decide_order
from verify.claims.theory.kl_scaling import ScalingResult, _finest_slope, decide_scaling, raw_regime
from verify.claims.theory.marginals_independent_of_gamma import MarginalsResult, decide_marginals
from verify.claims.theory.pf_ode_preserves_kl import PfOdeResult, decide_pf_ode
from verify.claims.theory.ve_ancestral_shortfall import ShortfallResult, decide_ve_shortfall


def test_marginals_decide_on_the_tolerance_and_the_grid_error():
    ok = MarginalsResult([["VP", 0.0, 1e-16, "ode"]], [[1.0, 2e-4, 1e-4]])
    assert decide_marginals(ok).verdict == "holds"
    off = MarginalsResult([["VP", 1.0, 1e-14, "ode"]], [[1.0, 2e-4, 1e-4]])
    assert decide_marginals(off).verdict == "fails"
    grid = MarginalsResult([["VP", 0.0, 1e-16, "ode"]], [[1.0, 5e-4, 1e-4]])
    assert decide_marginals(grid).verdict == "fails"  # 5e-4 > 3 x 1e-4 + 1e-6


def test_marginals_decide_on_the_chains_slope():
    def res(slope):
        chain = [["VP", "euler", 2.0, [4e-4, 1e-4, 2.5e-5], slope]]
        return MarginalsResult([["VP", 0.0, 1e-16, "ode"]], [[1.0, 2e-4, 1e-4]], {}, chain)

    assert decide_marginals(res(-2.2)).verdict == "holds"
    assert decide_marginals(res(-1.7)).verdict == "fails"  # a stalling chain
    assert decide_marginals(res(-2.3)).verdict == "fails"


def test_pf_ode_decide_needs_constancy_and_strict_decrease():
    rows = [[0.0, 1.0, 1.0, 1e-12, None, 0.1], [1.0, 1.0, 0.5, 0.5, True, 0.1]]
    assert decide_pf_ode(PfOdeResult(rows, {})).verdict == "holds"
    drift = [[0.0, 1.0, 1.0, 1e-8, None, 0.1], [1.0, 1.0, 0.5, 0.5, True, 0.1]]
    assert decide_pf_ode(PfOdeResult(drift, {})).verdict == "fails"
    flat = [[0.0, 1.0, 1.0, 1e-12, None, 0.1], [1.0, 1.0, 1.0, 0.0, False, 0.1]]
    assert decide_pf_ode(PfOdeResult(flat, {})).verdict == "fails"
    off_form = [[0.0, 1.0, 1.0, 1e-12, None, 0.1], [1.0, 1.0, 0.5, 0.5, True, 1.5]]
    assert decide_pf_ode(PfOdeResult(off_form, {})).verdict == "fails"


def test_pf_ode_decide_on_the_heun_chains_second_order():
    rows = [[0.0, 1.0, 1.0, 1e-12, None, 0.1], [1.0, 1.0, 0.5, 0.5, True, 0.1]]
    good = [[100, 4e-4], [200, 1e-4]]
    assert decide_pf_ode(PfOdeResult(rows, {}, good)).verdict == "holds"
    stalled = [[100, 4e-4], [200, 2.5e-4]]  # slope -0.68: the chain is not the flow map
    assert decide_pf_ode(PfOdeResult(rows, {}, stalled)).verdict == "fails"


def _case(slope, expected=1, tol=0.3):
    return {"method": "euler", "gamma": 1.0, "steps": [1, 2], "errors": [1, 0.5],
            "slope": slope, "expected": expected, "tolerance": tol}  # fmt: skip


def test_order_decide_uses_the_records_tolerance():
    assert decide_order(OrderRunResult([_case(1.25)])).verdict == "holds"
    assert decide_order(OrderRunResult([_case(1.35)])).verdict == "fails"
    assert decide_order(OrderRunResult([_case(0.65)])).verdict == "fails"


def _shortfall(chain_rel=1e-12, var=1.9339, se=0.004):
    # N = 5 row: target var 2.0001, closed-form shortfall 0.0662
    rows = [[5, 2.0001, 1.9339, 0.0662, 0.0662, chain_rel]]
    return ShortfallResult(rows, var, se, [0])


def test_ve_shortfall_decide_ties_closed_form_chain_and_particles():
    assert decide_ve_shortfall(_shortfall()).verdict == "holds"
    assert decide_ve_shortfall(_shortfall(chain_rel=1e-6)).verdict == "fails"
    # particles showing no shortfall (variance = target) contradict the closed form
    assert decide_ve_shortfall(_shortfall(var=2.0001)).verdict == "fails"


def test_ladder_decide_at_four_and_a_half_standard_errors():
    assert decide_ladder(LadderResult([["euler", 1.0, 4.4, 1.0]], 10, [0])).verdict == "holds"
    bad = decide_ladder(LadderResult([["euler", 1.0, 4.6, 1.0]], 10, [0]))
    assert bad.verdict == "fails" and "euler(gamma=1)" in bad.reason


def _scaling(out_slope=-2.0, path_slope=-1.0, per_dim=(1.0, 1.1, 1.15), dpi=True):
    steps = [100 * 2**k for k in range(8)]
    out = [n**out_slope for n in steps]
    path = [2.0 * n**path_slope for n in steps] if dpi else [1e-9 * n**path_slope for n in steps]
    cases = [
        {"method": "euler", "gamma": 1.0, "steps": steps, "out": out, "path": path, "order": 1},
        {"method": "heun", "gamma": 0.0, "steps": steps, "out": [n**-4.0 for n in steps],
         "path": [math.nan] * len(steps), "order": 2},
    ]  # fmt: skip
    return ScalingResult(cases, [1, 10, 100], list(per_dim), 400)


def test_scaling_decide_on_slopes_dpi_and_dimension():
    assert decide_scaling(_scaling()).verdict == "holds"
    assert decide_scaling(_scaling(out_slope=-1.0)).verdict == "fails"  # a 1/N output KL
    assert decide_scaling(_scaling(path_slope=-2.0)).verdict == "fails"
    assert decide_scaling(_scaling(dpi=False)).verdict == "fails"  # output KL > path KL
    assert decide_scaling(_scaling(per_dim=(1.0, 1.5, 2.0))).verdict == "fails"


def _scaling_law(out_of_n, path_of_n=None, order=1.0, top=12800):
    steps = [100 * 2**k for k in range(int(math.log2(top / 100)) + 1)]
    out = [out_of_n(n) for n in steps]
    path = [path_of_n(n) if path_of_n else 10.0 * out_of_n(n) * n for n in steps]
    case = {"sde": "VE", "method": "euler", "gamma": 1.0, "steps": steps, "out": out,
            "path": path, "order": order}  # fmt: skip
    return ScalingResult([case], [1, 10, 100], [1.0, 1.0, 1.0], 400)


def test_scaling_decides_in_the_asymptotic_regime_not_at_the_finest_pair():
    # a large 1/N correction in log KL: finest-pair slope -2.11, yet KL ~ N^-2 asymptotically
    pre = _scaling_law(lambda n: n**-2.0 * math.exp(1000.0 / n))
    assert abs(_finest_slope(pre.cases[0]["steps"], pre.cases[0]["out"]) + 2.0) > 0.1
    d = decide_scaling(pre)
    assert d.verdict == "holds", d.reason
    assert raw_regime(pre.cases[0]["steps"], pre.cases[0]["out"], -2.0) is None
    assert "beyond 12800" in d.reason


def test_scaling_fails_on_the_wrong_rate_on_either_side():
    assert decide_scaling(_scaling_law(lambda n: n**-1.0)).verdict == "fails"  # weak order 1/2
    assert decide_scaling(_scaling_law(lambda n: n**-2.2)).verdict == "fails"
    assert decide_scaling(_scaling_law(lambda n: n**-2.08)).verdict == "holds"
    assert decide_scaling(_scaling_law(lambda n: 1e-3 + n**-2.0)).verdict == "fails"  # a floor
    heun_as_euler = _scaling_law(lambda n: n**-2.0, order=2.0)
    assert decide_scaling(heun_as_euler).verdict == "fails"


def test_scaling_is_inconclusive_before_the_regime_and_fails_on_a_dpi_breach():
    wobble = _scaling_law(lambda n: n**-2.0 * (1.5 + math.sin(math.log2(n))))
    assert decide_scaling(wobble).verdict == "inconclusive"
    breach = _scaling_law(lambda n: n**-2.0, path_of_n=lambda n: 0.5 * n**-2.0 * n)
    breach.cases[0]["path"][0] = 0.1 * breach.cases[0]["out"][0]
    assert decide_scaling(breach).verdict == "fails"
