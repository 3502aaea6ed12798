r"""diffusers schedulers as published, driven by the conformance kit.

A scheduler is run as a user runs it: ``set_timesteps(N)``, then for each ``t`` of
``timesteps``: ``model_input = scale_model_input(sample, t)``, the model's output, and
``step(model_output, t, sample, ...)``; a fresh ``copy.deepcopy`` of the configured scheduler
per chain, so multistep state (``model_outputs``, ``step_index``, ...) starts empty.

**Noise levels.** Everything is reported in EDM coordinates ``x = x_0 + sigma eps``. The
training schedule ``alphas_cumprod`` gives ``sigma_j = sqrt((1 - abar_j)/abar_j)``; a
(possibly fractional) timestep ``t`` has the noise level ``sigma(t) = exp(interp(t, j, log
sigma_j))``, the inverse of the log-sigma interpolation the schedulers use for Karras sigmas
(``_sigma_to_t``). The model receives a VP input ``x_vp = x / sqrt(1 + sigma(t)^2)`` and returns
``eps = (x - D(x, sigma))/sigma`` (``prediction_type="epsilon"``), ``D`` (``"sample"``) or
``v = sqrt(abar) eps - sqrt(1 - abar) D`` (``"v_prediction"``), with the exact denoiser ``D``.
EDM schedulers (``EDMEulerScheduler``, ``EDMDPMSolverMultistepScheduler``: they have
``precondition_inputs``) use ``t = c_noise(sigma) = log(sigma)/4``, input ``c_in x`` and output
``F`` with ``D = c_skip x + c_out F`` (Karras et al. 2022, Table 1); ``c_skip`` and ``c_out`` are
read off the scheduler's own ``precondition_outputs`` (it is affine in ``F``).

The scheduler's sample is in VE coordinates (``x``) when ``init_noise_sigma > 1`` (Euler,
Heun, LMS, KDPM2, DPMSolverSDE, EDM) and in VP coordinates (``x / sqrt(1 + sigma^2)``)
otherwise (DDPM, DDIM, PNDM, DPM-Solver, UniPC, DEIS). The levels of a chain are the
scheduler's own: ``sigmas`` when it has them (one more than the step calls), else
``sigma(t)`` at the ``timesteps`` followed by the final level (the last of ``sigmas``, or
``final_alpha_cumprod``: DDIM, PNDM, or 1: DDPM).

**Noise.** DDIM and DPMSolverMultistep take ``variance_noise``; the other stochastic
schedulers draw with ``randn_tensor``, which the adapter replaces in the scheduler's module for
the duration of a chain; ``DPMSolverSDEScheduler`` draws from its ``noise_sampler`` (a
Brownian tree), which the adapter sets.

**Precision.** diffusers keeps its schedules in float32 (and DPMSolverMultistep casts the
sample to float32): the adapter's ``precision`` is the dtype of ``alphas_cumprod`` /
``sigmas`` / ``betas``, from which ``verify.kit.checks.precision`` derives the tolerances.
:meth:`SchedulerAdapter.float64` is the same scheduler rebuilt from its config with its
modules' ``float32`` read as float64 (``float64_modules``): the copy a check that fails in
float32 is rerun on, so that a gap from float32 rounding alone is named as such.

**Step counts.** A scheduler that raises or produces NaN at a step count is a finding
(:class:`SamplerFault`: the count, the call, its own error), never a crash of the kit; where
the kit chose the count itself (the consistency check's N = 1000), :meth:`supported_steps`
steps down to a count the scheduler runs and the check says so.
"""

from __future__ import annotations

import contextlib
import copy
import math
import sys

import numpy as np

from analytic import EDM
from verify.kit.checks.faults import NotDrivable, SamplerFault
from verify.kit.checks.precision import Precision, affine_tol, float64_modules

__all__ = ["DIFFUSERS", "SchedulerAdapter", "is_torch_scheduler", "scheduler"]

_NO_CLIP = {"clip_sample": False}
"""DDPM and DDIM clip the predicted x_0 to [-1, 1] by default (``clip_sample=True``, meant for
images): not affine, so the exact checks need ``clip_sample=False``."""

