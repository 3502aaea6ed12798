"""Stated methods: each ``(convention, method)``'s weak order, knob -> gamma map and exact one-step
(or chain) law, from our families or the re-implementations in ``verify.kit.references``."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from analytic import EDM, Gaussian
from verify.kit import conventions as _conv
from verify.kit.adapters.sigma import _SigmaAdapter
from verify.kit.probing import _probe, _push
from verify.solvers.chain_laws import exact_law
from verify.solvers.methods import METHODS

__all__ = ["METHOD_SPECS", "MethodSpec"]


# ---------------------------------------------------------------------- method specs
@dataclass(frozen=True)
class MethodSpec:
    """A stated method: its weak order, knob -> gamma map and exact one-step law.

    ``order(knobs)``: expected weak order (``None`` unknown); ``gamma(knobs)``: a
    ``conventions.GammaMap`` or ``None`` (no map); ``step_law(sde, data, init, t, s, knobs)``:
    the exact law after one step from ``t`` to ``s`` of a chain started at ``init``.
    """

    order: object
    gamma: object
    step_law: object
    multistep: bool = False
    chain_law: object = None


def _reference_chain(name):
    """Exact law of the published rule ``verify.kit.references.<name>`` over ``nodes`` (EDM
    sigmas), started at ``init``: the reference is affine for a Gaussian target, so it is
    probed exactly like a user's sampler."""

    def law(data, init, nodes, knobs):
        from verify.kit import references as R

        ad = _SigmaAdapter(getattr(R, name), "k-diffusion", data, dict(knobs), backend="numpy")
        grid = np.asarray(nodes, dtype=np.float64)
        return _push(_probe(ad, grid, data.dim, _REF_RNG(), verify=False), init)

    return law


def _REF_RNG():
    return np.random.default_rng(20260)


def _reference_step(name):
    chain = _reference_chain(name)

    def law(sde, data, init, t, s, knobs):
        return chain(data, init, [t, s], knobs)

    return law


def _ref_spec(name, order, gamma, multistep=False):
    """A published rule checked against its re-implementation ``references.<name>``."""
    if multistep:
        return MethodSpec(order, gamma, None, True, _reference_chain(name))
    return MethodSpec(order, gamma, _reference_step(name), False, _reference_chain(name))


def _family_law(method, gamma):
    def law(sde, data, init, t, s, knobs):
        g = gamma(knobs) if callable(gamma) else gamma
        return exact_law(sde, data, init, [t, s], gamma=g, method=method)

    return law


def _affine_rule_law(coeffs):
    """Law of ``x' = a x + c D(x, t) + q z`` for a Gaussian ``init`` (EDM sigma ``t``)."""

    def law(sde, data, init, t, s, knobs):
        a, c, q = coeffs(t, s, knobs)
        d = data.dim
        S = np.atleast_2d(data.cov)
        W = np.linalg.solve(S + t * t * np.eye(d), S).T  # Sigma (Sigma + t^2)^{-1}
        M = a * np.eye(d) + c * W
        u = c * (data.mean - W @ data.mean)
        return _push((M, u, q * q * np.eye(d)), init)

    return law


def _dpmpp_coeffs(t, s, knobs):
    eta = float(knobs.get("eta", 1.0))
    if s == 0:
        return 0.0, 1.0, 0.0
    h = math.log(t) - math.log(s)
    return (
        (s / t) * math.exp(-eta * h),
        -math.expm1(-(1 + eta) * h),
        s * math.sqrt(-math.expm1(-2 * eta * h)) * float(knobs.get("s_noise", 1.0)),
    )


def _edm_heun_law(sde, data, init, t, s, knobs):
    gam = min(float(knobs.get("s_churn", 0.0)) / 1.0, math.sqrt(2.0) - 1.0)
    if not (knobs.get("s_tmin", 0.0) <= t <= knobs.get("s_tmax", math.inf)):
        gam = 0.0
    t_hat = t * (1.0 + gam)
    C = np.atleast_2d(init.cov) + (t_hat**2 - t**2) * float(
        knobs.get("s_noise", 1.0)
    ) ** 2 * np.eye(init.dim)
    big = EDM(max(float(sde.T), t_hat) * 1.01)
    return exact_law(big, data, Gaussian(init.mean, C), [t_hat, s], gamma=0.0, method="heun")


