"""``gamma`` (rung 2): the stochasticity applied, ``gamma_eff = tr Q_user / (d Q_ref(1))``, against
``verify.kit.conventions``' map of the knob (exact per step, or Richardson-extrapolated)."""

from __future__ import annotations

import math

import numpy as np

from verify.kit.checks import precision as _prec
from verify.kit.checks.result import CheckResult
from verify.kit.probing import _probe
from verify.solvers.particles import step_coefficients

__all__ = ["GAMMA_EXACT_TOL", "GAMMA_SMALL_STEP_TOL", "gamma"]


GAMMA_EXACT_TOL = 1e-6
GAMMA_SMALL_STEP_TOL = 0.02


def _ref_noise(sde, t, s, method):
    if method in ("euler", "exponential", "ancestral"):
        return float(step_coefficients(sde, [t, s], 1.0, method)[2][0] ** 2)
    if method == "ddpm":
        return float(step_coefficients(sde, [t, s], 1.0, "ddpm")[2][0] ** 2)
    return float(sde.exponential_integrals(s, t)[1])  # exponential I2


GAMMA_ROUNDOFF_ULPS = 10.0
"""The gamma tolerance's round-off factor (measured: the reference sampler's gap is 0.1..0.7
``eps |m| / sqrt(Q_ref)`` at data means 1e5..1e8)."""
GAMMA_MEASURABLE = 0.05
"""A step whose round-off tolerance exceeds this (the data mean's round-off is above 5% of the
step's noise std) cannot be judged: it is skipped and named."""


def _gamma_roundoff_tol(ad, s, ref, eps, base_tol, why):
    r"""``(tolerance, why)`` of one step's gamma gap: ``max(base, 10 eps64 |m|_inf / sqrt(Q_ref))``.

    The probed outputs sit near the data mean ``m`` (times ``alpha(s)`` in our convention) and
    carry its round-off ``eps |m|`` each; the noise columns ``L_c`` are differences of outputs,
    so ``tr Q`` carries a relative error of about ``2 eps |m| / sqrt(Q_ref)``: the mean-to-scale
    ratio, on the scale of the step's own noise std ``sqrt(Q_ref)`` (at the last steps about
    the grid's ``sigma_min``, itself ``0.02`` of the data's smallest std).
    """
    m = float(np.max(np.abs(np.asarray(ad.data.mean, dtype=np.float64))))
    if getattr(ad, "convention", None) == "ours":
        m *= float(ad.sde.alpha(float(s)))
    tol = GAMMA_ROUNDOFF_ULPS * eps * m / math.sqrt(ref) if ref > 0 else 0.0
    if tol <= base_tol:
        return base_tol, why
    return tol, (
        f"{tol:.2g} (round-off of the data mean: {GAMMA_ROUNDOFF_ULPS:g} eps64 |m| / sqrt(Q_ref) "
        f"with |m| = {m:.3g}, the step's noise std sqrt(Q_ref) = {math.sqrt(ref):.2g})"
    )


def _check_chain_gamma(ad, gm, d, rng):
    """Two-stage schedulers (a step is two calls): only ``gamma = 0`` is checkable, as a
    noise-free whole chain."""
    cols = ["chain", "tr Q / d", "gamma (mapped)"]
    nodes = ad.nodes(5)
    if any(gm(t) != 0.0 for t in nodes[:-1]):
        return CheckResult("gamma", "n/a", "two-stage scheduler: per-step noise not separable")
    _, _, Q = _probe(ad, ad.full(5)[1], d, rng)
    q = float(np.trace(Q)) / d
    ok = q <= 1e-12
    return CheckResult(
        "gamma",
        "holds" if ok else "fails",
        f"deterministic map ({gm.note}): injected noise variance of a 5-step chain = {q:.1e}",
        cols,
        [[5, q, 0.0]],
        {"worst": q},
    )