DIFFUSERS = {
    "DDPM": ("DDPMScheduler", _NO_CLIP, "ddpm", {}),
    "DDIM eta=0": ("DDIMScheduler", _NO_CLIP, "ddim", {"eta": 0.0}),
    "DDIM eta=1": ("DDIMScheduler", _NO_CLIP, "ddim", {"eta": 1.0}),
    "DDIM eta=0 trailing": (
        "DDIMScheduler",
        {**_NO_CLIP, "timestep_spacing": "trailing"},
        "ddim",
        {},
    ),
    "DDIM eta=0 v-prediction": (
        "DDIMScheduler",
        {**_NO_CLIP, "prediction_type": "v_prediction"},
        "ddim",
        {},
    ),
    "PNDM": ("PNDMScheduler", {}, "pndm", {}),
    "Euler": ("EulerDiscreteScheduler", {}, "euler", {}),
    "Euler karras": ("EulerDiscreteScheduler", {"use_karras_sigmas": True}, "euler", {}),
    "Euler s_churn=10": ("EulerDiscreteScheduler", {}, "euler", {"s_churn": 10.0}),
    "EulerAncestral": ("EulerAncestralDiscreteScheduler", {}, "euler_ancestral", {}),
    "Heun": ("HeunDiscreteScheduler", {}, "heun", {}),
    "LMS": ("LMSDiscreteScheduler", {}, "lms", {}),
    "KDPM2": ("KDPM2DiscreteScheduler", {}, "dpm_2", {}),
    "KDPM2Ancestral": ("KDPM2AncestralDiscreteScheduler", {}, "dpm_2_ancestral", {}),
    "DPMSolverMultistep": ("DPMSolverMultistepScheduler", {}, "dpmpp_2m", {}),
    "DPMSolverMultistep scaled_linear": (
        "DPMSolverMultistepScheduler",
        {"beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012},
        "dpmpp_2m",
        {},
    ),
    "DPMSolverMultistep cosine": (
        "DPMSolverMultistepScheduler",
        {"beta_schedule": "squaredcos_cap_v2"},
        "dpmpp_2m",
        {},
    ),
    "DPMSolverMultistep karras": (
        "DPMSolverMultistepScheduler",
        {"use_karras_sigmas": True},
        "dpmpp_2m",
        {},
    ),
    "DPMSolverMultistep order 3": (
        "DPMSolverMultistepScheduler",
        {"solver_order": 3},
        "dpmsolver_multistep",
        {},
    ),
    "DPMSolverMultistep dpmsolver": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "dpmsolver", "final_sigmas_type": "sigma_min"},
        "dpmsolver_multistep",
        {},
    ),
    "DPMSolverMultistep sde-dpmsolver++": (
        "DPMSolverMultistepScheduler",
        {"algorithm_type": "sde-dpmsolver++"},
        "dpmpp_2m_sde",
        {},
    ),
    "DPMSolverSinglestep": ("DPMSolverSinglestepScheduler", {}, "dpmsolver_singlestep", {}),
    "DPMSolverSDE": ("DPMSolverSDEScheduler", {}, "dpmpp_sde", {}),
    "UniPC": ("UniPCMultistepScheduler", {}, "unipc", {}),
    "DEIS": ("DEISMultistepScheduler", {}, "deis", {}),
    "EDMEuler": ("EDMEulerScheduler", {}, "euler", {}),
    "EDMDPMSolverMultistep": ("EDMDPMSolverMultistepScheduler", {}, "dpmpp_2m", {}),
}
"""name -> (diffusers class name, config overrides, stated method, step knobs)."""


STATED_ORDERS = {
    "DPMSolverMultistep order 3": 3,
    "DPMSolverMultistep dpmsolver": 2,
    "DPMSolverSinglestep": 2,
    "UniPC": 3,
    "DEIS": 2,
}
"""Stated weak orders of the rows whose rule has no reference in the kit (diffusers
documentation: ``solver_order``; UniPC: "the effective order of accuracy is solver_order + 1
due to the UniC")."""