def _eta2(knobs):
    return float(knobs.get("eta", 1.0)) ** 2


def _edm_gamma(knobs):
    if float(knobs.get("s_churn", 0.0)) == 0.0:
        return _conv.GammaMap(0.0, "heun", True, "EDM Alg. 1 (no churn): gamma = 0")
    return None


def _no_churn(knobs):
    return float(knobs.get("s_churn", 0.0)) == 0.0


def _order_if_eta0(order):
    return lambda k: order if float(k.get("eta", 1.0)) == 0.0 else None


def _deterministic(knobs):
    return _conv.GammaMap(0.0, "euler", True, "deterministic (an ODE solver): gamma = 0")


def _deterministic_or_none(knobs):
    return _deterministic(knobs) if _no_churn(knobs) else None


def _ancestral_noise(knobs):
    """Ancestral split (``get_ancestral_step``): its noise is our ancestral noise, gamma = eta^2."""
    return _conv.kdiffusion_ancestral_eta_to_gamma(knobs.get("eta", 1.0))


# Orders: Euler, Euler ancestral and DDIM are first order; EDM Heun without churn second order
# (Karras et al. 2022 §3); DPM-Solver++(2M) is second order for eta = 0 (Lu et al. 2022 §4). For
# DPM++ 2M SDE with eta > 0 and for EDM churn > 0 no weak order is published: the kit then only
# requires convergence (slope > 0.5) and reports the measured slope.
METHOD_SPECS = {
    ("k-diffusion", "euler_ancestral"): MethodSpec(
        1,
        lambda k: _conv.kdiffusion_ancestral_eta_to_gamma(k.get("eta", 1.0)),
        _family_law("ancestral", _eta2),
    ),
    ("k-diffusion", "dpmpp_2m_sde"): MethodSpec(
        lambda k: 2 if float(k.get("eta", 1.0)) == 0.0 else None,
        lambda k: _conv.dpmpp_sde_eta_to_gamma(k.get("eta", 1.0), "2m"),
        _affine_rule_law(_dpmpp_coeffs),
    ),
    ("k-diffusion", "edm_heun"): MethodSpec(
        lambda k: 2 if float(k.get("s_churn", 0.0)) == 0.0 else None, _edm_gamma, _edm_heun_law
    ),
    ("diffusers", "ddim"): MethodSpec(
        1, lambda k: _conv.ddim_eta_to_gamma(k.get("eta", 0.0)), _family_law("ancestral", _eta2)
    ),
}
METHOD_SPECS[("k-diffusion", "heun")] = METHOD_SPECS[("k-diffusion", "edm_heun")]

