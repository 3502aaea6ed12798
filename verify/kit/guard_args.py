r"""Validation of ``check_sampler``'s arguments, each rejected with a message naming it.

``seed``, ``level``, ``order``, ``order_steps`` (capped at :data:`MAX_ORDER_STEPS`: the probe
batch of an ``N``-step grid has ``1 + d + 3 (N + 2) d`` rows, so one probe costs
``O(N^2)``), the knobs (NaN never; the stochasticity knobs finite and ``>= 0``), the
sampler's signature against its convention (a knob the sampler does not take, or a sampler
that cannot be called as the convention calls it) and the attributes of a duck-typed
scheduler (``step``, ``set_timesteps``, ``alphas_cumprod``; ``timesteps`` after
``set_timesteps``: :func:`scheduler_timesteps`).
"""

from __future__ import annotations

import inspect
import math

import numpy as np

from verify.kit.guard_call import describe as _describe

__all__ = ["MAX_ORDER_STEPS", "scheduler_timesteps", "validate_arguments"]

MAX_ORDER_STEPS = 4096
"""Largest step count of ``order_steps`` (a probe of ``N`` steps costs ``O(N^2)``)."""
MAX_ORDER_COUNTS = 12
NONNEGATIVE_KNOBS = ("eta", "s_churn", "s_noise", "gamma", "r", "s_tmin")


def _finite_number(x):
    return isinstance(x, int | float | np.integer | np.floating) and not isinstance(x, bool)


def validate_arguments(args: dict) -> None:
    """``ValueError`` naming the argument for nonsense (module docstring)."""
    seed = args.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    level = args.get("level", 0.99)
    if not _finite_number(level) or not 0.0 < float(level) < 1.0:
        raise ValueError(f"level must be a confidence level in (0, 1), got {level!r}")
    order = args.get("order")
    if order is not None and (
        not _finite_number(order) or not math.isfinite(float(order)) or float(order) <= 0
    ):
        raise ValueError(
            f"order must be a finite positive number (the stated order), got {order!r}"
        )
    steps = args.get("order_steps")
    if steps is not None:
        try:
            vals = [int(n) for n in steps]
        except (TypeError, ValueError):
            raise ValueError(f"order_steps must be integers, got {steps!r}") from None
        if vals and max(vals) > MAX_ORDER_STEPS:
            d = getattr(args.get("data"), "dim", 2) or 2
            n = max(vals)
            raise ValueError(
                f"order_steps up to {MAX_ORDER_STEPS}, got {n}: the probe of an N-step grid runs "
                f"{1 + d + 3 * (n + 2) * d} rows through N steps (cost grows as N^2)"
            )
        if len(vals) > MAX_ORDER_COUNTS:
            raise ValueError(f"at most {MAX_ORDER_COUNTS} order_steps, got {len(vals)}")
    for k, v in (args.get("knobs") or {}).items():
        if _finite_number(v) or isinstance(v, complex):
            if isinstance(v, complex) or math.isnan(float(v)):
                raise ValueError(f"knob {k} must be a real number, got {v!r}")
            if k in NONNEGATIVE_KNOBS and not (math.isfinite(float(v)) and float(v) >= 0):
                raise ValueError(f"knob {k} must be finite and >= 0, got {v!r}")
    sampler, convention = args.get("sampler"), args.get("convention", "k-diffusion")
    if convention in ("k-diffusion", "ours"):
        _check_signature(sampler, convention, args.get("knobs") or {})
    elif convention == "diffusers":
        _check_scheduler(sampler)


_KD_NAMES = {"sigmas", "noise_sampler", "extra_args", "callback", "disable", "sigma_min"}
_OURS_NAMES = {"score", "grid", "rng"}


