"""The conformance.* claims: decide rules on hand-made results (both sides of each threshold),
and the own-samplers claim catches the two mutants a gamma = 1, f = 0 setting cannot see."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from analytic import VP
from verify.claims import conformance as _conformance
from verify.claims.base import Claim
from verify.claims.conformance import (
    _common,
    diffusers_karras_orders,
    k_diffusion_startup_orders,
    mutants_caught,
    torchsde,
)
from verify.kit import conformance as C
from verify.kit import references as R
from verify.solvers.methods import AffineSteps

CC = SimpleNamespace(
    **vars(_common),
    CLAIMS=_conformance.CLAIMS,
    KARRAS_ROWS=diffusers_karras_orders.KARRAS_ROWS,
    decide_karras_orders=diffusers_karras_orders.decide_karras_orders,
    decide_mutants=mutants_caught.decide_mutants,
    decide_startup_orders=k_diffusion_startup_orders.decide_startup_orders,
    decide_torchsde=torchsde.decide_torchsde,
)


# ------------------------------------------------------------------------ hand-made results
def _row(name, **checks):
    base = {k: ["holds", "ok"] for k in CC.KIT_CHECKS}
    base.update({k: [v, f"{k} {v}"] for k, v in checks.items()})
    return {
        "name": name,
        "package": "x",
        "method": "m",
        "knobs": "-",
        "checks": base,
        "slope": 1.0,
        "expected": 1,
        "gamma_eff": 0.0,
        "gamma_map": 0.0,
        "step_gap": 1e-15,
        "kl": [1e-2, 1e-3, 1e-4],
        "n": [],
        "err": [],
    }


def test_decide_rules_both_sides():
    ok = CC.TableResult("k-diffusion", [_row("a"), _row("b", gamma="n/a")], [1, 2])
    assert CC.decide_rules(ok).verdict == "holds"
    bad = CC.TableResult("k-diffusion", [_row("a"), _row("b", **{"step-law": "fails"})], [1, 2])
    d = CC.decide_rules(bad)
    assert d.verdict == "fails" and "b: step-law fails" in d.reason
    unsure = CC.TableResult("k-diffusion", [_row("a", **{"output-kl": "inconclusive"})], [1])
    assert CC.decide_rules(unsure).verdict == "inconclusive"


def test_decide_orders_both_sides_and_unstated_orders_are_skipped():
    free = _row("free", **{"weak-order": "fails"})
    free["expected"] = None
    ok = CC.TableResult("diffusers", [_row("a"), free], [1, 2])
    assert CC.decide_orders(ok).verdict == "holds"
    bad = CC.TableResult("diffusers", [_row("a"), _row("b", **{"weak-order": "fails"})], [1, 2])
    d = CC.decide_orders(bad)
    assert d.verdict == "fails" and d.key_number == "1/2 orders as stated"


def test_decide_torchsde_needs_rules_and_orders():
    ok = CC.TableResult("torchsde", [_row("euler")], [1])
    assert CC.decide_torchsde(ok).verdict == "holds"
    slow = CC.TableResult("torchsde", [_row("euler", **{"weak-order": "fails"})], [1])
    assert CC.decide_torchsde(slow).verdict == "fails"
    wrong = CC.TableResult("torchsde", [_row("euler", **{"step-law": "fails"})], [1])
    assert CC.decide_torchsde(wrong).verdict == "fails"
    unstable = _row("reversible_heun", **{"weak-order": "inconclusive"})
    d = CC.decide_torchsde(CC.TableResult("torchsde", [_row("euler"), unstable], [1, 2]))
    assert d.verdict == "inconclusive" and "reversible_heun" in d.reason  # undecided, not a fail


def _group(verdicts):
    rows = [
        {"name": f"s{i}", "verdict": v, "checks": {k: [v, ""] for k in CC.CHECKS}, "step_gap": 0.0}
        for i, v in enumerate(verdicts)
    ]
    return CC.GroupResult(rows, [0] * len(rows))


def test_decide_conforming_and_mutants_both_sides():
    assert CC.decide_conforming(_group(["holds", "holds"])).verdict == "holds"
    assert CC.decide_conforming(_group(["holds", "fails"])).verdict == "fails"
    assert CC.decide_conforming(_group(["holds", "inconclusive"])).verdict == "inconclusive"
    assert CC.decide_mutants(_group(["fails", "fails"])).verdict == "holds"
    d = CC.decide_mutants(_group(["fails", "holds"]))
    assert d.verdict == "fails" and "missed: s1" in d.reason


def test_real_package_claims_declare_their_requirements():
    claims = {c.id: c for c in CC.CLAIMS}
    from verify.claims.base import requirement_name

    kd = [requirement_name(r) for r in claims["conformance.k-diffusion"].requires]
    assert "k_diffusion.sampling" in kd
    assert "diffusers" in claims["conformance.diffusers"].requires
    assert "torchsde" in claims["conformance.torchsde"].requires
    assert all(isinstance(c, Claim) and c.doc.startswith(CC.DOC) for c in CC.CLAIMS)


# ------------------------------------------- mutants of our solvers that gamma = 1, f = 0 misses
def _mutated(kind):
    """A ``step_tables`` whose euler noise is ``gamma g`` (not ``sqrt(gamma) g``) or whose linear
    part is ``+ h f y`` (not ``- h f y``): the particle sampler only; the exact law keeps the
    records."""
    from verify.solvers import methods

    def tables(sde, grid, g, method, **options):
        st = methods.step_tables(sde, grid, g, method, **options)
        if method != "euler":
            return st
        t, s = grid[:-1], grid[1:]
        h = t - s
        g2 = np.asarray(sde.g2(t), dtype=np.float64) * np.ones_like(t)
        if kind == "noise gamma*g":
            return AffineSteps(st.A, st.B, g * np.sqrt(g2 * h))
        f = np.asarray(sde.f(t), dtype=np.float64) * np.ones_like(t)
        return AffineSteps(1.0 + h * f, st.B, st.C)

    return tables


@pytest.mark.parametrize("kind", ["noise gamma*g", "sign of -f y"])
def test_own_sampler_mutants_are_caught_only_off_the_old_setting(monkeypatch, kind):
    from verify.solvers import particles

    monkeypatch.setattr(particles, "step_tables", _mutated(kind))
    checks = ("step-law", "gamma")
    old = C.check_sampler(R.ours("euler", 1.0), "ours", "euler", checks=checks, gamma=1.0)
    assert old.verdict == "holds"  # the gamma = 1, EDM setting cannot see either mutant
    for name, (method, gamma, kind_sde) in CC.OWN.items():
        if method != "euler" or kind_sde != "VP":
            continue
        sde = VP(0.1, 20.0)
        rep = C.check_sampler(
            R.ours("euler", gamma, sde), "ours", "euler", sde=sde, checks=checks, gamma=gamma
        )
        assert rep.verdict == "fails", (name, rep.summary())
    assert any(k == ("euler", 0.5, "VP") for k in CC.OWN.values())


def test_local_order_and_startup_rule_both_sides():
    row = _row("m3")
    row.update(expected=3, n=[64, 128], err=[4e-4, 1e-4])  # local order 2
    assert abs(CC.local_order(row) - 2.0) < 1e-12
    assert CC.decide_startup_orders(CC.TableResult("k", [row], [1])).verdict == "holds"
    row["err"] = [2e-4, 1e-4]  # local order 1 < min(3, 2) - 0.3
    assert CC.decide_startup_orders(CC.TableResult("k", [row], [1])).verdict == "fails"
    row["err"] = [0.0, 1e-4]
    assert CC.decide_startup_orders(CC.TableResult("k", [row], [1])).verdict == "inconclusive"


def test_karras_orders_rule_both_sides():
    rows = [_row(n) for n in CC.KARRAS_ROWS]
    assert CC.decide_karras_orders(CC.TableResult("diffusers", rows, [1])).verdict == "holds"
    rows[1]["checks"]["weak-order"] = ["fails", "slope 0.5 vs 1"]
    assert CC.decide_karras_orders(CC.TableResult("diffusers", rows, [1])).verdict == "fails"
    none = CC.TableResult("diffusers", [_row("DDIM")], [1])
    assert CC.decide_karras_orders(none).verdict == "inconclusive"


def test_present_tables_have_one_row_per_sampler(tmp_path):
    from verify.claims.base import RunContext

    rows = [_row("a"), _row("b")]
    rows[1].update(n=[64, 128], err=[4e-4, 1e-4])
    r = CC.TableResult("k-diffusion", rows, [1, 2])
    ctx = RunContext("quick", 0, tmp_path, stream=None).for_claim("conformance.k-diffusion")
    shown = CC.present_order_table(r, ctx)
    (table,) = shown.tables.values()
    assert [row[0] for row in table.rows] == ["a", "b"] and table.rows[1][6] == "2.00"
    full = CC.present_table(r, ctx)
    assert len(full.figures) == 1 and len(next(iter(full.tables.values())).rows) == 2
