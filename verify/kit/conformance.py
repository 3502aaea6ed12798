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
"""

from __future__ import annotations

import importlib.util
import inspect
import math
import warnings
from dataclasses import dataclass

import numpy as np

from analytic import EDM, Gaussian, GaussianMixture, kl
from verify.estimators import mean_ci
from verify.kit import conventions as _conv
from verify.kit import guard as _guard
from verify.kit.checks import BOUNDARY_CHECKS, run_boundary_checks
from verify.kit.checks import clipping as _clip
from verify.kit.checks import precision as _prec
from verify.kit.checks.faults import NotDrivable, SamplerFault, fault_result
from verify.kit.checks.result import CheckResult
from verify.kit.checks.step_counts import at_supported_steps
from verify.solvers.chain_laws import exact_law
from verify.solvers.methods import METHODS
from verify.solvers.particles import step_coefficients

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

CONVENTIONS = ("k-diffusion", "diffusers", "ours")
CHECKS = ("consistency", "weak-order", "step-law", "gamma", "output-kl", *BOUNDARY_CHECKS)
SIGMA_MAX, SIGMA_MIN, RHO = 20.0, 0.02, 7.0
AFFINE_RTOL = 1e-7
STEP_TOL = 1e-6
GAMMA_EXACT_TOL = 1e-6
GAMMA_SMALL_STEP_TOL = 0.02
ORDER_TOL = 0.3


class NotAffineError(ValueError):
    """The sampler is not affine in (input, noise draws) for a Gaussian target."""


def default_target() -> Gaussian:
    """The default target: a correlated 2-D Gaussian, mean (0.5, -1), cov [[1, .3], [.3, .5]]."""
    return Gaussian(np.array([0.5, -1.0]), np.array([[1.0, 0.3], [0.3, 0.5]]))


# ------------------------------------------------------------------------------ denoisers
def gaussian_denoiser(data, sigma, x):
    """Exact EDM denoiser ``D(x, sigma) = E[X_0 | X_0 + sigma Z = x]`` (rows of ``x``).

    Gaussian data: ``m + Sigma (Sigma + sigma^2 I)^{-1} (x - m)`` (Cholesky solve; ``D = x`` at
    ``sigma = 0``). GMM data: ``x + sigma^2 grad log p_sigma(x)`` (Tweedie).
    """
    x = np.asarray(x, dtype=np.float64)
    sigma = float(sigma)
    if sigma == 0.0:
        return x.copy()
    if isinstance(data, GaussianMixture):
        p = EDM(max(sigma, 1.0) * 2).marginal(data, sigma)
        return x + sigma * sigma * p.score(x)
    S = np.atleast_2d(data.cov)
    A = S + sigma * sigma * np.eye(data.dim)
    w = np.linalg.solve(A, (x - data.mean).T)  # (A symmetric positive definite)
    return data.mean + (S @ w).T


def _rowwise_sigma(sigma, n):
    s = np.asarray(sigma, dtype=np.float64)
    if s.ndim == 0:
        return np.full(n, float(s))
    s = s.reshape(-1)
    if s.size == 1:
        return np.full(n, float(s[0]))
    if s.size != n:
        raise ValueError(f"model got sigma of shape {np.shape(sigma)} for {n} rows")
    return s


def _denoiser(data):
    """A fast ``(x, sigma float) -> D(x, sigma)`` for ``data`` (eigenbasis of Sigma, once)."""
    if not isinstance(data, Gaussian):
        return lambda x, sigma: gaussian_denoiser(data, sigma, x)
    lam, V = np.linalg.eigh(np.atleast_2d(data.cov))
    m = data.mean

    def D(x, sigma):
        if sigma == 0.0:
            return np.array(x, dtype=np.float64)
        return m + (((x - m) @ V) * (lam / (lam + sigma * sigma))) @ V.T

    return D


def _kd_model(data):
    den = _denoiser(data)

    def model(x, sigma):
        x = np.asarray(x, dtype=np.float64)
        s = _rowwise_sigma(sigma, x.shape[0])
        if s.size == 0 or s.min() == s.max():
            return den(x, float(s[0]) if s.size else 0.0)
        out = np.empty_like(x)
        for v in np.unique(s):
            rows = s == v
            out[rows] = den(x[rows], float(v))
        return out

    return model


# ----------------------------------------------------------------------------- noise
class _Source:
    """Noise draws: ``random`` (an rng), ``record`` (random, kept in ``arrays``), ``zero``,
    ``probe`` (unit vectors) or ``given``."""

    def __init__(self, mode, rng=None, d=0, base=0, arrays=None):
        self.mode, self.rng, self.d, self.base, self.arrays = mode, rng, d, base, arrays
        self.calls = 0

    def draw(self, shape):
        c = self.calls
        self.calls += 1
        if self.mode == "random":
            return self.rng.standard_normal(shape)
        if self.mode == "record":
            z = self.rng.standard_normal(shape)
            self.arrays = [] if self.arrays is None else self.arrays
            self.arrays.append(z)
            return z
        z = np.zeros(shape)
        if self.mode == "probe":
            rows = self.base + c * self.d + np.arange(self.d)
            ok = rows < shape[0]
            z[rows[ok], np.arange(self.d)[ok]] = 1.0
        elif self.mode == "given":
            z[...] = self.arrays[c]
        return z


class _SourceGenerator(np.random.Generator):
    """A ``numpy.random.Generator`` whose normals come from a ``_Source`` (for probing).

    ``shape``: the shape of the sampler's ``x``; normals of another shape (a scalar, one per
    row) cannot be probed and raise ``verify.kit.guard.NoiseShapeError`` saying so.
    ``normal(loc_array, scale)`` draws the broadcast shape; ``spawn(n)`` gives generators
    drawing from the same source."""

    def __init__(self, source, shape=None):
        super().__init__(np.random.PCG64(0))
        self._source, self._shape = source, shape

    def standard_normal(self, size=None, dtype=np.float64, out=None):
        if out is not None:
            out[...] = _guard.controlled_normals(self._source, out.shape, self._shape)
            return out
        shape = () if size is None else tuple(np.atleast_1d(size).tolist())
        return _guard.controlled_normals(self._source, shape, self._shape)

    def normal(self, loc=0.0, scale=1.0, size=None):
        if size is None:
            size = np.broadcast_shapes(np.shape(loc), np.shape(scale))
        return loc + scale * self.standard_normal(size)

    def spawn(self, n_children):
        return [type(self)(self._source, self._shape) for _ in range(int(n_children))]


def _accepts(fn, name):
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return True
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


# ----------------------------------------------------------------------------- adapters
def _sigma_range_params(fn):
    """True for samplers called ``(model, x, sigma_min, sigma_max, [n], ...)`` (k-diffusion
    ``sample_dpm_fast`` / ``sample_dpm_adaptive``) instead of ``(model, x, sigmas, ...)``."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return "sigma_min" in params and "sigma_max" in params and "sigmas" not in params


