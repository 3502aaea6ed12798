"""``step-law`` (rung 2): each single step (or, for multistep methods, each chain prefix) of the
user's sampler applied to a known input law against the exact law of the stated method."""

from __future__ import annotations

import numpy as np

from analytic import Gaussian
from verify.kit.checks import precision as _prec
from verify.kit.checks.result import CheckResult
from verify.kit.probing import _gaps, _n_steps, _probe, _push, _safe_kl


def _shifted(p):
    """``p`` shifted by half a standard deviation, covariance times 1.3 (a wrong map cannot
    hide behind the fixed point of the exact flow)."""
    C = np.atleast_2d(p.cov)
    return Gaussian(p.mean + 0.5 * np.sqrt(np.diag(C)), 1.3 * C)


def _check_steps(ad, spec, knobs, n_steps, d, rng):
    if spec.step_law is None and spec.chain_law is None:
        na = "no reference implementation of this rule (verify.kit.references)"
        return CheckResult("step-law", "n/a", na), []
    if spec.multistep or getattr(ad, "chains", False):
        return _check_chains(ad, spec, knobs, n_steps, d, rng), []
    rows, worst, probes = [], 0.0, []
    for k, (t, s, seg) in enumerate(ad.steps(n_steps)):
        maps = _probe(ad, seg, d, rng)
        probes.append((t, s, maps))
        init = _shifted(ad.marginal(t))
        user = _push(maps, init)
        # a zero-length step (diffusers DDIM's last step without set_alpha_to_one) is the identity
        ref = spec.step_law(ad.sde, ad.data, init, t, s, knobs) if s < t else init
        mg, cg = _gaps(user, ref)
        worst = max(worst, mg, cg)
        rows.append([k, t, s, mg, cg, _safe_kl(user, ref)])
    tol, why = _prec.step_tol(ad, 2 if getattr(ad, "two_stage", False) else 1)
    ok = worst <= tol
    return CheckResult(
        "step-law",
        "holds" if ok else "fails",
        f"max relative moment gap to the exact one-step law = {worst:.1e} "
        f"({'<=' if ok else '>'} tolerance {why}) over {n_steps} steps",
        ["k", "t_k", "t_k+1", "mean gap", "cov gap", "KL(user step||exact step)"],
        rows,
        {"worst": worst, "tol": tol},
    ), probes


def _check_chains(ad, spec, knobs, n_steps, d, rng):
    """Multistep methods carry state: the laws after the first ``k`` steps of one chain,
    ``k = 1..n``, against the reference rule's (a single step is only its start-up step)."""
    rows, worst = [], 0.0
    nodes = ad.nodes(n_steps)
    init = _shifted(ad.marginal(nodes[0]))
    for k in range(1, n_steps + 1):
        maps = _probe(ad, ad.prefix(n_steps, k), d, rng, verify=k == n_steps)
        user = _push(maps, init)
        rk = ad.ref_knobs(n_steps) if hasattr(ad, "ref_knobs") else knobs
        ref = spec.chain_law(ad.data, init, ad.ref_nodes(n_steps, k), rk)
        mg, cg = _gaps(user, ref)
        worst = max(worst, mg, cg)
        rows.append([k, nodes[0], nodes[k], mg, cg, _safe_kl(user, ref)])
    calls = _n_steps(ad.prefix(n_steps, n_steps)) if hasattr(ad, "prefix") else n_steps
    tol, why = _prec.step_tol(ad, calls)
    ok = worst <= tol
    return CheckResult(
        "step-law",
        "holds" if ok else "fails",
        f"multistep: max relative moment gap of the chain after k = 1..{n_steps} steps to the "
        f"reference rule = {worst:.1e} ({'<=' if ok else '>'} tolerance {why})",
        ["k", "t_0", "t_k", "mean gap", "cov gap", "KL(user chain||reference chain)"],
        rows,
        {"worst": worst, "tol": tol},
    )
