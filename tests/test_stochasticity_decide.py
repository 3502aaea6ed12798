"""The ``decide`` rules of the ``stochasticity.*`` claims on hand-made results: both sides of
every threshold (the claims are not run here)."""

import dataclasses

import pytest

from verify.claims.stochasticity import (
    DecayResult,
    DiscretizationResult,
    ErrorStructureResult,
    MixtureStructureResult,
    SimpleDatasetsResult,
    YoungResult,
    decide_decay,
    decide_discretization,
    decide_simple,
    decide_structure,
    decide_structure_mixtures,
    decide_young,
)
from verify.theory.kl_dynamics import FPDecay, GaussianDecay, ParticlesVsFP, YoungBound


def _gauss(setting="1d-prior", gamma=1.0, **kw):
    base = dict(
        setting=setting,
        gamma=gamma,
        tau=[0.0, 1.0],
        H=[0.5, 0.2],
        bound=[0.5, 0.21],
        rate=[-0.3, -0.1],
        rhs=[-0.3, -0.1],
        err_id=1e-14,
        err_fd=1e-8,
        const_dev=0.0,
        max_rate=-0.3,
        min_fisher=0.1,
        min_ratio=1.0,
        max_ratio=1.05,
    )
    base.update(kw)
    return GaussianDecay(**base)


def _fp(gamma=1.0, **kw):
    base = dict(
        setting="gmm-1d",
        gamma=gamma,
        tau=[0.0, 1.0],
        H=[0.5, 0.3],
        eH=[1e-4, 1e-4],
        max_resid=1e-4,
        max_excess=-1e-4,
        max_tol=2e-4,
        max_increase_excess=-1e-3 if gamma > 0 else float("nan"),
        const_dev=1e-5,
        const_tol=2e-4,
    )
    base.update(kw)
    return FPDecay(**base)


def _decay(**changes):
    gauss = [
        _gauss(gamma=0.0, H=[0.5, 0.5], max_rate=0.0, err_id=0.0),
        _gauss(),
        _gauss("1d-mean-offset", max_ratio=1.0),
    ]
    fp = [_fp(0.0), _fp(1.0)]
    r = DecayResult(gauss, fp)
    for name, (i, kw) in changes.items():
        lst = getattr(r, name)
        lst[i] = dataclasses.replace(lst[i], **kw)
    return r


def test_decide_decay_holds_and_fails_on_each_condition():
    assert decide_decay(_decay()).verdict == "holds"
    fails = [
        {"gauss": (1, {"err_id": 2e-8})},  # identity off (moments)
        {"gauss": (1, {"err_fd": 2e-5})},  # identity off (FD)
        {"gauss": (1, {"max_rate": 1e-9})},  # KL increases somewhere
        {"gauss": (1, {"min_ratio": 1 - 1e-6})},  # LSI bound violated
        {"gauss": (2, {"max_ratio": 1 + 1e-6})},  # not tight for a mean offset
        {"gauss": (0, {"const_dev": 1e-8})},  # ODE changes KL
        {"fp": (1, {"max_excess": 1e-5})},  # FP identity residual above tolerance
        {"fp": (1, {"max_increase_excess": 1e-5})},  # FP KL increases
        {"fp": (0, {"const_dev": 3e-4})},  # ODE changes the FP KL
    ]
    for change in fails:
        assert decide_decay(_decay(**change)).verdict == "fails", change
    # just inside the tolerances
    assert decide_decay(_decay(gauss=(1, {"err_id": 0.9e-8}))).verdict == "holds"
    assert decide_decay(_decay(gauss=(2, {"max_ratio": 1 + 1e-10}))).verdict == "holds"


def test_decide_structure_both_sides():
    gammas = [0.0, 0.5, 1.0]
    rows = [["offset", 0.0, 0.3], ["offset", 0.5, 0.35], ["offset", 1.0, 0.4]]
    rows += [["scale", 0.0, 0.1], ["scale", 0.5, 0.05], ["scale", 1.0, 0.03]]
    assert decide_structure(ErrorStructureResult(rows, gammas)).verdict == "holds"
    corrected = [r if r[0] != "offset" or r[1] != 1.0 else ["offset", 1.0, 0.29] for r in rows]
    assert decide_structure(ErrorStructureResult(corrected, gammas)).verdict == "fails"
    bump = [r if r[0] != "scale" or r[1] != 1.0 else ["scale", 1.0, 0.06] for r in rows]
    assert decide_structure(ErrorStructureResult(bump, gammas)).verdict == "fails"