BACKENDS = ("auto", "numpy", "torch")


class _SigmaAdapter:
    """k-diffusion and ours: grids chosen by the kit (Karras, rho = 7).

    ``backend``: ``"numpy"`` (arrays in, the NumPy denoiser), ``"torch"`` (float64 tensors,
    the torch denoiser of ``verify.kit.adapters.torch_bridge``, ``torch.randn_like`` probed,
    default dtype float64 during the call) or ``"auto"`` (torch when the sampler's module
    imports torch, else NumPy, falling back to torch if the NumPy call fails).
    """

    def __init__(self, sampler, convention, data, knobs, sde=None, backend="auto"):
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        self.sampler, self.convention, self.data, self.knobs = sampler, convention, data, knobs
        self.backend = backend
        self.sigma_range = _sigma_range_params(sampler)
        self.sde = sde if sde is not None else EDM(SIGMA_MAX * 1.5)
        if convention == "k-diffusion" and not isinstance(self.sde, EDM):
            raise ValueError("convention 'k-diffusion' works in EDM sigma (sde must be EDM)")
        self.sigma_max = min(SIGMA_MAX, float(self.sde.sigma(self.sde.T)))
        self.sigma_min = _guard.grid_sigma_min(data, SIGMA_MIN)
        self.step_tol = _guard.scale_tolerance(data, STEP_TOL)
        self.model = _kd_model(data)
        self._den = _denoiser(data)
        self.score = self._score if convention == "ours" else None
        self._torch_model = None
        self.precision = _prec.Precision(source="the kit's float64 inputs")

    def _score(self, x, t):
        """``grad log p_t(x) = (alpha D(x/alpha, sigma) - x) / sigma2`` (Tweedie, any sde)."""
        a, v = float(self.sde.alpha(t)), float(self.sde.sigma2(t))
        if v == 0.0:
            return self.data.score(x / a) / a
        return (a * self._den(x / a, math.sqrt(v) / a) - x) / v

    def t_of_sigma(self, s):
        return float(self.sde.t_of_sigma(s))

    def probe_center(self, seg):
        """Where ``_probe`` puts its probes: the data mean at the grid's first time (a large
        mean then costs no digits; ``verify.kit.guard.probe_center``)."""
        alpha = float(self.sde.alpha(float(seg[0]))) if self.convention == "ours" else 1.0
        return _guard.probe_center(self.data, alpha)

    def nodes(self, n, zero=False):
        r = np.arange(n + 1) / n
        lo, hi = self.sigma_min ** (1 / RHO), self.sigma_max ** (1 / RHO)
        sig = (hi + r * (lo - hi)) ** RHO
        t = np.array([self.t_of_sigma(s) for s in sig])
        t[0] = self.t_of_sigma(self.sigma_max)
        return np.append(t, 0.0) if zero else t

    def full(self, n, zero=False):
        t = self.nodes(n, zero)
        return t, t

    def steps(self, n):
        t = self.nodes(n)
        return [(t[k], t[k + 1], t[k : k + 2]) for k in range(n)]

    def single(self, t, s):
        return np.array([t, s])

    def prefix(self, n, k):
        """The first ``k`` steps of the ``n``-step grid (what the sampler is called with)."""
        return self.nodes(n)[: k + 1]

    def ref_nodes(self, n, k):
        """The same steps as EDM sigmas (for the reference rule)."""
        return np.array([self.sde.sigma(t) for t in self.nodes(n)[: k + 1]], dtype=np.float64)

    def _resolved_backend(self):
        if self.backend != "auto":
            return self.backend
        fn = inspect.unwrap(self.sampler)
        mod = getattr(fn, "__module__", "") or ""
        if mod.startswith("k_diffusion") or "torch" in getattr(fn, "__globals__", {}):
            return "torch"
        return "numpy"

    def _args(self, seg, sigmas):
        """Positional grid arguments: ``(sigmas,)`` or ``(sigma_min, sigma_max[, n])``."""
        if not self.sigma_range:
            return (sigmas,), {}
        pos = np.asarray(seg, dtype=np.float64)
        pos = pos[pos > 0]
        kw = {"sigma_min": float(pos[-1]), "sigma_max": float(pos[0])}
        if _accepts(self.sampler, "n") and "n" not in self.knobs:
            kw["n"] = len(seg) - 1
        return (), kw

    def run(self, x, seg, source):
        """The sampler on ``x`` over ``seg`` (``verify.kit.guard.SamplerCall``: copies of the
        input and the grid, a denoiser refusing bad sigmas, the output validated)."""
        x = np.array(x, dtype=np.float64)
        grid = np.array(seg, dtype=np.float64)  # a copy: the kit's grid never reaches the sampler
        if self.convention == "ours":
            with _guard.SamplerCall(self.sampler, x, grid, seg, "ours") as call:
                out = self.sampler(
                    call.score(self.score), x, grid, _SourceGenerator(source, x.shape)
                )
            return call.output(out)
        if self._resolved_backend() == "torch":
            return self._run_torch(x, seg, source)
        kw = dict(self.knobs)
        if _accepts(self.sampler, "noise_sampler"):
            kw["noise_sampler"] = lambda sigma, sigma_next: source.draw(x.shape)
        args, extra = self._args(seg, grid)
        try:
            with _guard.SamplerCall(self.sampler, x, grid, seg) as call:
                out = self.sampler(call.model(self.model), x, *args, **extra, **kw)
        except _guard.SamplerProblem as problem:
            if not (
                self.backend == "auto"
                and _guard.torch_type_failure(problem.exc)
                and importlib.util.find_spec("torch") is not None
            ):
                raise
            self.backend = "torch"  # a torch sampler (e.g. x.new_ones): run it on tensors
            source.calls = 0
            return self._run_torch(call.x_before, seg, source)
        self.precision.note(getattr(out, "dtype", None), "its output")
        return call.output(out)

    def _run_torch(self, x, seg, source):
        import torch

        from verify.kit.adapters import torch_bridge as tb

        if self._torch_model is None:
            self._torch_model = tb.torch_denoiser(self.data, self.model)
        x = np.array(x, dtype=np.float64)
        grid = np.array(seg, dtype=np.float64)
        xt = tb.to_torch(x)  # shares x's memory: a write in place shows in x
        kw = dict(self.knobs)
        if _accepts(self.sampler, "noise_sampler"):
            shape = tuple(xt.shape)
            kw["noise_sampler"] = lambda sigma, sigma_next: torch.from_numpy(source.draw(shape))
        if _accepts(self.sampler, "disable"):
            kw.setdefault("disable", True)
        args, extra = self._args(seg, tb.to_torch(grid))
        if self.sigma_range:
            extra = {
                k: (torch.tensor(v, dtype=torch.float64) if k != "n" else v)
                for k, v in extra.items()
            }
        dtype = torch.get_default_dtype()
        torch.set_default_dtype(torch.float64)
        try:
            with tb.randn_from(source), tb.single_thread(), warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                with _guard.SamplerCall(self.sampler, xt, grid, seg) as call:
                    out = self.sampler(call.model(self._torch_model), xt, *args, **extra, **kw)
        finally:
            torch.set_default_dtype(dtype)
        self.precision.note(getattr(out, "dtype", None), "its output")
        return call.output(out)

    def marginal(self, t):
        return self.sde.marginal(self.data, float(t)) if t > 0 else self.data


