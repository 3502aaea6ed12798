"""tightness.* claims: decide on both sides of every threshold (hand-made results), the
catalogued bounds against independent references, a deliberately wrong constant caught with a
certificate, one claim end to end, and the ``tighten`` command."""

from __future__ import annotations

import argparse
import json

import mpmath
import numpy as np
import pytest

from analytic import VP, Gaussian, kl
from analytic.lsi import mixture_lsi_bakry_emery, poincare_constant_1d
from verify.app import tighten_command
from verify.app.usage import UserError
from verify.claims.base import RunContext, run_claim
from verify.claims.registry import select
from verify.claims.tightness._common import TightnessResult, decide_bound
from verify.claims.tightness.table import TableResult, decide_table
from verify.tightness import search, vectorized
from verify.tightness.bounds import BOUNDS, get_bound, mixture_constant, prior_kl_vp, two_mixture


def _result(**kw):
    base = dict(
        key="lsi-rate",
        attained=True,
        verdict="holds",
        worst_ratio=1.0,
        setting={"x": 0.5},
        bound_value=2.0,
        truth_value=2.0,
        best_constant=1.0,
        theorem_constant=1.0,
        evaluations=100,
        skipped={},
        refuted=0,
        rtol=1e-10,
        trace=[[10, 1.2], [100, 1.0]],
        certificate=None,
        worst_check=None,
        influence={"x": 0.1},
    )
    base.update(kw)
    return TightnessResult(**base)


# ------------------------------------------------------------------ decide_bound
def test_decide_bound_holds_when_attained_and_no_counterexample():
    d = decide_bound(_result())
    assert d.verdict == "holds" and "no counterexample in 100 settings" in d.reason


def test_decide_bound_fails_on_a_certified_counterexample():
    cert = {"bound": "1.0", "truth": "2.0", "ratio": "0.5", "method": "mpmath, 50 digits",
            "confirmed": True}  # fmt: skip
    d = decide_bound(_result(verdict="fails", worst_ratio=0.5, certificate=cert))
    assert d.verdict == "fails" and "certified counterexample" in d.reason and "0.5" in d.reason


def test_decide_bound_attained_threshold_both_sides():
    assert decide_bound(_result(worst_ratio=1 + 5e-7)).verdict == "holds"
    d = decide_bound(_result(worst_ratio=1 + 2e-6))
    assert d.verdict == "fails" and "stated as attained" in d.reason
    # a bound not stated as attained may be loose
    assert decide_bound(_result(attained=False, worst_ratio=6.0)).verdict == "holds"
    # the truth's resolution widens the attainment tolerance
    assert decide_bound(_result(worst_ratio=1 + 1e-3, rtol=2e-3)).verdict == "holds"


def test_decide_bound_inconclusive_cases():
    assert decide_bound(_result(verdict="inconclusive", refuted=16)).verdict == "inconclusive"
    d = decide_bound(_result(skipped={"truth raised": 51}))
    assert d.verdict == "inconclusive" and "undefined" in d.reason
    assert decide_bound(_result(skipped={"truth raised": 50})).verdict == "holds"


def test_decide_bound_lsi_estimate_both_sides():
    ok = _result(key="mixture-lsi-ccnw", attained=False, rtol=2e-3,
                 extra={"ratio_to_lsi_estimate": 0.999})  # fmt: skip
    assert decide_bound(ok).verdict == "holds"
    bad = _result(key="mixture-lsi-ccnw", attained=False, rtol=2e-3,
                  extra={"ratio_to_lsi_estimate": 0.99})  # fmt: skip
    assert decide_bound(bad).verdict == "fails"


def _row(key, verdict, ratio=1.0, finding=False):
    return {"key": key, "verdict": verdict, "worst_ratio": ratio, "finding": finding}