def test_decide_structure_mixtures_both_sides():
    def rows(off1, sc):
        out = []
        for s in ("gmm-1d", "gmm-2d"):
            out += [[s, "offset", 0.0, 0.30, 0.01], [s, "offset", 1.0, off1, 0.01]]
            out += [[s, "scale", g, v, 0.01] for g, v in zip((0.0, 1.0), sc, strict=True)]
        return out

    assert decide_structure_mixtures(MixtureStructureResult(rows(0.40, (0.3, 0.1)))).verdict == (
        "holds"
    )
    # offset corrected (or amplified by less than the grid errors)
    assert decide_structure_mixtures(MixtureStructureResult(rows(0.31, (0.3, 0.1)))).verdict == (
        "fails"
    )
    # scale error not corrected beyond the grid errors
    assert decide_structure_mixtures(MixtureStructureResult(rows(0.40, (0.3, 0.29)))).verdict == (
        "fails"
    )


def _young(min_ratio):
    rec = YoungBound("1d-prior", "offset", 1.0, 0.5, 0.3, 0.33, 1.1, min_ratio, [0], [0], [0])
    return YoungResult([rec], [("1d-prior", "offset")], [1.0], 401)


def test_decide_young_both_sides():
    assert decide_young(_young(1.0001)).verdict == "holds"
    assert decide_young(_young(1 - 0.5e-4)).verdict == "holds"  # inside quadrature tolerance
    assert decide_young(_young(1 - 2e-4)).verdict == "fails"


def _disc(euler_kls, cont):
    gammas = [0.0, 1.0, 2.0, 3.0]
    rows = [["euler", 5, euler_kls[0]], ["euler", 50, euler_kls[1]]]
    return DiscretizationResult(["euler"], [5, 50], gammas, rows, cont)


def test_decide_discretization_both_sides():
    good = _disc([[0.5, 0.3, 0.4, 0.6], [0.5, 0.3, 0.2, 0.25]], [0.5, 0.3, 0.2, 0.1])
    assert decide_discretization(good).verdict == "holds"
    ode_best = _disc([[0.2, 0.3, 0.4, 0.6], [0.5, 0.3, 0.2, 0.25]], [0.5, 0.3, 0.2, 0.1])
    assert decide_discretization(ode_best).verdict == "fails"
    decreasing_star = _disc([[0.5, 0.4, 0.3, 0.6], [0.5, 0.3, 0.4, 0.45]], [0.5, 0.3, 0.2, 0.1])
    assert decide_discretization(decreasing_star).verdict == "fails"
    at_edge = _disc([[0.5, 0.4, 0.3, 0.2], [0.5, 0.3, 0.2, 0.1]], [0.5, 0.3, 0.2, 0.1])
    assert decide_discretization(at_edge).verdict == "fails"
    cont_up = _disc([[0.5, 0.3, 0.4, 0.6], [0.5, 0.3, 0.2, 0.25]], [0.5, 0.3, 0.2, 0.25])
    assert decide_discretization(cont_up).verdict == "fails"


def _pvf(gamma, fp, fp_kl):
    return ParticlesVsFP(
        gamma=gamma,
        tau=[0.0, 0.5, 1.0],
        fp=fp,
        fp_err=[0.001] * 3,
        fp_kl=fp_kl,
        mc=[1.0, 1.0, 1.0],
        lo=[0.98, 0.98, 0.98],
        hi=[1.02, 1.02, 1.02],
        z=3.0,
        final=[[0.0, 0.0]],
    )


@pytest.mark.parametrize(
    "fp, fp_kl, verdict",
    [
        ([1.0, 1.01, 0.99], [0.3, 0.2, 0.1], "holds"),
        ([1.0, 1.0205, 0.99], [0.3, 0.2, 0.1], "holds"),  # inside CI widened by the grid error
        ([1.0, 1.03, 0.99], [0.3, 0.2, 0.1], "fails"),  # FP outside the particle CI
        ([1.0, 1.01, 0.99], [0.3, 0.2, 0.2], "fails"),  # KL not strictly decreasing
    ],
)
def test_decide_simple_both_sides(fp, fp_kl, verdict):
    r = SimpleDatasetsResult([_pvf(0.0, [1.0] * 3, [0.3] * 3), _pvf(1.0, fp, fp_kl)], 6)
    assert decide_simple(r).verdict == verdict