class _DiffusersAdapter:
    """A diffusers-style scheduler; everything is reported in EDM coordinates."""

    convention = "diffusers"

    def __init__(self, scheduler, data, knobs):
        self.sched = scheduler() if isinstance(scheduler, type) else scheduler
        self.data, self.knobs = data, knobs
        ptype = getattr(self.sched, "prediction_type", None)
        if ptype is None:
            ptype = getattr(getattr(self.sched, "config", None), "prediction_type", "epsilon")
        if ptype not in ("epsilon", "sample", "v_prediction"):
            raise ValueError(f"unsupported prediction_type {ptype!r}")
        self.ptype = ptype
        ac = np.asarray(self.sched.alphas_cumprod, dtype=np.float64)
        self.ac = ac
        self._den = _denoiser(data)
        final = getattr(self.sched, "final_alpha_cumprod", None)
        self.final = float(ac[0] if final is None else final)
        smax = math.sqrt((1 - ac.min()) / ac.min())
        self.sde = EDM(smax * 1.01)

    def _abars(self, n):
        self.sched.set_timesteps(n)
        ts = _guard.scheduler_timesteps(self.sched, n, len(self.ac))
        ab = np.append(self.ac[ts], self.final)
        return ts, ab

    def nodes(self, n, zero=False):
        _, ab = self._abars(n)
        return np.sqrt((1.0 - ab) / ab)

    def full(self, n, zero=False):
        return self.nodes(n), (n, 0, n)

    def steps(self, n):
        t = self.nodes(n)
        return [(t[k], t[k + 1], (n, k, k + 1)) for k in range(n)]

    single = None  # no free choice of step: the small-step gamma check is not available

    def _output(self, x_vp, ab, x_edm, sigma):
        D = self._den(x_edm, sigma)
        eps = (x_edm - D) / sigma
        if self.ptype == "epsilon":
            return eps
        if self.ptype == "sample":
            return D
        return math.sqrt(ab) * eps - math.sqrt(1.0 - ab) * D

    def run(self, x, seg, source):
        n, k0, k1 = seg
        x = np.array(x, dtype=np.float64)
        steps = np.arange(k0, k1 + 1, dtype=np.float64)  # the calls, for the guard's label
        with _guard.SamplerCall(self.sched, x, steps, steps, "diffusers") as call:
            ts, ab = self._abars(n)
            x_vp = x * math.sqrt(ab[k0])
            gen = _SourceGenerator(source)
            for k in range(k0, k1):
                sigma = math.sqrt((1.0 - ab[k]) / ab[k])
                out = self.sched.step(
                    self._output(x_vp, ab[k], x_vp / math.sqrt(ab[k]), sigma),
                    ts[k],
                    x_vp,
                    generator=gen,
                    **self.knobs,
                )
                x_vp = out[0] if isinstance(out, tuple) else getattr(out, "prev_sample", out)
                x_vp = call.output(x_vp)  # an array of the right shape, finite, each step
        return x_vp / math.sqrt(ab[k1])

    def marginal(self, t):
        return self.sde.marginal(self.data, float(t)) if t > 0 else self.data