METHOD_SPECS.update(
    {
        ("k-diffusion", "euler"): MethodSpec(
            lambda k: METHODS["euler"].weak_order if _no_churn(k) else None,
            lambda k: (
                _conv.GammaMap(0.0, "euler", True, "probability-flow Euler")
                if _no_churn(k)
                else None
            ),
            lambda sde, data, init, t, s, k: (
                exact_law(sde, data, init, [t, s], gamma=0.0, method="euler")
                if _no_churn(k)
                else _reference_step("sample_euler")(sde, data, init, t, s, k)
            ),
        ),
        ("k-diffusion", "dpm_2"): _ref_spec(
            "sample_dpm_2", lambda k: 2 if _no_churn(k) else None, _deterministic_or_none
        ),
        ("k-diffusion", "dpm_2_ancestral"): _ref_spec(
            "sample_dpm_2_ancestral", _order_if_eta0(2), _ancestral_noise
        ),
        ("k-diffusion", "lms"): _ref_spec("sample_lms", 4, _deterministic, multistep=True),
        ("k-diffusion", "dpmpp_2s_ancestral"): _ref_spec(
            "sample_dpmpp_2s_ancestral", _order_if_eta0(2), _ancestral_noise
        ),
        ("k-diffusion", "dpmpp_sde"): _ref_spec(
            "sample_dpmpp_sde",
            _order_if_eta0(2),
            lambda k: _conv.dpmpp_sde_eta_to_gamma(k.get("eta", 1.0), "sde"),
        ),
        ("k-diffusion", "dpmpp_2m"): _ref_spec(
            "sample_dpmpp_2m", 2, _deterministic, multistep=True
        ),
        ("k-diffusion", "dpmpp_2m_sde"): _ref_spec(
            "sample_dpmpp_2m_sde",
            _order_if_eta0(2),
            lambda k: _conv.dpmpp_sde_eta_to_gamma(k.get("eta", 1.0), "2m"),
            multistep=True,
        ),
        ("k-diffusion", "dpmpp_3m_sde"): _ref_spec(
            "sample_dpmpp_3m_sde",
            _order_if_eta0(3),
            lambda k: _conv.dpmpp_sde_eta_to_gamma(k.get("eta", 1.0), "2m"),
            multistep=True,
        ),
        ("k-diffusion", "dpm_fast"): _ref_spec("sample_dpm_fast", 3, _deterministic),
    }
)
_DIFFUSERS_AS_KDIFFUSION = {
    "euler": "sample_euler",
    "euler_ancestral": "sample_euler_ancestral",
    "heun": "sample_heun",
    "lms": "sample_lms",
    "dpm_2": "sample_dpm_2",
    "dpm_2_ancestral": "sample_dpm_2_ancestral",
    "dpmpp_2m": "sample_dpmpp_2m",
    "dpmpp_2m_sde": "sample_dpmpp_2m_sde",
    "dpmpp_sde": "sample_dpmpp_sde",
}
"""diffusers schedulers that implement a k-diffusion rule: the same spec, and the k-diffusion
re-implementation's chain on the scheduler's own noise levels as the reference."""
for _m, _ref in _DIFFUSERS_AS_KDIFFUSION.items():
    _k = METHOD_SPECS[("k-diffusion", _m)]
    METHOD_SPECS[("diffusers", _m)] = MethodSpec(
        _k.order, _k.gamma, _k.step_law, _k.multistep, _reference_chain(_ref)
    )
METHOD_SPECS[("diffusers", "ddpm")] = MethodSpec(
    METHODS["ancestral"].weak_order,
    lambda k: _conv.GammaMap(1.0, "ancestral", True, "DDPM posterior (beta-tilde): gamma = 1"),
    _family_law("ancestral", 1.0),
)
METHOD_SPECS[("diffusers", "ddim")] = MethodSpec(
    METHODS["ancestral"].weak_order,
    lambda k: _conv.ddim_eta_to_gamma(k.get("eta", 0.0)),
    _family_law("ancestral", lambda k: float(k.get("eta", 0.0)) ** 2),
)
for _m in ("pndm", "dpmsolver_multistep", "dpmsolver_singlestep", "unipc", "deis"):
    METHOD_SPECS[("diffusers", _m)] = MethodSpec(None, _deterministic, None, True, None)
"""(convention, method) -> MethodSpec. In the ``"ours"`` convention the method is one of
``verify.solvers.particles.METHODS`` with knob ``gamma`` (the map is the identity, exact)."""


def _spec(convention, method):
    if convention == "ours":
        if method not in METHODS:
            raise ValueError(f"method {method!r} is not one of ours: {sorted(METHODS)}")
        return MethodSpec(
            METHODS[method].weak_order,
            lambda k: _conv.GammaMap(float(k.get("gamma", 1.0)), method, True, "our gamma"),
            _family_law(method, lambda k: float(k.get("gamma", 1.0))),
        )
    return METHOD_SPECS.get((convention, method))