def test_decide_table_all_sides():
    assert decide_table(TableResult([_row("a", "holds"), _row("b", "holds", 6)])).verdict == (
        "holds"
    )
    d = decide_table(TableResult([_row("a", "holds"), _row("b", "fails", 0.5)]))
    assert d.verdict == "fails" and "unexpected: b fails" in d.reason
    d = decide_table(TableResult([_row("a", "inconclusive"), _row("b", "holds")]))
    assert d.verdict == "inconclusive"
    # a refuted bound with a recorded finding is a result, not a failure of the table
    d = decide_table(TableResult([_row("a", "holds"), _row("b", "fails", 0.5, True)]))
    assert d.verdict == "holds" and "refuted with a recorded finding: b" in d.reason
    # a finding that no longer reproduces is
    d = decide_table(TableResult([_row("a", "holds"), _row("b", "holds", 1.2, True)]))
    assert d.verdict == "fails" and "no longer reproduces" in d.reason


def test_decide_bound_theory_twin_agreement_both_sides():
    ok = _result(key="ode-w2", extra={"theory_min_ratio_at_worst": 0.99997,
                                      "twin_min_ratio_at_worst": 1.0})  # fmt: skip
    assert decide_bound(ok).verdict == "holds"
    bad = _result(key="ode-w2", extra={"theory_min_ratio_at_worst": 0.95,
                                       "twin_min_ratio_at_worst": 1.0})  # fmt: skip
    d = decide_bound(bad)
    assert d.verdict == "fails" and "disagree" in d.reason


# ----------------------------------------------------- bounds against references
def test_bakry_emery_vp_truth_and_bound_against_analytic():
    sde = VP(0.2, 12.0, T=0.8)
    lam, m = np.array([2.5, 0.4]), np.array([0.7, -1.1])
    data = Gaussian(m, np.diag(lam))
    for t in (0.1, 0.5, 0.8):
        ref = kl(sde.marginal(data, t), Gaussian(np.zeros(2), 1.0))
        got = prior_kl_vp(lam[None], m[None], t, beta_min=0.2, beta_max=12.0)[0]
        assert got == pytest.approx(ref, rel=1e-12)
    b = get_bound("bakry-emery-vp")
    s = dict(lam1=2.5, lam2=0.4, mean=1.3, theta=0.6, beta_min=0.2, beta_max=12.0, T=0.8,
             s_frac=0.25)  # fmt: skip
    cols = {k: np.array([v]) for k, v in s.items()}
    with mpmath.workdps(40):
        assert float(b.truth_mp(**s)) == pytest.approx(b.truth(**cols)[0], rel=1e-12)
        assert float(b.bound_mp(**s)) == pytest.approx(b.bound(**cols)[0], rel=1e-12)
    # e^{-(B(T) - B(s))} with B the integrated beta, by quadrature
    from scipy import integrate

    contraction = np.exp(-integrate.quad(sde.g2, 0.2, 0.8)[0])
    ref_p = Gaussian(np.zeros(2), 1.0)
    m_vec = 1.3 * np.array([np.cos(0.6), np.sin(0.6)])
    d2 = Gaussian(m_vec, np.diag(lam))
    assert b.bound(**cols)[0] == pytest.approx(
        contraction * kl(sde.marginal(d2, 0.2), ref_p), rel=1e-12
    )


def test_lsi_rate_mp_twins_agree_with_the_vectorised_forms():
    b = get_bound("lsi-rate")
    rng = np.random.default_rng(11)
    for sde in ("OU", "VP", "VE"):
        s = {"sde": sde, "lam_max": 3.0, "aniso": 0.2, "T": 1.3, "t_frac": 0.3,
             "gamma": float(rng.uniform(0.1, 4)), "delta": 0.8, "theta": 0.4, "ratio": 2.5,
             "beta_max": 17.0, "sigma_max": 20.0}  # fmt: skip
        cols = {k: np.array([v], dtype=object if k == "sde" else float) for k, v in s.items()}
        with mpmath.workdps(40):
            assert float(b.truth_mp(**s)) == pytest.approx(b.truth(**cols)[0], rel=1e-12)
            assert float(b.bound_mp(**s)) == pytest.approx(b.bound(**cols)[0], rel=1e-12)


def test_mixture_constants_against_analytic_lsi():
    mix = two_mixture(0.3, 0.6, 1.5)
    assert np.allclose(mix.means[:, 0], [-0.9, 0.9]) and np.allclose(mix.weights, [0.3, 0.7])
    half = 0.6 * 1.5 + 15.0
    ref = poincare_constant_1d(mix.log_prob, (-half, half), 400)
    assert mixture_constant(0.3, 0.6, 1.5) == ref
    b = get_bound("mixture-lsi-bakry-emery")
    assert b.bound(w=0.3, rho=0.6, s=1.5) == mixture_lsi_bakry_emery(mix)
    assert b.bound(w=0.3, rho=0.6, s=1.5) == pytest.approx(1.5**2 / (1 - 0.36), rel=1e-12)
    # scale invariance C(a X) = a^2 C(X) of the grid constant (same grid in units of s)
    assert mixture_constant(0.3, 0.6, 3.0) == pytest.approx(4 * ref, rel=1e-10)


def test_a_wrong_constant_in_a_catalogued_bound_is_caught_with_a_certificate():
    # Bakry-Emery with the contraction squared (rate 2 instead of 1): false for a mean offset
    b = get_bound("bakry-emery-vp")

    @vectorized
    def wrong(**s):
        base = b.bound(**s)
        T, sf = np.asarray(s["T"]), np.asarray(s["s_frac"])
        b0, b1 = np.asarray(s["beta_min"]), np.asarray(s["beta_max"])
        dB = T * (b0 + 0.5 * (b1 - b0) * T) - sf * T * (b0 + 0.5 * (b1 - b0) * sf * T)
        return base * np.exp(-dB)

    res = search(wrong, b.truth, b.space, budget=128, rng=0, truth_mp=b.truth_mp, rtol=1e-10)
    assert res.verdict == "fails"
    assert res.certificate.confirmed and res.worst_ratio < 0.5


def test_every_catalogued_bound_has_a_claim():
    ids = {c.id for c in select(["tightness.*"])}
    assert ids == {f"tightness.{k}" for k in BOUNDS} | {"tightness.table"}


# ------------------------------------------------------------------ end to end
def test_bakry_emery_vp_claim_runs_and_holds(tmp_path):
    (claim,) = select(["tightness.bakry-emery-vp"])
    res = run_claim(claim, RunContext("quick", 0, figure_dir=tmp_path, stream=None))
    assert "error" not in res
    assert res["verdict"] == "holds"
    assert len(res["figures"]) == 1 and (tmp_path / res["figures"][0].split("/")[-1]).exists()
    worst = res["tables"]["Worst case found"]["rows"][0]
    assert 1.0 <= worst[0] <= 1.0 + 1e-6  # attained (asymptotically: the mean part dominates)
    check = res["tables"]["High-precision check at the worst setting"]["rows"][0]
    assert abs(float(check[2]) - worst[0]) <= 1e-14 and check[4] is False


# --------------------------------------------------------------------- tighten
def _tighten(argv):
    parser = argparse.ArgumentParser()
    tighten_command.add_arguments(parser)
    return tighten_command.handler(parser.parse_args(argv))


def test_tighten_prints_the_trace_and_the_worst_setting(capsys):
    assert _tighten(["bakry-emery-vp", "--budget", "64", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert "trace:" in out and "worst setting: lam1=" in out and "verdict: holds" in out
    assert "best constant:" in out and "high-precision check" in out
    assert _tighten(["tightness.bakry-emery-vp", "--budget", "64", "--seed", "1", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["evaluations"] == 64 and data["verdict"] == "holds"


def test_tighten_user_errors():
    with pytest.raises(UserError, match="known bounds"):
        _tighten(["no-such-bound"])
    with pytest.raises(SystemExit):
        _tighten(["lsi-rate", "--budget", "4"])
    with pytest.raises(SystemExit):
        _tighten(["lsi-rate", "--budget", "lots"])