# ----------------------------------------------------------------------------- probing
def _n_steps(seg):
    if isinstance(seg, tuple):  # diffusers: (n, first call, last call)
        return seg[2] - seg[1]
    return len(seg) - 1


def _probe(adapter, seg, d, rng, verify=True):
    """``(M, u, Q)`` of the map ``x -> x'`` (``Q = sum_c L_c L_c^T``).

    One run on a probe batch of ``1 + d + n_c d`` rows (zero input and noise; unit inputs;
    a unit vector in one noise draw), with room for ``3 (steps + 2)`` draws (rerun with more
    room if the sampler drew more). With ``verify``, a second run on 4 random rows with random
    noise must be reproduced by the recovered map (a sampler whose rows interact, e.g. through
    batch-wide step-size control, fails this); the checks verify every single step and the
    longest chain of each sweep.
    """
    room = 3 * (_n_steps(seg) + 2)
    c = adapter.probe_center(seg) if hasattr(adapter, "probe_center") else None
    c = np.zeros(d) if c is None else c
    while True:
        X = np.zeros((1 + d + room * d, d)) + c
        X[1 : 1 + d] += np.eye(d)
        src = _Source("probe", d=d, base=1 + d)
        out = adapter.run(X, seg, src)
        nc = src.calls
        if nc <= room:
            break
        room = nc
    u = out[0]
    M = (out[1 : 1 + d] - u).T
    L = [(out[1 + d + k * d : 1 + d + (k + 1) * d] - u).T for k in range(nc)]
    u = u - M @ c
    Q = sum((Lc @ Lc.T for Lc in L), np.zeros((d, d)))
    if verify:
        xr = c + 2.0 * rng.standard_normal((4, d))
        rec = _Source("record", rng=rng)
        outr = adapter.run(xr, seg, rec)
        zs = rec.arrays or []
        if rec.calls != nc:
            raise NotAffineError(f"the sampler drew noise {nc} times, then {rec.calls} times")
        pred = xr @ M.T + u + sum((z @ Lc.T for z, Lc in zip(zs, L, strict=True)), 0.0)
        err = float(np.max(np.abs(outr - pred)) / (1.0 + np.max(np.abs(outr))))
        tol, why = _prec.affine_tol(adapter)
        if not np.isfinite(err) or err > tol:
            raise NotAffineError(
                f"output is not affine in (input, noise): relative residual {err:.1e} > "
                f"tolerance {why}"
            )
    return M, u, Q


def _push(maps, law):
    M, u, Q = maps
    C = M @ np.atleast_2d(law.cov) @ M.T + Q
    return Gaussian(M @ law.mean + u, 0.5 * (C + C.T))


def _gaps(p, q):
    """``(mean gap, cov gap)``: ``max |dm| / sqrt(max diag C_q)`` and ``||dC||_F / ||C_q||_F``."""
    Cp, Cq = np.atleast_2d(p.cov), np.atleast_2d(q.cov)
    mg = float(np.max(np.abs(p.mean - q.mean)) / math.sqrt(np.max(np.diag(Cq))))
    cg = float(np.linalg.norm(Cp - Cq) / np.linalg.norm(Cq))
    return mg, cg


def _safe_kl(p, q):
    try:
        return float(kl(p, q))
    except (ValueError, np.linalg.LinAlgError):
        return math.inf


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


# ----------------------------------------------------------------------------- results
@dataclass
class ConformanceReport:
    """What ``check_sampler`` returns: the checks, the overall verdict and the failing checks."""

    name: str
    convention: str
    method: str | None
    knobs: dict
    checks: dict

    @property
    def failed(self) -> list[str]:
        """Names of the checks whose verdict is ``fails`` (the checks that caught a problem)."""
        return [n for n, c in self.checks.items() if c.verdict == "fails"]

    @property
    def verdict(self) -> str:
        v = [c.verdict for c in self.checks.values()]
        if "fails" in v:
            return "fails"
        return "inconclusive" if "inconclusive" in v or "holds" not in v else "holds"

    def summary(self) -> str:
        lines = [f"{self.name} [{self.convention}, {self.method}, {self.knobs}]: {self.verdict}"]
        lines += [f"  {n}: {c.verdict} - {c.reason}" for n, c in self.checks.items()]
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        """The report as HTML in a notebook: one row per check, then each check's table."""
        import html

        e = lambda x: html.escape(str(x), quote=True)  # noqa: E731
        colour = {"holds": "#1a7f37", "fails": "#cf222e", "inconclusive": "#9a6700"}

        def badge(v):
            c = colour.get(v, "#59636e")
            style = f"background:{c};color:#fff;padding:0 7px;border-radius:9px"
            return f'<span style="{style}">{e(v)}</span>'

        def cell(v):
            return e(f"{v:.4g}") if isinstance(v, float) else e(v)

        knobs = ", ".join(f"{k}={v}" for k, v in self.knobs.items()) or "no knobs"
        out = [
            f"<div><h4 style='margin:4px 0'>{e(self.name)} [{e(self.convention)}, "
            f"{e(self.method)}, {e(knobs)}]: {badge(self.verdict)}</h4>",
            "<table><tr><th>check</th><th>verdict</th><th>numbers</th></tr>",
        ]
        out += [
            f"<tr><td>{e(n)}</td><td>{badge(c.verdict)}</td><td>{e(c.reason)}</td></tr>"
            for n, c in self.checks.items()
        ]
        out.append("</table>")
        for n, c in self.checks.items():
            if c.columns and c.rows:
                head = "".join(f"<th>{e(col)}</th>" for col in c.columns)
                body = "".join(
                    "<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in c.rows
                )
                out.append(
                    f"<details><summary>{e(n)}</summary><table><tr>{head}</tr>{body}</table>"
                    "</details>"
                )
        return "".join(out) + "</div>"

    def assert_ok(self) -> None:
        """Raise ``AssertionError`` with the summary unless the verdict is ``holds``."""
        if self.verdict != "holds":
            raise AssertionError(self.summary())


# ----------------------------------------------------------------------------- checks
def _check_consistency(ad, n_steps, n_particles, rng, level=0.99):
    levels = (level, 1.0 - (1.0 - level) / 10.0)
    nodes, seg = ad.full(n_steps, zero=True)
    start, target = ad.marginal(nodes[0]), ad.marginal(nodes[-1])
    x = start.sample(n_particles, rng)
    y = ad.run(x, seg, _Source("random", rng=rng))
    d = y.shape[1]
    lo_lvl, hi_lvl = (1.0 - (1.0 - lv) / (2 * d) for lv in levels)
    m, C = target.mean, np.atleast_2d(target.cov)
    rows, worst = [], 0.0
    for i in range(d):
        for label, samples, exact in (
            (f"mean[{i}]", y[:, i], m[i]),
            (f"E(x-m)^2[{i}]", (y[:, i] - m[i]) ** 2, C[i, i]),
        ):
            e = mean_ci(samples, lo_lvl)
            wide = mean_ci(samples, hi_lvl)
            ratio = abs(e.value - exact) / max(e.hi - e.value, 1e-300)
            worst = max(worst, ratio)
            rows.append(
                [
                    label,
                    exact,
                    e.value,
                    e.lo,
                    e.hi,
                    wide.lo,
                    wide.hi,
                    "yes" if e.contains(exact) else ("wide only" if wide.contains(exact) else "no"),
                ]
            )
    outside = [r for r in rows if r[-1] == "no"]
    between = [r for r in rows if r[-1] == "wide only"]
    verdict = "fails" if outside else ("inconclusive" if between else "holds")
    a, b = f"{100 * levels[0]:.6g}%", f"{100 * levels[1]:.6g}%"
    what = {
        "holds": f"all family-wise {a} CIs contain",
        "inconclusive": f"some {a} CIs exclude but all {b} CIs contain",
        "fails": f"some family-wise {b} CIs exclude",
    }[verdict]
    return CheckResult(
        "consistency",
        verdict,
        f"N={n_steps}, n={n_particles}: {what} the exact data moments (worst |est - exact| / "
        f"{a} half-width = {worst:.2f})",
        ["moment", "exact", "estimate", f"{a} lo", f"{a} hi", f"{b} lo", f"{b} hi", "contains"],
        rows,
        {"worst": worst},
    )


KL_STABLE = 1.0
"""A step count counts for the weak order only if the law it reaches is within
``KL(law || p_end) <= KL_STABLE`` of the target (a finite, not-yet-diverged chain)."""

ASYMPTOTIC_TOL = 0.1
"""Successive local slopes agreeing within this are in the asymptotic regime (the leading
error term dominates)."""
EXTEND_DOUBLINGS = 3
"""Pre-asymptotic step counts are extended by doubling at most this many times (the probe of
an ``N``-step grid costs ``O(N^2)``: the budget is at most ``(8 N_max)^2``)."""
EXACT_WEAK_ERR = 1e-11


def _weak_error(law, tgt):
    return float(
        np.linalg.norm(law.mean - tgt.mean)
        + np.linalg.norm(np.atleast_2d(law.cov) - np.atleast_2d(tgt.cov))
    )


def _exact_floor(ad, tgt):
    """Below this weak error at every N the sampler is exact (up to round-off):
    ``1e-11 min(1, s_min^2) + 100 eps64 |m|_inf`` (``s_min`` the target's smallest std: a
    covariance error scales as ``s^2``; ``eps |m|`` is the round-off of a mean ``m``)."""
    lam = np.linalg.eigvalsh(np.atleast_2d(tgt.cov))
    m = float(np.max(np.abs(tgt.mean)))
    eps = float(np.finfo(np.float64).eps)
    return EXACT_WEAK_ERR * min(1.0, max(float(lam.min()), 0.0)) + 100.0 * eps * m


def _local_slopes(ns, es) -> np.ndarray:
    """``-d log e / d log N`` between successive step counts."""
    le = np.log(np.maximum(np.asarray(es, dtype=float), 1e-300))
    return -np.diff(le) / np.diff(np.log(np.asarray(ns, dtype=float)))


def _rising(local) -> bool:
    """Pre-asymptotic: the local slopes rise steadily (none falls by more than
    ``ASYMPTOTIC_TOL``, the last exceeds the previous by more than it), so a fit over them
    underestimates the order. Falling slopes (a bias or round-off floor), erratic ones (a
    schedule's own irregular levels) or agreeing ones are not a reason to wait."""
    local = np.asarray(local, dtype=float)
    return (
        len(local) >= 2
        and bool(np.all(np.diff(local) > -ASYMPTOTIC_TOL))
        and local[-1] - local[-2] > ASYMPTOTIC_TOL
    )