QUICK_SKIP = ("LMS",)
"""Rows run at the full budget only: diffusers' LMS integrates its coefficients with
``scipy.integrate.quad`` on every call (about 20 s for the kit's probes)."""


def scheduler(name):
    """``(scheduler instance, stated method, knobs)`` of the table row ``name``."""
    import diffusers

    if name not in DIFFUSERS:
        raise ValueError(f"unknown diffusers scheduler {name!r}; known: {sorted(DIFFUSERS)}")
    cls, config, method, knobs = DIFFUSERS[name]
    return getattr(diffusers, cls)(**config), method, dict(knobs)


def is_torch_scheduler(obj) -> bool:
    """True for a real diffusers scheduler (a class of the ``diffusers`` package, or one whose
    ``alphas_cumprod`` is a torch tensor)."""
    cls = obj if isinstance(obj, type) else type(obj)
    if any(c.__module__.startswith("diffusers.") for c in cls.__mro__):
        return True
    ac = getattr(obj, "alphas_cumprod", None)
    return ac is not None and type(ac).__module__.startswith("torch")


def _f64(x) -> np.ndarray:
    if hasattr(x, "detach"):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


class SchedulerAdapter:
    """A real diffusers scheduler in the kit's adapter interface (EDM sigmas; see module)."""

    convention = "diffusers"
    single = None  # no free choice of step: the small-step gamma check is not available

    def __init__(self, sched, data, knobs, denoiser, promote=False):
        self.proto = _instance(sched)
        self.data, self.knobs, self._den = data, dict(knobs), denoiser
        self.promote = promote  # the float64 copy: its modules' float32 read as float64
        thresholds = (getattr(self.proto, "config", None) or {}).get("thresholding", False)
        self._trail = (1,) if thresholds else ()
        _drivable(self.proto)
        cfg = self.proto.config
        self.ptype = cfg.get("prediction_type", "epsilon")
        self.edm = hasattr(self.proto, "precondition_inputs")
        self.ve = float(self.proto.init_noise_sigma) > 1.0 + 1e-9
        if self.edm:
            self.log_sigmas = None
        else:
            ac = _f64(self.proto.alphas_cumprod)
            if not (np.all(np.isfinite(ac)) and np.all((ac > 0) & (ac < 1))):
                raise NotDrivable("alphas_cumprod must lie in (0, 1) (a noise schedule)")
            self.log_sigmas = 0.5 * np.log((1.0 - ac) / ac)
        self.dtype, attr = _scheduler_dtype(self.proto)
        self.precision = Precision(self.dtype, f"its {attr}")
        self.two_stage = int(getattr(self.proto, "order", 1)) == 2
        # churn depends on the chain's length (S_churn / N): whole chains, not single steps
        self.chains = self.two_stage or float(self.knobs.get("s_churn", 0.0)) > 0
        self._cache = {}
        top = float(cfg.get("sigma_max") or 0.0) if self.edm else float(np.exp(self.log_sigmas[-1]))
        self.sde = EDM(1.05 * max(top, 1.0))

    @property
    def max_order_steps(self) -> int:
        """The largest step count the weak-order check extends a pre-asymptotic sweep to:
        0.64 of the training steps (640 of 1000, the full budget's largest count), below the
        counts where spaced timesteps start to repeat."""
        return int(0.64 * int(self.proto.config.get("num_train_timesteps", 1000) or 1000))

    @property
    def affine_rtol(self):
        return affine_tol(self)[0]

    def float64(self):
        """The same scheduler in float64 (rebuilt from its config inside
        :func:`float64_modules`; its step calls run there too), or ``None`` when it is
        float64 already or cannot be rebuilt."""
        if self.promote or not self.precision.reduced:
            return None
        try:
            with float64_modules(self.proto), _quiet():
                s64 = type(self.proto).from_config(self.proto.config)
            return SchedulerAdapter(s64, self.data, self.knobs, self._den, promote=True)
        except Exception:  # noqa: BLE001 - no copy: the check keeps its float32 verdict
            return None

    def with_config(self, **overrides):
        """The same scheduler rebuilt with config ``overrides`` (e.g. ``clip_sample=False``)."""
        with _quiet():
            s = type(self.proto).from_config(self.proto.config, **overrides)
        return SchedulerAdapter(s, self.data, self.knobs, self._den, self.promote)

    def with_data(self, data):
        """The same scheduler on another target."""
        from verify.kit.denoisers import _denoiser

        return SchedulerAdapter(self.proto, data, self.knobs, _denoiser(data), self.promote)

    def _precise(self, s):
        return float64_modules(s) if self.promote else contextlib.nullcontext()

    def supported_steps(self, n, lowest=100):
        """``n`` if the scheduler runs ``n`` steps (one zero row through the whole chain),
        else the first of ``n // 2, n // 4, ...`` (not below ``lowest``) it runs; ``(count,
        fault at n or None)``. Raises the last fault if none runs."""
        first = None
        while True:
            try:
                self.run(np.zeros((1, self.data.dim)), (n, 0, self._calls(n)), _Zero())
                return n, first
            except SamplerFault as exc:
                first = first or exc
                if n // 2 < lowest:
                    raise first from exc
                n //= 2

    # ------------------------------------------------------------------ the schedule
    def _fresh(self, n):
        if n not in self._cache:
            s = copy.deepcopy(self.proto)
            try:
                with _quiet(), self._precise(s):
                    s.set_timesteps(n)
                lv = self._levels(s)
            except (ArithmeticError, LookupError, RuntimeError, TypeError, ValueError) as exc:
                raise SamplerFault(n, "set_timesteps", exc) from exc
            if not np.all(np.isfinite(lv)):
                raise SamplerFault(n, "set_timesteps", "its noise levels contain NaN or inf")
            self._cache[n] = (s, lv)
        s, lv = self._cache[n]
        return copy.deepcopy(s), lv

    def _levels(self, s):
        """EDM sigma of the sample before each step call, and after the last one."""
        ts = _f64(s.timesteps)
        sig = getattr(s, "sigmas", None)
        if sig is not None and len(sig) == len(ts) + 1:
            return _f64(sig)
        lv = np.array([self._sigma_of_t(float(t)) for t in ts])
        if sig is not None:  # KDPM2: interleaved sigmas; its last entry is the final level
            return np.append(lv, float(_f64(sig)[-1]))
        final = getattr(s, "final_alpha_cumprod", None)
        final = 1.0 if final is None else float(_f64(final))
        return np.append(lv, math.sqrt(max(1.0 - final, 0.0) / final))

    def _distinct(self, lv):
        keep = np.append(True, np.abs(np.diff(lv)) > 1e-12 * np.maximum(lv[:-1], 1e-300))
        return lv[keep]

    def nodes(self, n, zero=False):
        """The levels between complete steps: every level for one-call steps, every other
        level for two-stage schedulers (Heun, KDPM2: the odd entries are their intermediate
        levels), always ending at the final one."""
        lv = self._fresh(n)[1]
        if self.two_stage:
            lv = np.append(lv[0 : len(lv) - 1 : 2], lv[-1])
        return self._distinct(lv)

    def order_seg(self, n):
        """All steps but the last (which goes to the final level, usually sigma = 0, often with
        a special rule): the weak order of the method itself, as on the k-diffusion grids. The
        target is the level the sampler has reached after its calls (the level its next call
        evaluates the model at), so warm-up schedulers that repeat timesteps (PNDM's PRK
        steps) are compared at the level they reached, not at the ``k``-th distinct level."""
        lv = self._fresh(n)[1]
        k = len(lv) - 1 - (2 if self.two_stage else 1)  # calls up to the last complete step
        return np.array([lv[0], lv[k]]), (n, 0, k)

    def _calls(self, n):
        return len(self._fresh(n)[1]) - 1

    def full(self, n, zero=False):
        return self.nodes(n), (n, 0, self._calls(n))

    def steps(self, n):
        lv = self._fresh(n)[1]
        return [(lv[k], lv[k + 1], (n, k, k + 1)) for k in range(n)]

    def prefix(self, n, k):
        """Step calls that complete the first ``k`` steps (two per step for Heun-type
        schedulers, whose ``order`` is 2), capped at the whole chain."""
        return (n, 0, min(2 * k if self.two_stage else k, self._calls(n)))

    def ref_knobs(self, n):
        """Knobs of the reference rule for prefixes of an ``n``-step chain."""
        extra = {"churn_steps": n} if float(self.knobs.get("s_churn", 0.0)) > 0 else {}
        return {**self.knobs, **extra}

    def ref_nodes(self, n, k):
        return self.nodes(n)[: k + 1]

    def marginal(self, t):
        return self.sde.marginal(self.data, float(t)) if t > 0 else self.data

    # ------------------------------------------------------------------ the model
    def _sigma_of_t(self, t):
        if self.edm:
            return math.exp(4.0 * t)
        j = np.arange(len(self.log_sigmas), dtype=np.float64)
        return float(np.exp(np.interp(t, j, self.log_sigmas)))

    def _model_output(self, sched, x_in, t):
        import torch

        sigma = self._sigma_of_t(float(t))
        if self.edm:
            sd = float(sched.config.sigma_data)
            x = x_in * math.sqrt(sigma * sigma + sd * sd)
        else:
            x = x_in * math.sqrt(1.0 + sigma * sigma)
        D = self._den(x, sigma)
        if self.edm:
            xt = torch.from_numpy(x)
            skip = _f64(sched.precondition_outputs(xt, torch.zeros_like(xt), sigma))
            c_out = _f64(sched.precondition_outputs(torch.zeros(1), torch.ones(1), sigma))[0]
            return (D - skip) / c_out
        eps = (x - D) / sigma
        if self.ptype == "epsilon":
            return eps
        if self.ptype == "sample":
            return D
        ab = 1.0 / (1.0 + sigma * sigma)
        return math.sqrt(ab) * eps - math.sqrt(1.0 - ab) * D

    def _scale(self, level):
        return 1.0 if self.ve else 1.0 / math.sqrt(1.0 + level * level)

    # ------------------------------------------------------------------ one chain
    def run(self, x, seg, source):
        import torch

        from verify.kit.adapters.torch_bridge import single_thread

        n, k0, k1 = seg
        sched, lv = self._fresh(n)
        ts = sched.timesteps
        sample = torch.from_numpy(np.array(x, dtype=np.float64) * self._scale(lv[k0]))
        # image-like (n, d, 1): thresholding reshapes to (batch, channels * prod(rest)) and
        # np.prod(()) is a float
        sample = sample.reshape(*sample.shape, *self._trail)
        shape = tuple(sample.shape)

        def noise(*args, **kwargs):  # drawn (n, d): the kit's sources record 2-D draws
            return torch.from_numpy(source.draw(tuple(x.shape))).reshape(shape)

        kw = dict(self.knobs)
        takes_vn = "variance_noise" in _params(sched.step)
        if hasattr(sched, "noise_sampler"):
            sched.noise_sampler = lambda sigma, sigma_next: noise()
        if k1 > len(ts):
            raise SamplerFault(n, k1 - 1, f"only {len(ts)} timesteps for {k1} step calls")
        with _patched_randn(sched, noise), single_thread(), _quiet(), self._precise(sched):
            for i in range(k0, k1):
                t = ts[i]
                try:
                    x_in = _f64(sched.scale_model_input(sample, t)).reshape(len(x), -1)
                    out = torch.from_numpy(self._model_output(sched, x_in, t)).reshape(shape)
                    if takes_vn and _stochastic_step(sched, kw):
                        kw["variance_noise"] = noise()
                    res = sched.step(out, t, sample, return_dict=False, **kw)
                except (ArithmeticError, LookupError, RuntimeError, TypeError, ValueError) as exc:
                    raise SamplerFault(n, i, exc) from exc
                sample = res[0].to(torch.float64)
                if not bool(torch.isfinite(sample).all()):
                    dup = " (a repeated timestep: a zero-length step)" if _repeats(ts, i) else ""
                    raise SamplerFault(n, i, f"its sample is NaN or inf after step {i}{dup}")
        return _f64(sample).reshape(len(x), -1) / self._scale(lv[k1])


