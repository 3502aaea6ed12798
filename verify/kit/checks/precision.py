r"""Tolerances from the precision a sampler computes in, and the float64 rerun.

The exact checks compare a probed law with an exact one; round-off of the sampler's own
arithmetic is the floor of every gap. The kit detects the floating dtype the sampler computes
in (a diffusers scheduler: the dtype of its schedule tensors ``alphas_cumprod`` / ``sigmas`` /
``betas``; a k-diffusion-convention sampler: the dtype of the tensors / arrays it returns) and
sets each tolerance to

$$\mathrm{tol} = \max(\mathrm{tol}_{64},\ c\,\varepsilon\,s),$$

with $\varepsilon$ the dtype's machine epsilon ($2^{-23}$ for float32), $c$ the check's
factor and $s$ its scale (the number of step calls whose round-off accumulates):

* affinity residual: $\mathrm{tol}_{64} = 10^{-7}$, $c = 1000$ (float32: $1.2 \cdot 10^{-4}$);
* step law and gamma: $\mathrm{tol}_{64} = 10^{-6}$, $c = 50$ per step call.

**The float64 rerun.** Where the kit can rerun the code in float64 (a diffusers scheduler
rebuilt from its config with the ``float32`` of its modules' ``torch`` / ``numpy`` read as
``float64``: :func:`float64_modules`), a check that fails in the sampler's own precision is
rerun on that copy (:func:`rerun_in_float64`); a gap that vanishes there (the copy's check
holds at the float64 tolerances) is float32 rounding, and the check holds saying so by name;
a gap that stays is the sampler's and the check fails as before.
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np

__all__ = [
    "Precision",
    "affine_tol",
    "float64_modules",
    "float_dtype",
    "precision_of",
    "rerun_in_float64",
    "rerun_steps_in_float64",
    "step_length_counts",
    "step_tol",
]

AFFINE_FLOOR, AFFINE_ULPS = 1e-7, 1000.0
STEP_FLOOR, STEP_ULPS = 1e-6, 50.0


def float_dtype(dt):
    """A NumPy floating dtype for a NumPy or torch dtype (``"bfloat16"``; ``None`` if not
    floating)."""
    if dt is None:
        return None
    name = str(dt).replace("torch.", "")
    if name == "bfloat16":
        return "bfloat16"
    try:
        d = np.dtype(dt) if not str(dt).startswith("torch.") else np.dtype(name)
    except TypeError:
        return None
    return d if np.issubdtype(d, np.floating) else None


def _eps(dt):
    if dt == "bfloat16":
        return 2.0**-7
    return float(np.finfo(dt).eps)


_SHORT = {"float64": "eps64", "float32": "eps32", "float16": "eps16", "bfloat16": "eps_bf16"}


class Precision:
    """The lowest precision seen: ``name`` (``"float64"``...), ``eps`` and ``source`` (what
    showed it, e.g. ``"its alphas_cumprod"``)."""

    def __init__(self, dtype=np.float64, source="default"):
        self.name, self.eps, self.source = "float64", _eps(np.float64), source
        self.note(dtype, source)

    def note(self, dtype, source):
        dt = float_dtype(dtype)
        if dt is not None and _eps(dt) > self.eps:
            self.name, self.eps, self.source = str(dt), _eps(dt), source

    @property
    def reduced(self) -> bool:
        return self.eps > _eps(np.float64)

    def tol(self, floor, ulps, scale=1):
        """``(tolerance, why)``: ``max(floor, ulps eps scale)`` and the sentence saying so."""
        tol = max(floor, ulps * self.eps * max(scale, 1))
        if tol <= floor:
            return tol, f"{tol:.2g} (float64 tolerance)"
        sc = f" x {scale} step calls" if scale > 1 else ""
        return tol, (
            f"{tol:.2g} ({self.name}: {ulps:g} {_SHORT.get(self.name, 'eps')}{sc}, the "
            f"precision of {self.source})"
        )


def precision_of(adapter) -> Precision:
    return getattr(adapter, "precision", None) or Precision()


def affine_tol(adapter):
    """``(tolerance, why)`` of the affinity residual."""
    return precision_of(adapter).tol(AFFINE_FLOOR, AFFINE_ULPS)


def step_tol(adapter, scale=1):
    """``(tolerance, why)`` of the step-law and gamma gaps after ``scale`` step calls."""
    return precision_of(adapter).tol(STEP_FLOOR, STEP_ULPS, scale)


# ------------------------------------------------------------------ the float64 copy
class _Float64Names:
    """A module proxy whose ``float32`` is its ``float64`` (``torch`` or ``numpy``)."""

    def __init__(self, mod):
        self._mod = mod

    def __getattr__(self, name):
        if name == "float32":
            return self._mod.float64
        return getattr(self._mod, name)


@contextlib.contextmanager
def float64_modules(obj):
    """Within the block the modules of ``type(obj)`` and its bases read ``torch.float32`` and
    ``np.float32`` as float64 (their ``torch`` / ``np`` globals are proxies), so the code of
    the class computes in float64 where it asked for float32."""
    import torch

    mods = {sys.modules.get(c.__module__) for c in type(obj).__mro__}
    saved = []
    for m in mods:
        if m is None or m.__name__ in ("builtins", "torch", "numpy"):
            continue
        for name, real in (("torch", torch), ("np", np), ("numpy", np)):
            if getattr(m, name, None) is real:
                saved.append((m, name, real))
                setattr(m, name, _Float64Names(real))
    try:
        yield
    finally:
        for m, name, real in saved:
            setattr(m, name, real)


def step_length_counts(adapter, t, s) -> bool:
    """Whether the step ``t -> s`` is long enough to read a noise ratio from: ``t - s >
    max(1e-9, 16 eps) t`` (DDIM with ``set_alpha_to_one=False`` ends with a step from
    ``alphas_cumprod[0]`` to itself, 1 ulp long in float64 sigma: no noise, no information)."""
    return bool(s < t and (t - s) > max(1e-9, 16.0 * precision_of(adapter).eps) * abs(t))


def rerun_in_float64(check, reprobe=None):
    """``check(ad, ...)``; when it fails for a reduced-precision adapter that has a float64
    copy (``ad.float64()``), the same check on the copy: a pass there attributes the gap to
    precision by name (``holds``, both numbers in the reason), else the original ``fails``.
    ``reprobe``: the index (in ``args``) of probes made on ``ad``, emptied for the copy so that
    it probes itself."""

    def run(ad, *args):
        res = check(ad, *args)
        if res.verdict != "fails" or not precision_of(ad).reduced or "fault" in res.data:
            return res
        if not _could_be_rounding(res, precision_of(ad)):
            p = precision_of(ad)
            res.reason += f" (computed in {p.name}; far above {p.name} round-off: not precision)"
            return res
        twin = ad.float64() if hasattr(ad, "float64") else None
        if twin is None:
            res.reason += f" (computed in {precision_of(ad).name}; no float64 copy to rerun)"
            return res
        args64 = list(args)
        if reprobe is not None:
            args64[reprobe] = []
        try:
            res64 = check(twin, *args64)
        except Exception as exc:  # noqa: BLE001 - the copy failing leaves the original verdict
            res.reason += f" (the float64 copy could not be run: {type(exc).__name__}: {exc})"
            return res
        p = precision_of(ad)
        if res64.verdict == "holds":
            res.verdict = "holds"
            res.reason = (
                f"the gap is {p.name} rounding (precision), not the method: in {p.name}, "
                f"{res.reason}; a float64 copy of the same code ({p.source} and its {p.name} "
                f"casts in float64): {res64.reason}"
            )
            res.data = {**res.data, "precision": p.name, "float64": res64.data}
        else:
            res.reason += f"; not precision: the float64 copy also {res64.verdict}: {res64.reason}"
        return res

    run.__name__ = getattr(check, "__name__", "check")
    return run


PLAUSIBLE_TOLS, PLAUSIBLE_ULPS = 1000.0, 1e4


def _could_be_rounding(res, p) -> bool:
    """Whether a failing result is near enough to round-off to be worth the float64 rerun:
    a gap within ``1000`` tolerances (``data["worst"]``, ``data["tol"]``), or weak errors /
    KLs that reach ``1e4 eps`` (a precision floor can only bend a slope that comes near it).
    Others (a weak error of 1e-2 at every N) cannot be float32 rounding."""
    d = res.data
    if "worst" in d and "tol" in d:
        return d["worst"] <= PLAUSIBLE_TOLS * d["tol"]
    vals = d.get("err") or d.get("kl")
    if vals:
        return min(vals) <= PLAUSIBLE_ULPS * p.eps
    return True


def rerun_steps_in_float64(check_steps, ad, *args):
    """:func:`rerun_in_float64` for the step-law check, which returns ``(result, probes)``
    (the probes stay the sampler's own: the gamma check reruns its own)."""
    kept = []

    def result_only(a, *rest):
        res, probes = check_steps(a, *rest)
        if a is ad:
            kept.append(probes)
        return res

    res = rerun_in_float64(result_only)(ad, *args)
    return res, kept[0]