def _doubled(ad, n):
    n = 2 * n
    return n + 2 - n % 3 if getattr(ad, "sigma_range", False) else n


def _check_order(ad, spec_order, stated, n_list, d, rng):
    """Weak order: slope of the weak error against ``N`` on the stable step counts.

    Rule (one-sided): ``slope >= stated - ORDER_TOL`` holds (faster is reported, not failed).
    Stability: a step count whose law has ``KL(law || p_end)`` infinite or above ``KL_STABLE``
    is excluded (its error comes from instability, not from the method's order: torchsde's
    ``reversible_heun`` at N = 8, 16); an unstable count above a stable one fails (the error
    grows with N); fewer than three stable counts is inconclusive.
    Asymptotic regime: when the fit would fail while the local slopes still rise (e.g. a data
    std of 1e-4 on a grid reaching 2e-6: 0.43, 0.59, 0.76 at N = 16..128), or fewer than three
    counts are stable, the kit's own grids are extended by doubling N (at most
    ``EXTEND_DOUBLINGS`` times) until two successive local slopes agree within
    ``ASYMPTOTIC_TOL``; the order is then the slope of the last three counts. Still rising at
    the end of the budget (or on a grid the kit cannot extend): ``inconclusive: not asymptotic
    at N = ...``.
    """
    expected = stated if stated is not None else spec_order
    need = (expected - ORDER_TOL) if expected is not None else 0.5
    cols = ["N", "weak error", "KL(law||p_end)", "stable"]
    rows, errs, kls, ns_all = [], [], [], []
    floor = [0.0]

    def measure(n, verify):
        nodes, seg = ad.order_seg(n) if hasattr(ad, "order_seg") else ad.full(n)
        law = _push(_probe(ad, seg, d, rng, verify=verify), ad.marginal(nodes[0]))
        tgt = ad.marginal(nodes[-1])
        floor[0] = max(floor[0], _exact_floor(ad, tgt))
        k = _safe_kl(law, tgt)
        ns_all.append(n)
        errs.append(_weak_error(law, tgt))
        kls.append(k)
        rows.append([n, errs[-1], k, "yes" if math.isfinite(k) and k <= KL_STABLE else "no"])

    for n in n_list:
        measure(n, n == max(n_list))
    if np.all(np.array(errs) < floor[0]):
        return CheckResult(
            "weak-order",
            "holds",
            f"weak error < {floor[0]:.1e} at every N (exact sampler, up to round-off)",
            cols,
            rows,
            {"slope": math.inf, "order": math.inf},
        )
    measured = list(n_list)
    own_grid = getattr(ad, "single", None) is not None  # the kit chooses the levels
    limit = getattr(ad, "max_order_steps", _guard.MAX_ORDER_STEPS if own_grid else 0)
    doublings = 0
    reason = None  # why the step counts were extended
    legacy = {"slope": math.nan}  # the fit on the requested counts (what tables quote)
    while True:
        stable = np.array([r[-1] == "yes" for r in rows])
        first = int(np.argmax(stable)) if stable.any() else len(rows)
        k = len(measured)
        base = {"n": ns_all[:k], "err": errs[:k], "kl": kls[:k], "expected": expected, **legacy}
        if len(ns_all) > k:
            base["extended"] = {"n": ns_all[k:], "err": errs[k:], "kl": kls[k:]}
        if not stable[first:].all():
            bad = [n for n, ok in zip(ns_all[first:], stable[first:], strict=True) if not ok]
            return CheckResult(
                "weak-order",
                "fails",
                f"unstable: KL(law || p_end) is infinite or above {KL_STABLE:g} at N = {bad}, "
                "after smaller N were stable (the error grows with N)",
                cols,
                rows,
                {**base, "order": math.nan},
            )
        ns, es = ns_all[first:], errs[first:]
        nxt = _doubled(ad, ns_all[-1])
        can = doublings < EXTEND_DOUBLINGS and nxt <= limit
        if len(ns) < 3:
            if can:
                reason = reason or f"only {len(ns)} stable step counts"
                doublings += 1
                measure(nxt, True)
                continue
            unstable = [n for n, ok in zip(ns_all, stable, strict=True) if not ok]
            return CheckResult(
                "weak-order",
                "inconclusive",
                f"unstable at N = {unstable} (KL(law || p_end) infinite or above "
                f"{KL_STABLE:g}); only {len(ns)} stable step counts: a slope there would "
                "measure the instability, not the order (rerun with larger order_steps)",
                cols,
                rows,
                {**base, "order": math.nan},
            )
        fit = slice(-3, None) if reason else slice(None)
        slope = float(-np.polyfit(np.log(ns[fit]), np.log(np.maximum(es[fit], 1e-300)), 1)[0])
        local = _local_slopes(ns, es)
        if not doublings:
            legacy = {"slope": slope, "local": local.tolist()}
            base.update(legacy)
        if not (slope < need and _rising(local)):
            break
        if can:
            reason = reason or (
                "pre-asymptotic (local slopes " + ", ".join(f"{v:.2f}" for v in local) + " rising)"
            )
            doublings += 1
            measure(nxt, True)
            continue
        return CheckResult(
            "weak-order",
            "inconclusive",
            f"not asymptotic at N = {ns[0]}..{ns[-1]}: the local slopes "
            f"{', '.join(f'{v:.2f}' for v in local)} still rise (the leading error term does "
            f"not dominate yet; fit {slope:.2f}); rerun with larger order_steps",
            cols,
            rows,
            {**base, "order": slope, "order_local": local.tolist(), "asymptotic": False},
        )
    data = {
        **base,
        "order": slope,
        "order_local": local.tolist(),
        "stable_from": int(ns[0]),
        "asymptotic": True,
    }
    dropped = f"; N < {int(ns[0])} unstable, excluded" if first else ""
    note = (
        f"; N = {measured[0]}..{measured[-1]}: {reason}, extended to N = {ns_all[-1]}: the "
        f"order is the slope on N = {ns[-3]}..{ns[-1]}"
        if reason
        else ""
    )
    if expected is None:
        ok = slope > 0.5
        return CheckResult(
            "weak-order",
            "holds" if ok else "fails",
            f"slope {slope:.2f} (no stated order; convergent iff > 0.5){dropped}{note}",
            cols,
            rows,
            data,
        )
    ok = slope >= expected - ORDER_TOL
    faster = slope > expected + ORDER_TOL
    return CheckResult(
        "weak-order",
        "holds" if ok else "fails",
        f"observed weak order {slope:.2f} vs stated {expected} (rule: >= stated - {ORDER_TOL})"
        f"{'; faster than stated (reported, not failed)' if faster else ''}{dropped}{note}",
        cols,
        rows,
        data,
    )


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