def _instance(sched):
    if not isinstance(sched, type):
        return sched
    try:
        with _quiet():
            return sched()
    except Exception as exc:  # noqa: BLE001 - any constructor failure: the class is not drivable
        raise NotDrivable(
            f"cannot construct {sched.__name__}() without arguments ({type(exc).__name__}: "
            f"{exc}); pass a configured instance"
        ) from exc


def _drivable(s):
    """Raise :class:`NotDrivable` naming why the kit cannot run ``s`` as a score-based
    sampler (VP ``alphas_cumprod`` or EDM preconditioning, epsilon / sample / v output)."""
    name = type(s).__name__
    if "Inverse" in name:
        raise NotDrivable(f"{name} inverts (data -> noise): not a sampler")
    for attr in ("set_timesteps", "step"):
        if not callable(getattr(s, attr, None)):
            raise NotDrivable(f"{name} has no {attr}() (not a diffusers sampling scheduler)")
    extra = [
        p
        for p, v in list(_params(s.step).items())[3:]
        if v.default is v.empty and v.kind is v.POSITIONAL_OR_KEYWORD
    ]
    if extra:
        raise NotDrivable(f"{name}.step needs {extra} (inpainting / guidance inputs)")
    edm = hasattr(s, "precondition_inputs") and hasattr(s, "precondition_outputs")
    if not edm and getattr(s, "alphas_cumprod", None) is None:
        raise NotDrivable(
            f"{name} has neither alphas_cumprod nor EDM preconditioning: not a VP / VE "
            "score-based scheduler (flow matching, consistency, discrete-token schedulers are "
            "outside the kit's conventions)"
        )
    cfg = getattr(s, "config", {}) or {}
    ptype = cfg.get("prediction_type", "epsilon")
    if ptype not in ("epsilon", "sample", "v_prediction"):
        raise NotDrivable(f"{name}: unsupported prediction_type {ptype!r}")
    if "CosineDPMSolver" in name:
        raise NotDrivable(f"{name}: its cosine sigma <-> timestep map is not the kit's")