def _check_gamma(ad, spec, knobs, probes, d, rng):
    gm = spec.gamma(knobs) if spec.gamma is not None else None
    cols = ["t_k", "t_k+1", "gamma_eff", "gamma (mapped)", "|diff|"]
    if gm is None:
        return CheckResult(
            "gamma", "n/a", "no map of this knob onto gamma (see verify.kit.conventions)", cols, []
        )
    if gm.exact is not None:
        refm = "euler" if gm.exact == "heun" else gm.exact
        if not probes and getattr(ad, "two_stage", False):
            return _check_chain_gamma(ad, gm, d, rng)
        if not probes:  # multistep: single calls are the method's first step
            probes = [(t, s, _probe(ad, seg, d, rng)) for t, s, seg in ad.steps(5)]
        rows, worst, worst_ratio, tol = [], 0.0, 0.0, 0.0
        base_tol, why = _prec.step_tol(ad)
        eps = float(np.finfo(np.float64).eps)  # the probes' (a float32 sampler: the rerun)
        swamped, why_worst = [], why
        for t, s, (_, _, Q) in probes:
            if not _prec.step_length_counts(ad, t, s):
                continue  # a step of negligible length (DDIM's last, 1 ulp) carries no noise
            ref = _ref_noise(ad.sde, t, s, refm)
            q = float(np.trace(Q)) / d
            if ref <= 0.0:  # a noise-free reference step (e.g. the ancestral step to sigma = 0)
                if q <= 1e-12 * max(1.0, float(np.trace(np.atleast_2d(ad.data.cov)))):
                    continue
                ge = math.inf
            else:
                ge = q / ref
            g0 = gm(t)
            step_tol, step_why = _gamma_roundoff_tol(ad, s, ref, eps, base_tol, why)
            if step_tol > GAMMA_MEASURABLE:
                swamped.append(s)  # round-off of the data mean swamps this step's noise
                continue
            gap = abs(ge - g0) / max(1.0, g0)
            if gap / step_tol >= worst_ratio:  # the step nearest its own tolerance
                worst_ratio, worst, tol, why_worst = gap / step_tol, gap, step_tol, step_why
            rows.append([t, s, ge, g0, abs(ge - g0)])
        ok = worst_ratio <= 1.0
        skipped = (
            f"; {len(swamped)} step(s) to sigma = {', '.join(f'{v:.1e}' for v in swamped)} not "
            f"judged: the round-off of the data mean exceeds {GAMMA_MEASURABLE:g} of their noise"
            if swamped
            else ""
        )
        if not rows and swamped:
            return CheckResult(
                "gamma",
                "inconclusive",
                f"exact map ({gm.note}): no step measurable{skipped}",
                cols,
                rows,
                {"worst": math.nan, "tol": math.nan},
            )
        return CheckResult(
            "gamma",
            "holds" if ok else "fails",
            f"exact map ({gm.note}; method {gm.exact}): max |gamma_eff - gamma| / max(1, gamma) "
            f"= {worst:.1e} ({'<=' if ok else '>'} tolerance {why_worst}){skipped}"
            if tol <= base_tol
            else f"exact map ({gm.note}; method {gm.exact}): |gamma_eff - gamma| / max(1, gamma) "
            f"= {worst:.1e} at the step nearest its tolerance ({'<=' if ok else '>'} tolerance "
            f"{why_worst}){skipped}",
            cols,
            rows,
            {"worst": worst, "tol": tol or base_tol},
        )
    if ad.single is None:
        return CheckResult(
            "gamma", "n/a", "small-step map but the convention fixes the grid", cols, []
        )
    rows, worst = [], 0.0
    for sig in (0.5, 2.0, 8.0):
        t = ad.t_of_sigma(sig)
        ge = []
        for delta in (0.02, 0.01):
            s = ad.t_of_sigma(sig * (1 - delta))
            _, _, Q = _probe(ad, ad.single(t, s), d, rng)
            ge.append(float(np.trace(Q)) / (d * _ref_noise(ad.sde, t, s, "exponential")))
        g_extr = 2 * ge[1] - ge[0]
        g0 = gm(t)
        worst = max(worst, abs(g_extr - g0) / max(1.0, g0))
        rows.append([t, "delta 2%, 1% -> 0", g_extr, g0, abs(g_extr - g0)])
    ok = worst <= GAMMA_SMALL_STEP_TOL
    return CheckResult(
        "gamma",
        "holds" if ok else "fails",
        f"small-step map ({gm.note}): Richardson gamma_eff at h -> 0 differs by "
        f"{worst:.2e} ({'<=' if ok else '>'} {GAMMA_SMALL_STEP_TOL} max(1, gamma))",
        cols,
        rows,
        {"worst": worst},
    )


gamma = _prec.rerun_in_float64(lambda *a: _check_gamma(*a), reprobe=2)