OUTPUT_KL_STEPS = (10, 25, 50)


def _check_output_kl(ad, d, rng):
    """Exact consistency: the output law of the sampler's full discretisation (ending at 0) for
    ``N = 10, 25, 50``, started at the exact marginal of its first node, against the data."""
    rows, kls = [], []
    for n in OUTPUT_KL_STEPS:
        nodes, seg = ad.full(n, zero=True)
        maps = _probe(ad, seg, d, rng, verify=n == OUTPUT_KL_STEPS[-1])
        law = _push(maps, ad.marginal(nodes[0]))
        k = _safe_kl(law, ad.data)
        kls.append(k)
        rows.append([n, float(nodes[-1]), k])
    lo, hi = kls[-1], kls[0]
    ok = math.isfinite(lo) and lo <= max(hi / 4.0, 1e-12)
    return CheckResult(
        "output-kl",
        "holds" if ok else "fails",
        f"KL(output law || data) = {', '.join(f'{k:.2e}' for k in kls)} at N = "
        f"{', '.join(map(str, OUTPUT_KL_STEPS))} ({'falls' if ok else 'does not fall'} by "
        f"4x from N = {OUTPUT_KL_STEPS[0]} to {OUTPUT_KL_STEPS[-1]})",
        ["N", "last noise level", "KL(output law||data)"],
        rows,
        {"kl": kls, "n": list(OUTPUT_KL_STEPS)},
    )


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


@_guard.guarded
def check_sampler(
    sampler,
    convention: str = "k-diffusion",
    method: str | None = None,
    *,
    order: float | None = None,
    data=None,
    sde=None,
    quick: bool = True,
    seed: int = 0,
    name: str | None = None,
    level: float = 0.99,
    checks=None,
    backend: str = "auto",
    order_steps=None,
    **knobs,
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


def _guarded(name, check, *args):
    """``check(*args)``, or ``fails`` naming the step count and the sampler's own error when the
    sampler itself raised or produced NaN / inf (``verify.kit.checks.faults``)."""
    try:
        return check(*args)
    except SamplerFault as exc:
        return fault_result(name, exc)


_consistency = at_supported_steps(lambda *a: _check_consistency(*a))
_gamma = _prec.rerun_in_float64(lambda *a: _check_gamma(*a), reprobe=2)


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
