"""The ``decide`` rules of the theory.* claims on hand-made results, both sides of each rule."""

from __future__ import annotations

import math

from verify.claims import theory as T


def test_marginals_decide_on_the_tolerance_and_the_grid_error():
    ok = T.MarginalsResult([["VP", 0.0, 1e-16, "ode"]], [[1.0, 2e-4, 1e-4]])
    assert T.decide_marginals(ok).verdict == "holds"
    off = T.MarginalsResult([["VP", 1.0, 1e-14, "ode"]], [[1.0, 2e-4, 1e-4]])
    assert T.decide_marginals(off).verdict == "fails"
    grid = T.MarginalsResult([["VP", 0.0, 1e-16, "ode"]], [[1.0, 5e-4, 1e-4]])
    assert T.decide_marginals(grid).verdict == "fails"  # 5e-4 > 3 x 1e-4 + 1e-6


def test_marginals_decide_on_the_chains_slope():
    def res(slope):
        chain = [["VP", "euler", 2.0, [4e-4, 1e-4, 2.5e-5], slope]]
        return T.MarginalsResult([["VP", 0.0, 1e-16, "ode"]], [[1.0, 2e-4, 1e-4]], {}, chain)

    assert T.decide_marginals(res(-2.2)).verdict == "holds"
    assert T.decide_marginals(res(-1.7)).verdict == "fails"  # a stalling chain
    assert T.decide_marginals(res(-2.3)).verdict == "fails"


def test_pf_ode_decide_needs_constancy_and_strict_decrease():
    rows = [[0.0, 1.0, 1.0, 1e-12, None, 0.1], [1.0, 1.0, 0.5, 0.5, True, 0.1]]
    assert T.decide_pf_ode(T.PfOdeResult(rows, {})).verdict == "holds"
    drift = [[0.0, 1.0, 1.0, 1e-8, None, 0.1], [1.0, 1.0, 0.5, 0.5, True, 0.1]]
    assert T.decide_pf_ode(T.PfOdeResult(drift, {})).verdict == "fails"
    flat = [[0.0, 1.0, 1.0, 1e-12, None, 0.1], [1.0, 1.0, 1.0, 0.0, False, 0.1]]
    assert T.decide_pf_ode(T.PfOdeResult(flat, {})).verdict == "fails"
    off_form = [[0.0, 1.0, 1.0, 1e-12, None, 0.1], [1.0, 1.0, 0.5, 0.5, True, 1.5]]
    assert T.decide_pf_ode(T.PfOdeResult(off_form, {})).verdict == "fails"


def test_pf_ode_decide_on_the_heun_chains_second_order():
    rows = [[0.0, 1.0, 1.0, 1e-12, None, 0.1], [1.0, 1.0, 0.5, 0.5, True, 0.1]]
    good = [[100, 4e-4], [200, 1e-4]]
    assert T.decide_pf_ode(T.PfOdeResult(rows, {}, good)).verdict == "holds"
    stalled = [[100, 4e-4], [200, 2.5e-4]]  # slope -0.68: the chain is not the flow map
    assert T.decide_pf_ode(T.PfOdeResult(rows, {}, stalled)).verdict == "fails"


def _case(slope, expected=1, tol=0.3):
    return {"method": "euler", "gamma": 1.0, "steps": [1, 2], "errors": [1, 0.5],
            "slope": slope, "expected": expected, "tolerance": tol}  # fmt: skip


def test_order_decide_uses_the_records_tolerance():
    assert T.decide_order(T.OrderRunResult([_case(1.25)])).verdict == "holds"
    assert T.decide_order(T.OrderRunResult([_case(1.35)])).verdict == "fails"
    assert T.decide_order(T.OrderRunResult([_case(0.65)])).verdict == "fails"


def _shortfall(chain_rel=1e-12, var=1.9339, se=0.004):
    # N = 5 row: target var 2.0001, closed-form shortfall 0.0662
    rows = [[5, 2.0001, 1.9339, 0.0662, 0.0662, chain_rel]]
    return T.ShortfallResult(rows, var, se, [0])


def test_ve_shortfall_decide_ties_closed_form_chain_and_particles():
    assert T.decide_ve_shortfall(_shortfall()).verdict == "holds"
    assert T.decide_ve_shortfall(_shortfall(chain_rel=1e-6)).verdict == "fails"
    # particles showing no shortfall (variance = target) contradict the closed form
    assert T.decide_ve_shortfall(_shortfall(var=2.0001)).verdict == "fails"


def test_ladder_decide_at_four_and_a_half_standard_errors():
    assert T.decide_ladder(T.LadderResult([["euler", 1.0, 4.4, 1.0]], 10, [0])).verdict == "holds"
    bad = T.decide_ladder(T.LadderResult([["euler", 1.0, 4.6, 1.0]], 10, [0]))
    assert bad.verdict == "fails" and "euler(gamma=1)" in bad.reason


def _scaling(out_slope=-2.0, path_slope=-1.0, per_dim=(1.0, 1.1, 1.15), dpi=True):
    steps = [400, 800]
    out = [1.0, 2.0**out_slope]
    path = [2.0, 2.0 * 2.0**path_slope] if dpi else [1e-3, 1e-3 * 2.0**path_slope]
    cases = [
        {"method": "euler", "gamma": 1.0, "steps": steps, "out": out, "path": path, "order": 1},
        {"method": "heun", "gamma": 0.0, "steps": steps, "out": [1.0, 2.0**-4],
         "path": [math.nan, math.nan], "order": 2},
    ]  # fmt: skip
    return T.ScalingResult(cases, [1, 10, 100], list(per_dim), 400)


def test_scaling_decide_on_slopes_dpi_and_dimension():
    assert T.decide_scaling(_scaling()).verdict == "holds"
    assert T.decide_scaling(_scaling(out_slope=-1.0)).verdict == "fails"  # a 1/N output KL
    assert T.decide_scaling(_scaling(path_slope=-2.0)).verdict == "fails"
    assert T.decide_scaling(_scaling(dpi=False)).verdict == "fails"  # output KL > path KL
    assert T.decide_scaling(_scaling(per_dim=(1.0, 1.5, 2.0))).verdict == "fails"
