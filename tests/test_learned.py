"""The learned.* claims: import hygiene, sources, and their verdicts at the quick budget."""

import subprocess
import sys

import numpy as np
import pytest

from verify.claims.learned import CLAIMS
from verify.claims.learned._common import (
    ErrorProfileResult,
    OverSeeds,
    TradeoffResult,
    decide_over_seeds,
)
from verify.claims.learned.error_peak import decide_error_peak
from verify.claims.learned.error_profile import decide_error_profile
from verify.claims.learned.horizon_optimum import HorizonResult, decide_horizon
from verify.claims.learned.init_steps_saved import InitStepsResult, decide_init_steps
from verify.claims.learned.stochasticity_corrects import decide_corrects
from verify.claims.learned.stochasticity_tradeoff import decide_tradeoff


def test_importing_verify_and_the_learned_claims_does_not_import_torch():
    code = (
        "import sys, verify, verify.claims.learned\n"
        "from verify.claims.registry import all_claims\n"
        "all_claims()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_learned_claims_declare_torch_and_cite_sources():
    assert [c.id for c in CLAIMS] == [
        "learned.error-profile",
        "learned.error-peak",
        "learned.stochasticity-tradeoff",
        "learned.stochasticity-corrects",
        "learned.init-steps-saved",
        "learned.horizon-optimum",
    ]
    for c in CLAIMS:
        assert c.requires == ("torch",)
        assert "§" in c.source
    for c in CLAIMS[2:]:
        assert "reconstructed" in c.source
    for c in CLAIMS:
        assert c.doc.startswith("docs/claims/learned.md#")
        assert "notes" not in c.source + c.statement + c.setting


# ------------------------------------------------------------------ decide, hand-made results
def _ci(v, half=None):
    half = 0.05 * abs(v) if half is None else half
    return [v, v - half, v + half]


def _profile(eps, low=3.0, high=1.0):
    ts = [0.002, 0.01, 0.05, 0.2, 1.0]
    return ErrorProfileResult(
        ts=ts,
        sigma2=[0.001, 0.01, 0.1, 0.5, 1.0],
        raw=[_ci(e / s) for e, s in zip(eps, [0.001, 0.01, 0.1, 0.5, 1.0], strict=True)],
        eps=[_ci(e) for e in eps],
        den=[_ci(e) for e in eps],
        low=[_ci(low)] * 5,
        high=[_ci(high)] * 5,
        deciles=[[1.0] * 10] * 5,
        net={"hidden": 1, "depth": 1, "n_iters": 1, "final_loss": 0.0},
    )


def test_decide_error_profile_and_error_peak_both_sides():
    decreasing = [0.5, 0.3, 0.2, 0.1, 0.01]
    peaked = [0.05, 0.1, 0.3, 0.1, 0.01]
    assert decide_error_profile(_profile(decreasing)).verdict == "holds"
    assert decide_error_profile(_profile(peaked)).verdict == "fails"
    assert decide_error_profile(_profile(decreasing, low=1.0)).verdict == "inconclusive"
    assert decide_error_profile(_profile(decreasing, low=0.5)).verdict == "fails"
    assert decide_error_peak(_profile(peaked)).verdict == "holds"
    assert decide_error_peak(_profile(decreasing)).verdict == "fails"
    assert decide_error_peak(_profile(peaked, low=0.5)).verdict == "fails"


def _tradeoff(d_net, d_aff, d_res=-0.04, err=1e-4):
    curves = {
        "network": [[0.06, err], [0.05, float("nan")], [0.06 + d_net, err], [0.02, float("nan")]],
        "affine fit": [[0.001, err], [0.0, float("nan")], [0.001 + d_aff, err], [0.0, 0.0]],
        "non-affine residual": [[0.06, err], [0.0, 0.0], [0.06 + d_res, err], [0.0, 0.0]],
        "exact score": [[1e-6, 1e-6], [0.0, 0.0], [1e-6, 1e-6], [0.0, 0.0]],
    }
    return TradeoffResult([0.0, 0.5, 1.0, 2.0], curves)


def test_decide_tradeoff_all_sides():
    # the affine model predicts the change: same sign, at least 10% of it
    assert decide_tradeoff(_tradeoff(-0.04, -0.01)).verdict == "holds"
    # it explains under 10% (of either sign): it does not predict the change
    assert decide_tradeoff(_tradeoff(-0.04, +0.001)).verdict == "fails"
    assert decide_tradeoff(_tradeoff(-0.04, -0.001)).verdict == "fails"
    assert decide_tradeoff(_tradeoff(-0.04, +0.0001)).verdict == "fails"
    # the share's range straddles 10%, or the network's change is within its error
    assert decide_tradeoff(_tradeoff(-0.04, -0.004)).verdict == "inconclusive"
    assert decide_tradeoff(_tradeoff(-0.0001, -0.01)).verdict == "inconclusive"
    frac = _tradeoff(-0.04, -0.01).fraction("affine fit")
    assert frac[0] == pytest.approx(0.25) and frac[1] < 0.25 < frac[2]


@pytest.mark.parametrize(
    ("per_seed", "verdict"),
    [
        (["fails"] * 5, "fails"),
        (["holds"] * 5, "holds"),
        (["fails", "fails", "inconclusive", "fails", "fails"], "fails"),  # 4 of 5 decided
        (["fails", "fails", "inconclusive", "inconclusive", "fails"], "inconclusive"),
        (["fails", "fails", "holds", "fails", "fails"], "inconclusive"),  # a seed disagrees
        (["inconclusive"] * 5, "inconclusive"),
    ],
)
def test_a_learned_verdict_must_survive_the_training_seeds(per_seed, verdict):
    from verify.claims.base import Decision

    r = OverSeeds(list(range(5)), per_seed)
    dec = decide_over_seeds(lambda v: Decision(v, f"seed says {v}", v), r)
    assert dec.verdict == verdict
    for v in set(per_seed):  # the distribution over seeds is always in the reason
        assert v in dec.reason


def test_decide_corrects_both_sides():
    assert decide_corrects(_tradeoff(-0.04, 0.001)).verdict == "holds"
    assert decide_corrects(_tradeoff(+0.04, 0.001)).verdict == "fails"
    assert decide_corrects(_tradeoff(-0.04, 0.001, d_res=+0.01)).verdict == "fails"


def _init(learned_kl, margin_err=1e-5):
    steps = [2, 4, 8, 16, 32]
    base = {n: 0.5 / n for n in steps}
    lrn = {n: learned_kl / n for n in steps}
    ok = [n for n in steps if lrn[n] <= base[32]]
    n_star = min(ok) if ok else None
    margin = base[32] - lrn[n_star] if n_star else float("nan")
    return InitStepsResult(
        steps, base, lrn, 32, base[32], n_star, margin, margin_err, 1e-4, 1e-3, 0.0, 3.0, 1.0
    )


def test_decide_init_steps_all_sides():
    assert decide_init_steps(_init(0.1)).verdict == "holds"
    assert decide_init_steps(_init(0.9)).verdict == "fails"  # never reaches it
    assert decide_init_steps(_init(0.1, margin_err=1.0)).verdict == "inconclusive"


def _horizon(bounds_by_T, noise=0.01):
    Ts = [0.3, 0.5, 0.7, 1.0, 2.0]
    rng = np.random.default_rng(0)
    J = [list(b + noise * rng.standard_normal(5)) for b in bounds_by_T]
    return HorizonResult(Ts, [0.0] * 5, J, [[0.0] * 5] * 5, 5)


def test_decide_horizon_all_sides():
    assert decide_horizon(_horizon([2.0, 1.0, 0.8, 0.9, 1.2])).verdict == "holds"
    assert decide_horizon(_horizon([2.0, 1.5, 1.2, 1.0, 0.8])).verdict == "fails"
    flat = _horizon([2.0, 1.0, 0.8, 0.9, 0.8], noise=0.0)
    flat.J[-1] = [0.8 + v for v in (0.3, -0.25, 0.2, -0.2, 0.1)]  # mean above T*, CI across 0
    assert decide_horizon(flat).verdict == "inconclusive"


EXPECTED = {
    "learned.error-profile": "fails",
    "learned.error-peak": "holds",
    "learned.stochasticity-tradeoff": "fails",
    "learned.stochasticity-corrects": "holds",
    "learned.init-steps-saved": "holds",
    "learned.horizon-optimum": "holds",
}


@pytest.mark.slow
@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_learned_claims_at_quick_budget(claim, tmp_path):
    """Every learned claim's quick verdict (with the models of the shared cache)."""
    pytest.importorskip("torch")
    from verify.claims.base import RunContext, run_claim

    out = run_claim(claim, RunContext("quick", seed=0, figure_dir=tmp_path, stream=None))
    assert out["verdict"] == EXPECTED[claim.id], out["reason"] + out.get("error", "")
    assert all(f.endswith(".png") for f in out["figures"])
    assert out["figures"] or claim.id in ("learned.error-peak", "learned.stochasticity-corrects")
