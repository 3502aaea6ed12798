r"""Conformance kit: is a user's sampler the sampler it claims to be?

The mathematics and the decision rules are in docs/claims/conformance.md. A user's sampler is
wrapped in one of three conventions and fed the **exact** denoiser / score of a Gaussian (or
Gaussian-mixture) target:

* ``"k-diffusion"``: ``sampler(model, x, sigmas, *, noise_sampler=None, **knobs)`` with a
  denoiser ``model(x, sigma)`` in the EDM parameterisation (Karras et al. 2022, §2): ``x`` has
  noise level ``sigma``, ``D(x, sigma) = x + sigma^2 grad log p_sigma(x)``, ``p_sigma = p_0 *
  N(0, sigma^2 I)`` (``analytic.EDM``, ``t = sigma``). ``sigma`` may be a scalar or an array
  of shape ``(n,)`` (k-diffusion passes ``sigmas[i] * s_in``). ``noise_sampler(sigma,
  sigma_next)`` returns standard normals shaped like ``x`` (k-diffusion's hook). ``backend``:
  NumPy arrays, or float64 torch tensors for torch samplers (the real ``k_diffusion.sampling``;
  ``"auto"`` detects it), with ``torch.randn_like`` probed for samplers without a
  ``noise_sampler``; samplers taking ``(sigma_min, sigma_max, n)`` (``sample_dpm_fast``) are
  called with the grid's ends and step count.
* ``"diffusers"``: a real diffusers scheduler (``verify.kit.adapters.schedulers``: its own
  discrete levels, ``scale_model_input``, ``prediction_type``, noise through
  ``variance_noise`` / ``randn_tensor``), or a duck-typed NumPy scheduler with
  ``set_timesteps(n)``, ``timesteps``, ``alphas_cumprod``, ``step(model_output, timestep,
  sample, generator=..., **knobs)`` (VP alpha-bar: EDM coordinates ``x / sqrt(abar)`` at
  ``sigma = sqrt((1 - abar)/abar)``; last step to ``final_alpha_cumprod``; noise from
  ``generator.standard_normal``). Multistep and two-call-per-step schedulers are checked on
  whole chain prefixes; single steps only where a step is self-contained.
* ``"ours"``: ``sampler(score, x, grid, rng)`` with forward times ``grid`` of ``sde``
  (default ``EDM(30)``) and ``score(x, t)`` (``verify.solvers.particles`` convention); ``rng`` is a
  ``numpy.random.Generator`` (the kit passes a subclass whose normals it controls).

torchsde's ``sdeint`` is checked by ``verify.kit.adapters.sdeint.check_sdeint``. Reported in EDM
coordinates (sigma) for k-diffusion and diffusers.

**Exact probing.** For a Gaussian target the denoiser is affine, ``D(x, sigma) = m + Sigma
(Sigma + sigma^2 I)^{-1} (x - m)``, so every sampler built from denoiser calls, linear
combinations and injected Gaussian noise is an affine map of its input and its noise draws:
``x' = M x + u + sum_c L_c z_c``. The kit recovers ``(M, u, L_c)`` *exactly* by running the
user's sampler on a batch of ``1 + d + n_calls d`` probe rows (zero input and zero noise; unit
inputs; a unit noise vector in one draw), verifies the affine form on random rows (relative
error ``<= 1e-7``, else the exact checks are ``inconclusive``), and then has the exact output
law ``N(M m + u, M C M^T + sum_c L_c L_c^T)`` for any input law ``N(m, C)`` (rung 2).

Checks (each ``holds`` / ``fails`` / ``inconclusive`` / ``n/a``, with numbers):

1. ``consistency`` (rung 4): particles from the exact ``p_{sigma_max}`` run through a fine
   full grid (N = 2000 quick / 8000 full, ending at 0 in the k-diffusion / ours conventions;
   diffusers: N = 1000, one step per training timestep); family-wise
   (Bonferroni over ``2d`` moments) CLT intervals of every coordinate's mean and of
   ``E (x_i - m_i)^2`` against the exact data values: all 99% intervals contain them ->
   ``holds``; some 99.9% interval excludes one -> ``fails``; otherwise ``inconclusive``.
   Works for GMM targets and for samplers that cannot be probed. Its power is limited by the
   particle count (n = 2000 quick: relative errors of about 0.15 in a variance); N is chosen so
   that a first-order sampler's discretisation bias is a small fraction of the standard error
   (Euler ancestral at N = 2000: about 0.004 relative, vs a standard error of 0.03), so that
   a correct sampler is not flagged. The exact checks below are the sharp ones.
2. ``weak-order`` (rung 2): probed exact output laws on Karras grids (``rho = 7``, sigma from
   20 to 0.02, no final 0; ``N = 16..128`` quick; diffusers: its own timesteps, ``N = 20..160``)
   for increasing ``N``, started at the exact marginal of the first node; weak error
   ``|m_N - m| + ||C_N - C||_F`` against the exact marginal at the last node; the fitted slope
   in ``N`` must be at least the stated order minus 0.3 (one-sided: faster is reported), on
   stable counts only; a pre-asymptotic sweep (local slopes still rising) is extended by
   doubling ``N`` (at most 3 times), else ``inconclusive: not asymptotic``.
3. ``step-law`` (rung 2): each single step ``[sigma_k, sigma_{k+1}]`` of the user's sampler
   (5 steps of a Karras grid; the sampler is called with ``sigmas = [sigma_k, sigma_{k+1}]``),
   applied to a known input law ``N(m_in, C_in)`` (``p_{sigma_k}`` shifted by half a standard
   deviation, covariance times 1.3, so a wrong map cannot hide behind the fixed point), against
   the exact one-step law of the stated method (``exact_law`` on a two-node grid
   when the method is one of ours, the closed form of the published rule otherwise); relative
   moment gap ``<= 1e-6``.
4. ``gamma`` (rung 2): the stochasticity applied, ``gamma_eff = tr Q_user / (d Q_ref(1))`` with
   ``Q_ref(1)`` our reference method's noise variance at ``gamma = 1``
   (``step_coefficients``), against ``verify.kit.conventions``' map of the knob:
   per step to ``max(1e-6, 10 eps64 |m| / sqrt(Q_ref))`` when the map is exact (the data
   mean's round-off against the step's noise std); Richardson-extrapolated to zero step size
   (``delta = 2%, 1%`` relative steps) within ``0.02 max(1, gamma)`` when it is small-step.

5. ``output-kl`` (rung 2, exact consistency): ``KL(output law || data)`` of the full
   discretisation ending at 0 for ``N = 10, 25, 50``; holds iff ``KL(50) <= max(KL(10)/4,
   1e-12)``.

6. ``final-step``, ``start-law``, ``bookkeeping`` (rung 2): one module each in
   ``verify.kit.checks`` (the chain ends at sigma = 0: residual noise std from the exact law of a
   point-like target; the scheduler's ``init_noise_sigma`` start against the marginal at its
   first level, KL named; the level each update reaches against the level of the next model
   call, at step counts that do not divide the training steps).

Multistep methods (``MethodSpec.multistep``) carry state: their step law is checked on the
chain after ``k = 1..5`` steps against the exact law of the published rule's re-implementation
(``verify.kit.references``), probed the same way.

``check_sampler(...)`` runs them and returns a :class:`ConformanceReport` (``.verdict``,
``.failed`` names the checks that caught a problem, ``.assert_ok()`` for a test).

**Modules.** This module is the driver (``check_sampler``: the budget, the adapter, the order
the checks run in) and re-exports the kit's names. Each check is one module of
``verify.kit.checks`` (its probe, rule, tolerance and message): ``consistency``,
``weak_order``, ``step_law``, ``gamma``, ``output_kl``, ``final_step``, ``start_law``,
``bookkeeping`` (with ``precision``, ``clipping``, ``step_counts``, ``faults``, ``result``
shared). The machinery: ``verify.kit.registry`` (``CONVENTIONS``, ``CHECKS``),
``verify.kit.probing`` (``_probe``, ``_push``, ``_safe_kl``, ``NotAffineError``),
``verify.kit.denoisers``, ``verify.kit.noise``, ``verify.kit.specs`` (``METHOD_SPECS``),
``verify.kit.report`` (``ConformanceReport``); the adapters in ``verify.kit.adapters``
(``sigma``: k-diffusion / ours, ``duck``: duck-typed NumPy schedulers, ``schedulers``: real
diffusers, ``sdeint``: torchsde, ``kdiffusion``: the package loader).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np

from analytic import Gaussian, GaussianMixture
from verify.kit import guard as _guard
from verify.kit.adapters.duck import _DiffusersAdapter
from verify.kit.adapters.sigma import (
    BACKENDS,
    RHO,
    SIGMA_MAX,
    SIGMA_MIN,
    STEP_TOL,
    _accepts,
    _sigma_range_params,
    _SigmaAdapter,
)
from verify.kit.checks import BOUNDARY_CHECKS, run_boundary_checks
from verify.kit.checks import clipping as _clip
from verify.kit.checks import precision as _prec
from verify.kit.checks.consistency import _check_consistency
from verify.kit.checks.consistency import consistency as _consistency
from verify.kit.checks.faults import NotDrivable, SamplerFault, fault_result
from verify.kit.checks.faults import guarded as _guarded
from verify.kit.checks.gamma import (
    GAMMA_EXACT_TOL,
    GAMMA_MEASURABLE,
    GAMMA_ROUNDOFF_ULPS,
    GAMMA_SMALL_STEP_TOL,
    _check_chain_gamma,
    _check_gamma,
    _gamma_roundoff_tol,
    _ref_noise,
)
from verify.kit.checks.gamma import gamma as _gamma
from verify.kit.checks.output_kl import OUTPUT_KL_STEPS, _check_output_kl
from verify.kit.checks.result import CheckResult
from verify.kit.checks.step_law import _check_chains, _check_steps, _shifted
from verify.kit.checks.weak_order import (
    ASYMPTOTIC_TOL,
    EXACT_WEAK_ERR,
    EXTEND_DOUBLINGS,
    KL_STABLE,
    ORDER_TOL,
    _check_order,
    _doubled,
    _exact_floor,
    _local_slopes,
    _rising,
    _weak_error,
)
from verify.kit.denoisers import (
    _denoiser,
    _kd_model,
    _rowwise_sigma,
    default_target,
    gaussian_denoiser,
)
from verify.kit.noise import _Source, _SourceGenerator
from verify.kit.probing import AFFINE_RTOL, NotAffineError, _gaps, _n_steps, _probe, _push, _safe_kl
from verify.kit.registry import CHECKS, CONVENTIONS, EXACT_CHECKS
from verify.kit.report import ConformanceReport
from verify.kit.specs import METHOD_SPECS, MethodSpec, _family_law, _reference_chain, _spec

__all__ = [
    "CHECKS",
    "CONVENTIONS",
    "METHOD_SPECS",
    "CheckResult",
    "ConformanceReport",
    "NotAffineError",
    "check_sampler",
    "default_target",
    "gaussian_denoiser",
]
_REEXPORTED = (
    _probe,
    _push,
    BOUNDARY_CHECKS,
    EXACT_CHECKS,
    _doubled,
    _exact_floor,  # names tests and the adapters reach through this module (kept importable)
    BACKENDS,
    RHO,
    SIGMA_MAX,
    SIGMA_MIN,
    STEP_TOL,
    _accepts,
    _sigma_range_params,
    _DiffusersAdapter,
    _check_consistency,
    GAMMA_EXACT_TOL,
    GAMMA_MEASURABLE,
    GAMMA_ROUNDOFF_ULPS,
    GAMMA_SMALL_STEP_TOL,
    _check_chain_gamma,
    _check_gamma,
    _gamma_roundoff_tol,
    _ref_noise,
    OUTPUT_KL_STEPS,
    _check_output_kl,
    _check_chains,
    _shifted,
    ASYMPTOTIC_TOL,
    EXACT_WEAK_ERR,
    EXTEND_DOUBLINGS,
    KL_STABLE,
    ORDER_TOL,
    _local_slopes,
    _rising,
    _weak_error,
    _kd_model,
    _rowwise_sigma,
    _Source,
    _SourceGenerator,
    AFFINE_RTOL,
    _gaps,
    _n_steps,
    _safe_kl,
    MethodSpec,
    _family_law,
    _reference_chain,
)


@_guard.guarded
def check_sampler(
    sampler: object,
    convention: str = "k-diffusion",
    method: str | None = None,
    *,
    order: float | None = None,
    data: Gaussian | GaussianMixture | None = None,
    sde: object = None,
    quick: bool = True,
    seed: int = 0,
    name: str | None = None,
    level: float = 0.99,
    checks: Iterable[str] | None = None,
    backend: str = "auto",
    order_steps: Sequence[int] | None = None,
    **knobs: object,
) -> ConformanceReport:
    """Check ``sampler`` against exact answers (module docstring for the four checks).

    Parameters
    ----------
    sampler : the user's sampler (``convention`` says how it is called), or for
        ``"diffusers"`` a scheduler object (or a class constructible without arguments).
    convention : ``"k-diffusion"``, ``"diffusers"`` or ``"ours"``.
    method : the stated method (``METHOD_SPECS`` keys, or one of ours for ``"ours"``);
        ``None`` runs only the consistency and weak-order checks.
    order : the stated weak order (default: the method's published order).
    data : target ``Gaussian`` (default :func:`default_target`) or ``GaussianMixture``
        (then only the consistency check applies).
    sde : for ``"ours"``: the forward SDE whose times the grid holds (default ``EDM(30)``).
    quick : smaller step counts and particle numbers.
    checks : names of the checks to run (default all of ``CHECKS``).
    order_steps : the step counts of the weak-order check (default: the budget's list,
        ``quick`` 16..128 / diffusers 20..160).
    level : family-wise confidence level of the consistency check (``fails`` needs the
        ``1 - (1 - level)/10`` intervals to exclude an exact moment).
    **knobs : passed to the sampler (``eta=1.0``, ``s_churn=...``; ``gamma`` for ``"ours"``).

    Example::

        report = check_sampler(sample_euler_ancestral, "k-diffusion", "euler_ancestral", eta=1.0)
        report.assert_ok()
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    data = default_target() if data is None else data
    if not isinstance(data, Gaussian | GaussianMixture):
        raise ValueError("data must be an analytic.Gaussian or GaussianMixture")
    d = data.dim
    rng = np.random.default_rng([seed, 9])
    try:
        ad, n_list, n_cons, n_step, n_particles = _setup(
            sampler, convention, data, sde, backend, quick, order_steps, knobs
        )
    except NotDrivable as exc:
        ad, not_drivable = None, exc
    spec = _spec(convention, method) if method is not None else None
    if method is not None and spec is None:
        known = [m for c, m in METHOD_SPECS if c == convention]
        raise ValueError(f"unknown method {method!r} for {convention!r}; known: {known}")
    want = CHECKS if checks is None else tuple(checks)
    unknown = [c for c in want if c not in CHECKS]
    if unknown or not want:
        raise ValueError(f"checks must be a non-empty subset of {CHECKS}, got {checks!r}")
    label = name or getattr(sampler, "__name__", type(sampler).__name__)
    if ad is None:
        na = {c: CheckResult(c, "n/a", f"not drivable: {not_drivable}") for c in want}
        return ConformanceReport(label, convention, method, dict(knobs), na)
    out = {}
    cons_ad, ad, clip_notes = _clip.split(ad, data)  # clip_sample / thresholding
    if "consistency" in want:
        out["consistency"] = _guarded(
            "consistency", _consistency, cons_ad, n_cons, n_particles, rng, level
        )
    exact = [c for c in CHECKS[1:] if c in want]
    if exact and not isinstance(data, Gaussian):
        na = "needs a Gaussian target (the sampler is then affine and can be probed exactly)"
        out.update({nm: CheckResult(nm, "n/a", na) for nm in exact})
    elif exact:
        out.update(_exact_checks(ad, spec, knobs, order, want, n_list, n_step, d, rng))
        out.update(
            run_boundary_checks(
                want,
                ad,
                lambda target: _on_grid_of(
                    ad,
                    _setup(sampler, convention, target, sde, backend, quick, order_steps, knobs)[0],
                ),
                data,
                d,
                rng,
                quick,
            )
        )
    _clip.annotate(out, clip_notes)
    return ConformanceReport(label, convention, method, dict(knobs), out)


def _on_grid_of(ad, probe):
    """``probe`` (an adapter on a point-like target) on the noise levels of ``ad``: the grid's
    sigma_min follows the data's scale (:func:`verify.kit.guard.grid_sigma_min`), and the
    point target's would make every last step vanish."""
    if hasattr(ad, "sigma_min") and hasattr(probe, "sigma_min"):
        probe.sigma_min = ad.sigma_min
    return probe


def _setup(sampler, convention, data, sde, backend, quick, order_steps, knobs):
    """The adapter and the budget: (adapter, order step counts, consistency steps,
    step-law probes, particles)."""
    if convention == "diffusers":
        from verify.kit.adapters import schedulers as _sched

        if _sched.is_torch_scheduler(sampler):
            ad = _sched.SchedulerAdapter(sampler, data, knobs, _denoiser(data))
        else:
            ad = _DiffusersAdapter(sampler, data, knobs)
        n_list = [20, 40, 80, 160] if quick else [20, 40, 80, 160, 320, 640]
        n_cons, n_step = 1000, (5 if quick else 10)
        n_particles = 2000 if quick else 4000  # N <= num_train_timesteps: bias below the CI
    else:
        run_knobs = {} if convention == "ours" else knobs
        ad = _SigmaAdapter(sampler, convention, data, run_knobs, sde, backend)
        n_list = [16, 32, 64, 128] if quick else [16, 32, 64, 128, 256, 512]
        if ad.sigma_range:  # DPM-Solver-fast: n = 3m - 1 evaluations run m third-order steps
            n_list = [n + 2 - n % 3 for n in n_list]
        n_cons, n_step = (2000 if quick else 8000), (5 if quick else 10)
        n_particles = 2000 if quick else 20000
    if order_steps is not None:
        steps = [int(n) for n in order_steps]
        if len(steps) < 2 or any(n < 1 for n in steps) or steps != sorted(set(steps)):
            raise ValueError(
                f"order_steps must be >= 2 increasing positive integers: {order_steps!r}"
            )
        n_list = [n + 2 - n % 3 for n in steps] if getattr(ad, "sigma_range", False) else steps
    if not isinstance(data, Gaussian):  # the GMM denoiser is slower; its bias is not the issue
        n_cons = min(n_cons, 1000)
    return ad, n_list, n_cons, n_step, n_particles


def _exact_checks(ad, spec, knobs, order, want, n_list, n_step, d, rng) -> dict:
    """The checks that probe the (affine) chain exactly: weak order, step law, gamma,
    output KL; a sampler that is not affine makes them inconclusive."""
    out = {}
    try:
        if "weak-order" in want:
            so = spec.order if spec is not None else None
            so = so(knobs) if callable(so) else so
            out["weak-order"] = _guarded(
                "weak-order", _prec.rerun_in_float64(_check_order), ad, so, order, n_list, d, rng
            )
        if spec is None:
            out.update(
                {
                    nm: CheckResult(nm, "n/a", "no stated method")
                    for nm in ("step-law", "gamma")
                    if nm in want
                }
            )
        elif "step-law" in want or "gamma" in want:
            fault = None
            try:
                step, probes = _prec.rerun_steps_in_float64(
                    _check_steps, ad, spec, knobs, n_step, d, rng
                )
            except SamplerFault as exc:
                fault = exc
                step = fault_result("step-law", exc)
            if "step-law" in want:
                out["step-law"] = step
            if "gamma" in want:
                out["gamma"] = (
                    fault_result("gamma", fault)
                    if fault is not None
                    else _guarded("gamma", _gamma, ad, spec, knobs, probes, d, rng)
                )
    except NotAffineError as exc:
        for nm in CHECKS[1:]:
            if nm in want and nm != "output-kl":
                out.setdefault(nm, CheckResult(nm, "inconclusive", f"cannot probe: {exc}"))
    if "output-kl" in want:
        try:
            out["output-kl"] = _guarded(
                "output-kl", _prec.rerun_in_float64(_check_output_kl), ad, d, rng
            )
        except NotAffineError as exc:
            out["output-kl"] = CheckResult("output-kl", "inconclusive", f"cannot probe: {exc}")
    return out
