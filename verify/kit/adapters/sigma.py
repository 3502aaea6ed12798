"""The k-diffusion and ``ours`` conventions: the kit chooses the grid (Karras, rho = 7) and calls
the user's sampler on it (NumPy arrays or float64 torch tensors)."""

from __future__ import annotations

import importlib.util
import inspect
import math
import warnings

import numpy as np

from analytic import EDM
from verify.kit import guard_call, guard_scale
from verify.kit.checks import precision as _prec
from verify.kit.denoisers import _denoiser, _kd_model
from verify.kit.noise import _SourceGenerator

__all__ = ["BACKENDS", "RHO", "SIGMA_MAX", "SIGMA_MIN"]


SIGMA_MAX, SIGMA_MIN, RHO = 20.0, 0.02, 7.0
STEP_TOL = 1e-6


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
        self.sigma_min = guard_scale.grid_sigma_min(data, SIGMA_MIN)
        self.step_tol = guard_scale.scale_tolerance(data, STEP_TOL)
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
        return guard_scale.probe_center(self.data, alpha)

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
            with guard_call.SamplerCall(self.sampler, x, grid, seg, "ours") as call:
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
            with guard_call.SamplerCall(self.sampler, x, grid, seg) as call:
                out = self.sampler(call.model(self.model), x, *args, **extra, **kw)
        except guard_call.SamplerProblem as problem:
            if not (
                self.backend == "auto"
                and guard_call.torch_type_failure(problem.exc)
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
                with guard_call.SamplerCall(self.sampler, xt, grid, seg) as call:
                    out = self.sampler(call.model(self._torch_model), xt, *args, **extra, **kw)
        finally:
            torch.set_default_dtype(dtype)
        self.precision.note(getattr(out, "dtype", None), "its output")
        return call.output(out)

    def marginal(self, t):
        return self.sde.marginal(self.data, float(t)) if t > 0 else self.data