def _scheduler_dtype(s):
    """``(dtype, attribute)``: the floating dtype the scheduler keeps its schedule in
    (``alphas_cumprod`` / ``sigmas`` / ``betas``) as a NumPy dtype, and where it was read."""
    for attr in ("alphas_cumprod", "sigmas", "betas"):
        v = getattr(s, attr, None)
        if v is not None and hasattr(v, "dtype") and getattr(v.dtype, "is_floating_point", False):
            return np.dtype(str(v.dtype).replace("torch.", "")), attr
    return np.dtype(np.float64), "the kit's float64 inputs"


class _Zero:
    """Zero noise (the kit's noise-source interface)."""

    def draw(self, shape):
        return np.zeros(shape)


def _repeats(ts, i):
    t = _f64(ts)
    return (i + 1 < len(t) and t[i] == t[i + 1]) or (i > 0 and t[i] == t[i - 1])


def _params(fn):
    import inspect

    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}


def _stochastic_step(sched, kw):
    """Whether this ``step`` call draws ``variance_noise`` (DDIM with eta > 0, SDE-DPM-Solver)."""
    algo = sched.config.get("algorithm_type", "")
    if algo in ("sde-dpmsolver", "sde-dpmsolver++"):
        return True
    return float(kw.get("eta", 0.0)) > 0.0


@contextlib.contextmanager
def _patched_randn(sched, noise):
    """``randn_tensor`` of the scheduler's modules (its class and the classes it derives
    from) returns the kit's noise within the block."""
    mods = {sys.modules.get(c.__module__) for c in type(sched).__mro__}
    saved = [(m, m.randn_tensor) for m in mods if m is not None and hasattr(m, "randn_tensor")]
    for m, _ in saved:
        m.randn_tensor = noise
    try:
        yield
    finally:
        for m, real in saved:
            m.randn_tensor = real


@contextlib.contextmanager
def _quiet():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield
