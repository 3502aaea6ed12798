"""The theory.* claims: they hold on the real samplers and fail on a broken one."""

import io

import numpy as np
import pytest

from verify.claims import registry
from verify.claims.base import RunContext, run_claim


def _ctx(tmp_path):
    return RunContext(budget="quick", seed=0, figure_dir=tmp_path, stream=io.StringIO())


def test_ve_shortfall_claim_holds_with_closed_form_numbers(tmp_path):
    res = run_claim(registry.get("theory.ve-ancestral-shortfall"), _ctx(tmp_path))
    assert res["verdict"] == "holds", res["reason"]
    rows = res["tables"][next(iter(res["tables"]))]["rows"]
    assert all(r[3] > 0 for r in rows)  # the shortfall is positive for every N
    assert res["figures"]


def test_a_broken_sampler_is_reported_as_fails_with_numbers(tmp_path, monkeypatch):
    """Inject a sampler whose noise is off by sqrt(2): the ladder claim must catch it."""
    import verify.solvers.particles as samplers

    real = samplers.reverse_sample

    def broken(sde, score, x_T, grid, gamma=1.0, method="euler", rng=None, **kw):
        g = gamma * 2.0 if method in ("euler", "exponential", "pc") else gamma
        if method in ("ddpm", "heun", "ancestral"):
            return real(sde, score, x_T, grid, gamma, method, rng, **kw) * 1.05
        # the drift keeps (1 + gamma)/2 of the *stated* gamma, the noise uses 2 gamma
        return real(sde, score, x_T, grid, g, method, rng, **kw)

    monkeypatch.setattr(samplers, "reverse_sample", broken)
    res = run_claim(registry.get("theory.chain-law-matches-particles"), _ctx(tmp_path))
    assert res["verdict"] == "fails"
    assert "error" not in res, res.get("error")  # the claim decided it; it did not crash
    assert "outside 4.5 SE" in res["reason"]
    table = res["tables"][next(iter(res["tables"]))]
    assert max(max(r[2], r[3]) for r in table["rows"]) > 4.5


@pytest.mark.slow
@pytest.mark.parametrize("claim_id", [c.id for c in registry.select(["theory.*"])])
def test_theory_claims_hold_at_quick_budget(claim_id, tmp_path):
    res = run_claim(registry.get(claim_id), _ctx(tmp_path))
    assert res["verdict"] == "holds", res["reason"]
    assert res["figures"] and np.isfinite(res["seconds"])


def _plant_wrong_drift(monkeypatch, factor=0.8):
    """Scale the score weight (1 + gamma)/2 g2 of the reverse drift by ``factor`` everywhere
    the claims read it: ``ReverseFamily`` (moment ODE, FP grid) and the chains' step tables."""
    import dataclasses

    import verify.solvers.chain_laws as cl
    from verify.solvers.methods import AffineSteps, HeunSteps
    from verify.solvers.reverse import ReverseFamily

    real_coeffs = ReverseFamily.drift_coefficients

    def coeffs(self, t):
        f, w, D = real_coeffs(self, t)
        return f, factor * w, D

    real_tables = cl.step_tables

    def tables(*args, **kw):
        tab = real_tables(*args, **kw)
        if isinstance(tab, AffineSteps):
            return dataclasses.replace(tab, B=factor * tab.B)
        if isinstance(tab, HeunSteps):
            return dataclasses.replace(tab, hg_t=factor * tab.hg_t, hg_s=factor * tab.hg_s)
        return tab

    monkeypatch.setattr(ReverseFamily, "drift_coefficients", coeffs)
    monkeypatch.setattr(cl, "step_tables", tables)


@pytest.mark.parametrize(
    "claim_id", ["theory.marginals-independent-of-gamma", "theory.pf-ode-preserves-kl"]
)
def test_a_wrong_reverse_drift_fails_the_theory_claims(claim_id, tmp_path, monkeypatch):
    """Issue 22: both claims once read closed forms that never used the reverse drift."""
    _plant_wrong_drift(monkeypatch)
    res = run_claim(registry.get(claim_id), _ctx(tmp_path))
    assert "error" not in res, res.get("error")
    assert res["verdict"] == "fails", res["reason"]


def test_the_moment_ode_route_alone_catches_the_wrong_drift(monkeypatch):
    """Without the chains and the FP grid, the moment ODE's numbers alone refute it."""
    from verify.claims.theory.marginals_independent_of_gamma import (
        MARGINALS_SLOPE_TOL,
        _marginal_chain_task,
        _marginal_task,
    )

    _plant_wrong_drift(monkeypatch)
    rows = [_marginal_task({"sde": s, "gamma": g}) for s in ("VP", "OU") for g in (0.5, 2.0)]
    assert min(row[2] for row in rows) > 1e-6
    chain = _marginal_chain_task({"sde": "VP", "method": "exponential", "gamma": 2.0})
    assert abs(chain[4] + 2.0) > MARGINALS_SLOPE_TOL  # the chain's KL stalls


def test_a_heun_chain_reduced_to_euler_fails_the_kl_scaling_claim(monkeypatch):
    """Plant a Heun whose corrector is dropped (Euler tables): its output KL falls like N^-2,
    not N^-4, and the extrapolated slope refutes weak order 2."""
    import verify.solvers.chain_laws as cl
    from verify.claims.theory.kl_scaling import ScalingResult, _scaling_task, decide_scaling

    real = cl.step_tables

    def tables(sde, grid, gammas, method="euler", *a, **kw):
        return real(sde, grid, gammas, "euler" if method == "heun" else method, *a, **kw)

    monkeypatch.setattr(cl, "step_tables", tables)
    steps = [100 * 2**k for k in range(6)]
    case = _scaling_task({"sde": "VE", "t_min": 1e-2, "method": "heun", "gamma": 0.0,
                          "steps": steps})  # fmt: skip
    euler = _scaling_task({"sde": "VP", "t_min": 1e-2, "method": "euler", "gamma": 1.0,
                           "steps": steps})  # fmt: skip
    d = decide_scaling(ScalingResult([case, euler], [1], [1.0], 400))
    assert d.verdict == "fails", d.reason
    assert "VE heun(gamma=0): extrapolated output-KL slope -2.0" in d.reason
