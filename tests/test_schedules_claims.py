"""schedules.* claims: each decide rule on hand-made results, with a planted bug that flips
it (a wrong optimum, a gamma* that falls with N, a KL that rises), and the skip without
scikit-learn."""

from __future__ import annotations

import copy

import pytest

from verify.claims import registry
from verify.claims import schedules as sc
from verify.claims.base import RunContext, install_hint, run_claim


def _gap(ratio_karras, opt=1.0):
    r = sc.GapResult("euler")
    for data in sc.DATA:
        for n in sc.STEPS:
            kls = {"karras": ratio_karras * 1.0, "log-snr": 2.0, "uniform-t": 30.0}
            r.rows.append({"data": data, "n": n, "opt": opt, "kl": kls})
    return r


def test_gap_decide_both_sides_and_a_wrong_optimum():
    assert sc.decide_gap(_gap(3.5)).verdict == "fails"
    assert sc.decide_gap(_gap(1.8)).verdict == "holds"
    # a broken optimiser that returns its start: the optimum is above a standard grid
    assert sc.decide_gap(_gap(3.5, opt=3.5)).verdict == "inconclusive"
    # one that stops short: the gap shrinks below the threshold, the verdict flips
    assert sc.decide_gap(_gap(3.5, opt=1.9)).verdict == "holds"


def test_verified_decide_catches_a_wrong_optimum():
    r = sc.VerifiedResult(
        rows=[["euler", "digits", 5, 1.0, 1.0 + 1e-9, 3.0]], brute=[["euler", 0.5, 0.5]]
    )
    assert sc.decide_verified(r).verdict == "holds"
    bad = copy.deepcopy(r)
    bad.rows[0][3] = 1.01  # the optimiser reports a KL its grid does not have
    assert sc.decide_verified(bad).verdict == "fails"
    bad = copy.deepcopy(r)
    bad.brute[0][1] = 0.6  # the descent misses the lattice optimum by 20 %
    assert sc.decide_verified(bad).verdict == "fails"
    bad = copy.deepcopy(r)
    bad.rows[0][5] = 0.9  # a standard grid beats the "optimum"
    assert sc.decide_verified(bad).verdict == "fails"


def _ays(factor):
    r = sc.AysResult(14.615)
    for key in sc.GAP_SAMPLERS:
        row = {"sampler": key, "opt": 1.0, "karras": 2.0}
        for name in sc.AYS_MODELS:
            row[name], row[name + " trailing"] = factor, 0.9
        r.rows.append(row)
    return r


def test_ays_decide_both_sides():
    assert sc.decide_ays(_ays(15.0)).verdict == "fails"
    assert sc.decide_ays(_ays(1.5)).verdict == "holds"
    assert sc.decide_ays(_ays(0.5)).verdict == "inconclusive"  # optimum above AYS


def _gamma(seq, eta=0.0):
    r = sc.GammaResult()
    for name in sc.DATA:
        for n, g in zip(sc.GAMMA_STEPS, seq, strict=True):
            r.rows.append([name, n, g, 0.1, 1.0, eta, 1.0, 20.0])
    return r


def test_gamma_decide_fails_when_gamma_star_falls_or_sits_on_a_bound():
    assert sc.decide_gamma(_gamma([0.01, 0.04, 0.07, 0.09])).verdict == "holds"
    assert sc.decide_gamma(_gamma([0.01, 0.04, 0.03, 0.09])).verdict == "fails"
    assert sc.decide_gamma(_gamma([0.0, 0.04, 0.07, 0.09])).verdict == "fails"
    assert sc.decide_gamma(_gamma([0.01, 0.04, 0.07, 20.0])).verdict == "fails"
    assert sc.decide_gamma(_gamma([0.01, 0.04, 0.07, 0.09], eta=0.3)).verdict == "fails"


def _table(kls, trailing=0.7):
    rows = [
        {
            "data": "digits",
            "sampler": "euler",
            "n_steps": n,
            "kl": k,
            "w2": 1.0,
            "kl_leading": 0.05,
            "kl_trailing": trailing,
        }
        for n, k in zip((5, 10, 20, 50), kls, strict=True)
    ]
    return sc.SamplerTableResult(rows)


def test_sampler_table_decide():
    assert sc.decide_table(_table([10.0, 3.0, 1.0, 0.2])).verdict == "holds"
    assert sc.decide_table(_table([10.0, 3.0, 4.0, 0.2])).verdict == "fails"
    assert sc.decide_table(_table([10.0, 3.0, 1.0, 0.2], trailing=0.4)).verdict == "fails"


def test_claims_need_scikit_learn_and_say_how_to_install_it(monkeypatch):
    claims = registry.select(["schedules.*"])
    assert len(claims) == 8
    assert all("sklearn" in c.requires and c.title for c in claims)
    assert install_hint("sklearn") == 'pip install -e ".[data]"'
    import verify.claims.base as base

    real = base._requirement_problem
    monkeypatch.setattr(
        base, "_requirement_problem", lambda r: "not installed" if r == "sklearn" else real(r)
    )
    out = run_claim(claims[0], RunContext(stream=None))
    assert out["verdict"] == "skipped" and '".[data]"' in out["reason"]


@pytest.mark.slow
def test_schedules_claims_verdicts_at_quick_budget(tmp_path):
    pytest.importorskip("sklearn")
    ctx = RunContext(figure_dir=tmp_path, stream=None)
    for claim in registry.select(["schedules.*"]):
        out = run_claim(claim, ctx)
        assert out["verdict"] == claim.expected, (claim.id, out["reason"])