def _check_signature(sampler, convention, knobs):
    if isinstance(sampler, type) or hasattr(sampler, "set_timesteps"):
        raise ValueError(
            f"{convention!r} calls a function; {_name(sampler)} looks like a diffusers scheduler "
            "(use convention='diffusers')"
        )
    if not callable(sampler):
        raise ValueError(f"the sampler must be callable, got {_describe(sampler)}")
    try:
        sig = inspect.signature(sampler)
    except (TypeError, ValueError):
        return  # a builtin or C function: nothing to compare
    names = set(sig.parameters)
    if convention == "ours" and names & _KD_NAMES and not names & _OURS_NAMES:
        raise ValueError(
            f"{_name(sampler)} takes ({', '.join(sig.parameters)}): the k-diffusion convention "
            "sampler(model, x, sigmas, ...); convention 'ours' calls sampler(score, x, grid, rng)"
        )
    if convention == "k-diffusion" and "rng" in names and not names & _KD_NAMES:
        raise ValueError(
            f"{_name(sampler)} takes ({', '.join(sig.parameters)}): our convention "
            "sampler(score, x, grid, rng); convention 'k-diffusion' calls sampler(model, x, "
            "sigmas, noise_sampler=..., **knobs)"
        )
    if convention == "ours":
        try:
            sig.bind(None, None, None, None)
        except TypeError as exc:
            raise ValueError(
                f"{_name(sampler)} cannot be called as sampler(score, x, grid, rng): {exc}"
            ) from None
        return
    ranged = "sigma_min" in names and "sigma_max" in names and "sigmas" not in names
    pos = () if ranged else (None,)
    kw = {"sigma_min": 0, "sigma_max": 1} if ranged else {}
    has_var_kw = any(p.kind is p.VAR_KEYWORD for p in sig.parameters.values())
    for k in knobs:
        if k not in names and not has_var_kw:
            raise ValueError(
                f"knob {k!r} is not a parameter of {_name(sampler)} (its parameters: "
                f"{', '.join(sig.parameters)})"
            )
    try:
        sig.bind_partial(None, None, *pos, **kw, **knobs)
        required = [
            p.name
            for p in list(sig.parameters.values())[2 + len(pos) :]
            if p.default is p.empty
            and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
            and p.name not in knobs
            and p.name not in kw
            and p.name not in ("n", "noise_sampler")
        ]
    except TypeError as exc:
        raise ValueError(
            f"{_name(sampler)} cannot be called as sampler(model, x, sigmas, **knobs): {exc}"
        ) from None
    if required:
        raise ValueError(
            f"{_name(sampler)} needs {', '.join(required)} (the kit calls sampler(model, x, "
            "sigmas, noise_sampler=..., **knobs); pass them as knobs)"
        )


def _check_scheduler(sched):
    """Duck-typed schedulers: the attributes the kit uses, each named when missing or wrong."""
    from verify.kit.adapters import schedulers as _sched

    if _sched.is_torch_scheduler(sched):
        return
    obj = sched
    if isinstance(sched, type):
        try:
            obj = sched()
        except Exception as exc:  # the user's constructor: its own message
            raise ValueError(
                f"scheduler class {_name(sched)} cannot be built without arguments: "
                f"{type(exc).__name__}: {exc}"
            ) from None
    for attr in ("step", "set_timesteps"):
        if not callable(getattr(obj, attr, None)):
            raise ValueError(
                f"scheduler {_name(sched)}: {attr} must be a method, got "
                f"{_describe(getattr(obj, attr, None))}"
            )
    ac = getattr(obj, "alphas_cumprod", None)
    try:
        arr = np.asarray(ac, dtype=np.float64).reshape(-1) if ac is not None else None
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.size == 0:
        raise ValueError(
            f"scheduler {_name(sched)}: alphas_cumprod must be a non-empty array, got "
            f"{_describe(ac)}"
        )
    if not np.all(np.isfinite(arr)) or np.any(arr <= 0) or np.any(arr > 1):
        bad = arr[~(np.isfinite(arr) & (arr > 0) & (arr <= 1))][0]
        raise ValueError(
            f"scheduler {_name(sched)}: alphas_cumprod must lie in (0, 1], has {bad:g}"
        )


def scheduler_timesteps(sched, n, n_train):
    """``sched.timesteps`` after ``set_timesteps(n)`` as int indices into ``alphas_cumprod``
    (``n_train`` entries); a ``ValueError`` naming the attribute if they are not."""
    ts = getattr(sched, "timesteps", None)
    try:
        arr = np.asarray(ts, dtype=np.float64).reshape(-1) if ts is not None else None
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.size == 0 or not np.all(np.isfinite(arr)):
        raise ValueError(
            f"scheduler {_name(type(sched))}: timesteps after set_timesteps({n}) must be a "
            f"non-empty array of integers, got {_describe(ts)}"
        )
    idx = arr.astype(np.int64)
    if np.any(idx < 0) or np.any(idx >= n_train):
        raise ValueError(
            f"scheduler {_name(type(sched))}: timesteps after set_timesteps({n}) must index "
            f"alphas_cumprod (0 .. {n_train - 1}), has {int(idx[(idx < 0) | (idx >= n_train)][0])}"
        )
    return idx


def _name(obj):
    return getattr(obj, "__qualname__", None) or type(obj).__qualname__
