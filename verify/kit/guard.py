r"""The kit's guard around a user's sampler: every sampler gets a verdict, never a crash of the kit.

``verify.kit.conformance.check_sampler`` runs someone else's code. This module is what stands
between that code and the kit:

* **Arguments** (:func:`validate_arguments`): ``seed``, ``level``, ``order``, ``order_steps``
  (capped at :data:`MAX_ORDER_STEPS`: the probe batch of an ``N``-step grid has ``1 + d + 3 (N +
  2) d`` rows, so one probe costs ``O(N^2)``), the knobs (NaN never; the stochasticity knobs
  finite and ``>= 0``), the sampler's signature against its convention (a knob the sampler does
  not take, or a sampler that cannot be called as the convention calls it, is a ``ValueError``
  naming it) and the attributes of a duck-typed scheduler.
* **One call** (:class:`SamplerCall`, used by the adapter at the one place it calls the
  sampler): the sampler gets *copies* of the kit's input and grid, which must come back
  unchanged; the denoiser / score it is handed refuses a negative or NaN ``sigma`` / ``t``;
  what it returns must be an array of shape ``(n, d)`` of real floats (complex output with a
  nonzero imaginary part, NaN and inf are named, with the denoiser call where NaN first
  appeared). A raised exception (any ``BaseException``: ``SystemExit`` and
  ``KeyboardInterrupt`` too) becomes a :class:`SamplerProblem` carrying the sampler's own
  exception and traceback.
* **The run** (:func:`guarded`, the decorator of ``check_sampler``): a :class:`SamplerProblem`
  ends the run with a report whose check is ``error`` (the sampler raised, returned the wrong
  type or shape, or gave no answer in time) or ``fails`` (NaN / inf, complex, a bad sigma, an
  array written in place), the checks already done kept; ``report.assert_ok()`` raises the
  sampler's own exception.
* **A time limit per sampler call** (``timeout=``). The default (``"auto"``) is
  :data:`TIMEOUT_FACTOR` times the kit's reference ancestral sampler (NumPy, timed once per
  process) on the same batch and grid, and at least :data:`TIMEOUT_FLOOR` s. Whenever a limit
  is set (the default) the whole check runs in a forked worker process that reports each
  sampler call's start to the caller through shared memory: a call that has not returned
  within its limit has the worker killed (``error``: "no answer within N s"), and an
  ``os._exit`` or a crash inside the sampler ends only the worker (``error`` naming the exit
  status). A fork costs milliseconds (one per ``check_sampler``), so the quick budget stays at
  about a second. ``timeout=None`` runs in the caller's process with no limit (for a
  debugger; a hang then hangs the caller). Where ``os.fork`` does not exist (Windows) the limit
  cannot be enforced: the check runs in process and a ``RuntimeWarning`` says so.
* **Tolerances relative to the data's scale** (:func:`scale_tolerance`, :func:`grid_sigma_min`):
  a relative moment gap of a map probed at the scale of the data carries a round-off floor of
  about ``eps (|m| / s_min)`` (``m`` the data mean, ``s_min`` its smallest standard deviation),
  and the grid's smallest noise level is ``0.02 min(1, s_min)`` so that the last step to
  ``sigma = 0`` stays small against the data.
* **Own noise**: a sampler that draws noise the kit does not hand it (the global
  ``np.random``, its own ``Generator``, ``torch.randn``) makes the exact checks inconclusive;
  the reason then says so and names the fix (take ``noise_sampler`` / draw from ``rng``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import inspect
import math
import mmap
import os
import pickle
import select
import signal
import struct
import sys
import time
import traceback
import warnings

import numpy as np

__all__ = [
    "MAX_ORDER_STEPS",
    "TIMEOUT_FACTOR",
    "TIMEOUT_FLOOR",
    "SamplerCall",
    "SamplerError",
    "SamplerProblem",
    "grid_sigma_min",
    "guarded",
    "scale_tolerance",
    "torch_type_failure",
    "validate_arguments",
]

MAX_ORDER_STEPS = 4096
"""Largest step count of ``order_steps`` (a probe of ``N`` steps costs ``O(N^2)``)."""
MAX_ORDER_COUNTS = 12
TIMEOUT_FACTOR = 50.0
"""Default limit per sampler call: this many times the reference sampler on the same grid."""
TIMEOUT_FLOOR = 10.0
"""... and at least this many seconds."""
IDLE_LIMIT = 1800.0
"""Longest stretch (s) without a guarded sampler call in progress, e.g. a scheduler's steps."""
NONNEGATIVE_KNOBS = ("eta", "s_churn", "s_noise", "gamma", "r", "s_tmin")
EXPECTED = "an array of shape (n, d) of real floats"


# ------------------------------------------------------------------------------- problems
class SamplerProblem(Exception):
    """The user's sampler misbehaved: ends the run with ``verdict`` (``error`` or ``fails``)."""

    def __init__(self, verdict, reason, exc=None, tb=""):
        super().__init__(reason)
        self.verdict, self.reason, self.exc, self.tb = verdict, reason, exc, tb
        self.where = ""


class SamplerError(AssertionError):
    """Raised by ``assert_ok`` for a sampler that raised a non-``Exception`` (``SystemExit``,
    ``KeyboardInterrupt``) or whose own exception could not be sent back from the worker."""


class SamplerOutputTypeError(TypeError):
    """The sampler returned something that is not an array of real floats."""


class SamplerOutputShapeError(ValueError):
    """The sampler returned an array of the wrong shape."""


class NoiseShapeError(ValueError):
    """The sampler drew normals of a shape the kit cannot control (not the shape of ``x``)."""


def controlled_normals(source, shape, x_shape=None):
    """Normals of ``shape`` from the kit's noise ``source`` (``_Source.draw``). The kit can
    control only normals shaped like the sampler's ``x`` (``x_shape``); any other shape (a
    scalar, one per row) is a :class:`NoiseShapeError` saying what to draw instead."""
    shape = tuple(int(s) for s in shape)
    if x_shape is not None and shape != tuple(x_shape):
        raise NoiseShapeError(
            f"the sampler drew normals of shape {shape} from rng; the kit controls normals "
            f"shaped like x, {tuple(x_shape)}: draw rng.standard_normal(x.shape)"
        )
    return source.draw(shape)


def _describe(obj) -> str:
    """What came back, in words: ``None``, ``a tuple``, ``an int64 array of shape (3,)``."""
    if obj is None:
        return "None"
    shape = getattr(obj, "shape", None)
    dtype = getattr(obj, "dtype", None)
    if shape is not None and dtype is not None:
        kind = "a tensor" if hasattr(obj, "detach") else "an array"
        shp = tuple(int(s) for s in shape)
        return f"{kind} of dtype {dtype} and shape {shp}" if shp else f"a scalar {kind}"
    return f"a {type(obj).__module__}.{type(obj).__qualname__}".replace("builtins.", "")


def _output_array(out, shape):
    """``out`` as a float64 array of ``shape`` or :class:`SamplerProblem` saying what is wrong."""
    n, d = shape
    want = f"expected {EXPECTED} = {(n, d)}, got"
    if hasattr(out, "detach"):  # a torch tensor
        t = out.detach().cpu()
        try:
            arr = t.numpy()
        except (TypeError, RuntimeError):  # e.g. bfloat16, which NumPy does not have
            arr = t.double().numpy() if t.is_floating_point() else np.asarray(t.tolist())
    elif isinstance(out, np.ndarray | np.generic):
        arr = np.asarray(out)
    else:  # None, a tuple, a list, a dict, a generator, a float: not an array
        exc = SamplerOutputTypeError(f"the sampler returned {_describe(out)}: {want[:-5]}")
        raise SamplerProblem("error", f"SamplerOutputTypeError: {exc}", exc)
    if arr.dtype.kind == "c":
        imag = float(np.max(np.abs(arr.imag))) if arr.size else 0.0
        if imag != 0.0 or not np.isfinite(imag):
            raise SamplerProblem(
                "fails",
                f"the sampler returned complex numbers with imaginary part up to {imag:.3g} "
                f"({EXPECTED} expected)",
            )
        arr = arr.real
    if arr.dtype.kind not in "f":
        exc = SamplerOutputTypeError(f"the sampler returned {_describe(out)}: {want[:-5]}")
        raise SamplerProblem("error", f"SamplerOutputTypeError: {exc}", exc)
    if arr.shape != (n, d):
        what = _describe(out)
        if arr.shape == (d, n):
            what += " (transposed)"
        exc = SamplerOutputShapeError(f"the sampler returned {what}: {want[:-5]}")
        raise SamplerProblem("error", f"SamplerOutputShapeError: {exc}", exc)
    return np.asarray(arr, dtype=np.float64)


def torch_type_failure(exc) -> bool:
    """True if ``exc`` is what a torch sampler raises when handed NumPy arrays (then the kit
    reruns it on tensors); any other ``TypeError`` is the sampler's own."""
    msg = str(exc)
    if isinstance(exc, AttributeError):
        return "'numpy." in msg and "has no attribute" in msg
    if isinstance(exc, TypeError):
        return "Tensor" in msg or "numpy.ndarray" in msg and "torch" in msg
    return False


# ---------------------------------------------------------------------- where and when
_CHECK_OF_FUNCTION = {
    "_check_consistency": "consistency",
    "_check_order": "weak-order",
    "_check_steps": "step-law",
    "_check_chains": "step-law",
    "_check_gamma": "gamma",
    "_check_chain_gamma": "gamma",
    "_check_output_kl": "output-kl",
}


def _current_check(frame=None) -> str | None:
    """The check the kit is running (read off the call stack: the innermost ``_check_*``)."""
    f = frame or sys._getframe(1)
    while f is not None:
        name = f.f_code.co_name
        if name in _CHECK_OF_FUNCTION:
            return _CHECK_OF_FUNCTION[name]
        if name.startswith("_check_") or name.startswith("check_"):
            mod = f.f_globals.get("__name__", "")
            if mod.startswith("verify.kit") and name not in ("check_sampler", "_check_sampler"):
                return name.removeprefix("_").removeprefix("check_").replace("_", "-")
        f = f.f_back
    return None


_REF_COST = None  # (seconds per step, seconds per row-step) of the reference sampler


def _reference_cost():
    """Time the kit's NumPy ancestral sampler once per process: ``t = steps (a + b rows)``."""
    global _REF_COST
    if _REF_COST is not None:
        return _REF_COST
    from verify.kit import references as R
    from verify.kit.conformance import _kd_model, default_target

    model = _kd_model(default_target())
    rng = np.random.default_rng(0)
    grid = np.geomspace(20.0, 0.02, 17)

    def best(rows):
        x = rng.standard_normal((rows, 2))
        ts = []
        for _ in range(2):
            t0 = time.perf_counter()
            R.sample_euler_ancestral(
                model, x, grid, eta=1.0, noise_sampler=lambda s, t: rng.standard_normal(x.shape)
            )
            ts.append(time.perf_counter() - t0)
        return min(ts) / 16

    small, large = best(8), best(4096)
    b = max(large - small, 0.0) / (4096 - 8)
    _REF_COST = (max(small - 8 * b, 1e-6), b)
    return _REF_COST


def call_limit(spec, rows, steps):
    """The time limit (s) of one sampler call on ``rows`` rows and a ``steps``-step grid."""
    if spec is None:
        return None
    if spec == "auto":
        a, b = _reference_cost()
        return max(TIMEOUT_FLOOR, TIMEOUT_FACTOR * steps * (a + b * rows))
    return float(spec)


# shared memory between the worker and the caller: sequence, active, start, limit, label
_HB_FMT = "<qqdd"
_HB_LABEL = 512


class _Heartbeat:
    def __init__(self, shm):
        self.shm, self.seq = shm, 0

    def start(self, limit, label):
        self.seq += 1
        raw = label.encode("utf-8", "replace")[: _HB_LABEL - 1]
        self.shm[32 : 32 + _HB_LABEL] = raw.ljust(_HB_LABEL, b"\0")
        self.shm[0:32] = struct.pack(_HB_FMT, self.seq, 1, time.monotonic(), limit or 0.0)

    def stop(self):
        self.seq += 1
        self.shm[0:32] = struct.pack(_HB_FMT, self.seq, 0, time.monotonic(), 0.0)


def _read_heartbeat(shm):
    seq, active, start, limit = struct.unpack(_HB_FMT, shm[0:32])
    label = bytes(shm[32 : 32 + _HB_LABEL]).split(b"\0", 1)[0].decode("utf-8", "replace")
    return seq, bool(active), start, limit, label


class _RunState:
    """What the guard knows about the current ``check_sampler`` run (one per process)."""

    def __init__(self, timeout=None, heartbeat=None):
        self.timeout, self.heartbeat = timeout, heartbeat
        self.notes: dict[str, str] = {}


_STATE = _RunState()


# ---------------------------------------------------------------------------- one call
def _sigma_values(sigma):
    if hasattr(sigma, "detach"):
        sigma = sigma.detach().cpu().numpy()
    return np.asarray(sigma, dtype=np.float64).reshape(-1)


class SamplerCall:
    """One call of the user's sampler (a context manager around the call).

    ``x``: the array the sampler is handed (a copy of the kit's); ``grid``: the grid array it
    is handed (a copy; ``kit_grid`` the kit's own, for the check that it came back unchanged).
    ``model(m)`` / ``score(s)`` wrap the kit's denoiser / score; ``output(out)`` validates the
    result. Leaving the block with an exception turns it into a :class:`SamplerProblem`.
    """

    def __init__(self, sampler, x, grid, kit_grid, convention="k-diffusion"):
        self.sampler, self.x, self.grid, self.convention = sampler, x, grid, convention
        self.x_before = np.array(_np(x), copy=True)
        self.kit_grid = np.array(kit_grid, dtype=np.float64, copy=True)
        self.violation: SamplerProblem | None = None
        self.n_calls, self.first_bad = 0, None
        self.last_level = None
        self._np_state = None

    # -- what the sampler is handed
    def _level(self, value, name):
        v = _sigma_values(value)
        self.n_calls += 1
        if v.size:
            self.last_level = float(v[0])
        if self.violation is None and (np.any(np.isnan(v)) or np.any(v < 0)):
            bad = float(v[np.isnan(v) | (v < 0)][0])
            self.violation = SamplerProblem(
                "fails",
                f"the sampler called the {'score' if name == 't' else 'denoiser'} with "
                f"{name} = {bad:g} ({'NaN' if math.isnan(bad) else 'negative'}; call "
                f"{self.n_calls})",
            )
        if self.violation is not None:
            raise self.violation

    def _watch_input(self, x, value):
        if self.first_bad is None:
            xv = x.detach().cpu().numpy() if hasattr(x, "detach") else np.asarray(x)
            if xv.dtype.kind in "fc" and not np.all(np.isfinite(xv)):
                lv = _sigma_values(value)
                self.first_bad = (self.n_calls, float(lv[0]) if lv.size else math.nan)

    def model(self, model):
        def denoiser(x, sigma, *args, **kwargs):
            self._level(sigma, "sigma")
            self._watch_input(x, sigma)
            return model(x, sigma, *args, **kwargs)

        return denoiser

    def score(self, score):
        def guarded_score(x, t):
            self._level(t, "t")
            self._watch_input(x, t)
            return score(x, t)

        return guarded_score

    # -- the call
    def __enter__(self):
        st = _STATE
        self._np_state = _global_np_state()
        if st.heartbeat is not None:
            rows = int(np.shape(self.x)[0]) if np.ndim(self.x) else 1
            steps = max(len(self.kit_grid) - 1, 1)
            limit = call_limit(st.timeout, rows, steps)
            st.heartbeat.start(limit, self.label())
        return self

    def label(self) -> str:
        name = getattr(self.sampler, "__qualname__", type(self.sampler).__name__)
        check = _current_check(sys._getframe(1))
        g = self.kit_grid
        where = f"{len(g) - 1}-step grid {g[0]:.4g} -> {g[-1]:.4g}" if g.size else "grid"
        return f"{name} on the {where}" + (f" (check {check})" if check else "")

    def __exit__(self, etype, exc, tb):
        if _STATE.heartbeat is not None:
            _STATE.heartbeat.stop()
        if _global_np_state() != self._np_state:
            _STATE.notes["global"] = "the sampler draws from the global np.random"
        if exc is None:
            return False
        if isinstance(exc, SamplerProblem):
            if not exc.where:
                exc.where = self.label()
            return False
        if self.violation is not None:  # the sampler let the bad-sigma refusal through
            raise self.violation from None
        text = "".join(traceback.format_exception(etype, exc, tb))
        name = getattr(self.sampler, "__qualname__", type(self.sampler).__name__)
        mod = getattr(self.sampler, "__module__", None)
        who = f"{name} ({mod})" if mod and mod.startswith("verify.kit") else name
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        problem = SamplerProblem(
            "error", f"{who} raised {type(exc).__name__}" + (f": {msg}" if msg else ""), exc, text
        )
        problem.where = self.label()
        raise problem from None

    def output(self, out):
        """The validated output (float64, shape of ``x``), after the checks of the call; a
        :class:`SamplerProblem` names the call (grid, check) it came from."""
        try:
            return self._output(out)
        except SamplerProblem as problem:
            if not problem.where:
                problem.where = self.label()
            raise

    def _output(self, out):
        if self.violation is not None:
            raise self.violation
        shape = tuple(np.shape(self.x))
        if not np.array_equal(_np(self.x), self.x_before, equal_nan=True):
            raise SamplerProblem(
                "fails",
                "the sampler wrote into its input array x in place (a caller's x is changed)",
            )
        if not np.array_equal(_np(self.grid), self.kit_grid, equal_nan=True):
            what = "sigmas" if self.convention == "k-diffusion" else "grid"
            raise SamplerProblem(
                "fails", f"the sampler wrote into the {what} array it was handed ({what} changed)"
            )
        arr = _output_array(out, shape)
        if not np.all(np.isfinite(arr)):
            bad = int(np.size(arr) - np.count_nonzero(np.isfinite(arr)))
            kind = "NaN" if np.any(np.isnan(arr)) else "inf"
            if self.first_bad is not None:
                c, lv = self.first_bad
                at = f"NaN/inf first reached the denoiser at call {c} (sigma = {lv:.4g})"
            else:
                at = (
                    "after the last denoiser call"
                    + (f" (sigma = {self.last_level:.4g})" if self.last_level is not None else "")
                    + ": in the final update"
                )
            raise SamplerProblem(
                "fails", f"the sampler's output contains {kind} ({bad} of {arr.size} entries); {at}"
            )
        return arr


def _global_np_state():
    """The legacy global ``np.random`` state, comparable with ``==`` (a draw changes it)."""
    _, key, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 (the global state)
    return key.tobytes(), pos, has_gauss, cached


def _np(a):
    return a.detach().cpu().numpy() if hasattr(a, "detach") else np.asarray(a)


# ------------------------------------------------------------------- scale of the data
def _data_scale(data):
    """``(|m|_inf, s_min)`` of a Gaussian (or GMM: its components' means and covariances)."""
    means = getattr(data, "means", None)
    if means is not None:
        m = float(np.max(np.abs(np.asarray(means, dtype=np.float64))))
        covs = np.asarray(getattr(data, "covs", getattr(data, "variances", 1.0)), np.float64)
        s = float(np.sqrt(np.min(np.abs(covs)))) if covs.size else 1.0
        return m, s
    m = float(np.max(np.abs(np.asarray(data.mean, dtype=np.float64))))
    lam = np.linalg.eigvalsh(np.atleast_2d(np.asarray(data.cov, dtype=np.float64)))
    return m, float(np.sqrt(max(float(lam.min()), 0.0)))


def scale_tolerance(data, tol: float) -> float:
    """``tol`` raised to the round-off floor of a relative moment gap for ``data``:
    ``max(tol, 1e3 eps max(1, |m|_inf / s_min))`` (a map probed around the data mean loses
    about ``eps |m|`` in each output, compared on the scale ``s_min``)."""
    try:
        m, s = _data_scale(data)
    except (AttributeError, ValueError, TypeError, np.linalg.LinAlgError):
        return tol
    if not (s > 0 and math.isfinite(m)):
        return tol
    return max(tol, 1e3 * np.finfo(np.float64).eps * max(1.0, m / s))


def grid_sigma_min(data, sigma_min: float) -> float:
    """The grid's smallest noise level: ``sigma_min min(1, s_min)`` (``s_min`` the data's
    smallest standard deviation), so the last step to 0 is small against the data."""
    try:
        _, s = _data_scale(data)
    except (AttributeError, ValueError, TypeError, np.linalg.LinAlgError):
        return sigma_min
    return sigma_min * min(1.0, s) if s > 0 and math.isfinite(s) else sigma_min


def probe_center(data, alpha=1.0):
    """Where the probes sit: the data mean (times the forward scale ``alpha``), so that a
    probed map does not lose digits to a large data mean."""
    mean = getattr(data, "mean", None)
    if mean is None:
        return None
    return alpha * np.asarray(mean, dtype=np.float64)


# ------------------------------------------------------------------------- arguments
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


# --------------------------------------------------------------------------- reports
def _report_class():
    from verify.kit.conformance import ConformanceReport

    @dataclasses.dataclass
    class _Guarded(ConformanceReport):
        error: BaseException | None = None
        traceback: str = ""

    return _Guarded


@functools.cache
def _guarded_class():
    cls = _report_class()
    cls.__name__ = cls.__qualname__ = "GuardedReport"
    cls.__module__ = __name__
    cls.verdict = property(_verdict)
    cls.assert_ok = _assert_ok
    return cls


def __getattr__(name):
    if name == "GuardedReport":
        return _guarded_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _verdict(self):
    if any(c.verdict == "error" for c in self.checks.values()):
        return "error"
    from verify.kit.conformance import ConformanceReport

    return ConformanceReport.verdict.fget(self)


def _assert_ok(self):
    if _verdict(self) != "error":
        from verify.kit.conformance import ConformanceReport

        return ConformanceReport.assert_ok(self)
    note = self.summary() + (
        "\nthe sampler's traceback:\n" + self.traceback if self.traceback else ""
    )
    exc = self.error
    if isinstance(exc, Exception) and not isinstance(exc, SamplerProblem):
        if note not in getattr(exc, "__notes__", []):
            exc.add_note(note)
        raise exc
    raise SamplerError(note) from exc


def _sampler_label(args):
    sampler = args.get("sampler")
    return args.get("name") or getattr(sampler, "__name__", type(sampler).__name__)


def _problem_report(args, problem, done):
    """The report of a run that ``problem`` ended: the checks done, then the one that was
    running (``error`` or ``fails``)."""
    from verify.kit.conformance import CHECKS, CheckResult

    check = _current_check_of(problem) or "sampler"
    want = tuple(args.get("checks") or CHECKS)
    checks = {k: v for k, v in done.items() if k != check}
    rest = [c for c in want if c not in checks and c != check]
    reason = problem.reason + (f" [{problem.where}]" if problem.where else "")
    if rest:
        reason += f" (not run: {', '.join(rest)})"
    data = {"traceback": problem.tb} if problem.tb else {}
    checks[check] = CheckResult(check, problem.verdict, reason, data=data)
    err = problem.exc
    if err is None and problem.verdict == "error":
        err = RuntimeError(problem.reason)
    return _guarded_class()(
        _sampler_label(args),
        args.get("convention", "k-diffusion"),
        args.get("method"),
        dict(args.get("knobs") or {}),
        checks,
        error=err,
        traceback=problem.tb,
    )


def _current_check_of(problem):
    if getattr(problem, "check", None):
        return problem.check
    tb = problem.__traceback__
    frames = []
    while tb is not None:
        frames.append(tb.tb_frame)
        tb = tb.tb_next
    for f in reversed(frames):
        name = _current_check(f)
        if name:
            return name
    return None


def _done_checks(problem) -> dict:
    """Checks finished before ``problem``: the ``out`` dicts of the kit's frames it went
    through (``check_sampler`` and its exact-check driver)."""
    from verify.kit.conformance import CheckResult

    done = {}
    tb = problem.__traceback__
    while tb is not None:
        out = tb.tb_frame.f_locals.get("out")
        if isinstance(out, dict) and tb.tb_frame.f_globals.get("__name__", "").startswith(
            "verify.kit"
        ):
            done.update({k: v for k, v in out.items() if isinstance(v, CheckResult)})
        tb = tb.tb_next
    return done


def _annotate_own_noise(report, args):
    """Exact checks that could not probe: say whether the sampler draws its own noise."""
    cannot = [c for c in report.checks.values() if c.reason.startswith("cannot probe")]
    if not cannot:
        return report
    why = _STATE.notes.get("global") or _own_noise(args)
    if why:
        conv = args.get("convention", "k-diffusion")
        fix = (
            "draw every normal from the rng argument (rng.standard_normal(x.shape))"
            if conv == "ours"
            else "take noise_sampler=(sigma, sigma_next) -> normals like x and draw from it"
        )
        for c in cannot:
            c.reason += f"; {why}, which the kit does not control: {fix}"
    return report


def _own_noise(args) -> str | None:
    """Run the sampler twice on the same input with the same kit noise: a different output
    means it draws noise of its own."""
    from verify.kit import conformance as C

    conv = args.get("convention", "k-diffusion")
    if conv == "diffusers":
        return None
    try:
        data = args.get("data") or C.default_target()
        knobs = {} if conv == "ours" else dict(args.get("knobs") or {})
        ad = C._SigmaAdapter(
            args["sampler"], conv, data, knobs, args.get("sde"), args.get("backend", "auto")
        )
        seg = ad.nodes(4, zero=True)
        x = np.random.default_rng(3).standard_normal((8, data.dim))
        zs = [np.random.default_rng(4).standard_normal((8, data.dim)) for _ in range(64)]
        outs = [ad.run(x, seg, C._Source("given", arrays=zs)) for _ in range(2)]
    except Exception:
        return None
    if not np.array_equal(outs[0], outs[1]):
        return (
            "the sampler draws noise of its own (two runs with the same input and the same "
            "kit noise differ)"
        )
    return None


def _run(check, args_tuple, kwargs, bound):
    """Run the kit; a :class:`SamplerProblem` becomes a report."""
    try:
        report = check(*args_tuple, **kwargs)
    except SamplerProblem as problem:
        return _problem_report(bound, problem, _done_checks(problem))
    return _annotate_own_noise(report, bound)


@contextlib.contextmanager
def _state(timeout, heartbeat):
    global _STATE
    saved, _STATE = _STATE, _RunState(timeout, heartbeat)
    try:
        yield _STATE
    finally:
        _STATE = saved


def _resolve_timeout(timeout):
    if timeout is None or timeout == "auto":
        return timeout
    if not _finite_number(timeout) or not math.isfinite(float(timeout)) or float(timeout) <= 0:
        raise ValueError(f"timeout must be 'auto', None or a positive number of s, got {timeout!r}")
    return float(timeout)


def guarded(check):
    """Decorator of ``check_sampler``: argument validation, the time limit and the worker,
    reports for a sampler that misbehaves (module docstring). Adds ``timeout="auto"``."""
    sig = inspect.signature(check)

    @functools.wraps(check)
    def check_sampler(*args, timeout="auto", **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        named = dict(bound.arguments)
        validate_arguments(named)
        spec = _resolve_timeout(timeout)
        if spec is None or _STATE.heartbeat is not None:  # no limit, or inside a worker already
            with _state(spec if _STATE.heartbeat is None else _STATE.timeout, _STATE.heartbeat):
                return _run(check, args, kwargs, named)
        if not hasattr(os, "fork"):
            warnings.warn(
                "no os.fork here: the sampler runs in this process without a time limit",
                RuntimeWarning,
                stacklevel=2,
            )
            with _state(None, None):
                return _run(check, args, kwargs, named)
        if spec == "auto":
            _reference_cost()  # timed here, inherited by the worker
        return _in_worker(lambda: _run(check, args, kwargs, named), spec, named)

    check_sampler.__doc__ = (check.__doc__ or "") + (
        "\n    timeout : the time limit of one sampler call in s: ``'auto'`` (default: "
        f"{TIMEOUT_FACTOR:g} x the kit's\n        reference sampler on the same grid, at least "
        f"{TIMEOUT_FLOOR:g} s; the check runs in a forked worker), a number,\n        or "
        "``None`` (in process, no limit). See ``verify.kit.guard``.\n"
    )
    check_sampler.__signature__ = sig.replace(
        parameters=[
            *[p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD],
            inspect.Parameter("timeout", inspect.Parameter.KEYWORD_ONLY, default="auto"),
            *[p for p in sig.parameters.values() if p.kind is p.VAR_KEYWORD],
        ]
    )
    return check_sampler


# ---------------------------------------------------------------------------- worker
def _exit_words(status) -> str:
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = str(sig)
        return f"killed by signal {name}"
    return f"exit status {os.WEXITSTATUS(status)}"


def _sendable(result):
    """``result`` pickled; the sampler's exception replaced by text if it does not pickle."""
    try:
        return pickle.dumps(result)
    except Exception:
        kind, value = result
        if kind == "report":
            text = f"{type(value.error).__name__}: {value.error}"
            value.error = SamplerError(text)
            for c in value.checks.values():
                c.data = {k: v for k, v in c.data.items() if k == "traceback"}
            return pickle.dumps(("report", value))
        return pickle.dumps(("raise", RuntimeError(f"{type(value).__name__}: {value}"), ""))


def _in_worker(body, spec, args):
    """Run ``body`` (the guarded check) in a forked worker; the caller watches each sampler
    call's time through shared memory and kills the worker when one overruns."""
    shm = mmap.mmap(-1, 32 + _HB_LABEL)
    r, w = os.pipe()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
        pid = os.fork()
    if pid == 0:  # the worker: never returns into the caller's code
        code = 0
        try:
            os.close(r)
            with _state(spec, _Heartbeat(shm)):
                try:
                    result = ("report", body())
                except BaseException as exc:  # the kit's own error: sent back and re-raised
                    result = ("raise", exc, traceback.format_exc())
            data = _sendable(result)
            view = memoryview(data)
            while view:
                view = view[os.write(w, view) :]
        except BaseException:
            code = 70
        finally:
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(Exception):
                    stream.flush()
            os._exit(code)
    os.close(w)
    chunks, seen, idle_since = [], None, time.monotonic()
    killed = None
    try:
        while True:
            seq, active, start, limit, label = _read_heartbeat(shm)
            now = time.monotonic()
            if seq != seen:
                seen, idle_since = seq, now
            if active and limit > 0:
                left = start + limit - now
                if left <= 0:
                    killed = (limit, label)
                    break
            else:
                left = idle_since + IDLE_LIMIT - now
                if left <= 0:
                    killed = (IDLE_LIMIT, label or "the kit between sampler calls")
                    break
            ready, _, _ = select.select([r], [], [], min(max(left, 0.0), 0.5))
            if ready:
                chunk = os.read(r, 1 << 20)
                if not chunk:
                    break
                chunks.append(chunk)
    except BaseException:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(r)
        raise
    if killed is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(r)
    if killed is not None:
        limit, label = killed
        problem = SamplerProblem(
            "error", f"no answer within {limit:.3g} s (the time limit of one sampler call)"
        )
        problem.where = label
        problem.check = _check_in_label(label)
        return _problem_report(args, problem, {})
    data = b"".join(chunks)
    if data:
        try:
            kind, *rest = pickle.loads(data)
        except Exception as exc:
            raise RuntimeError(f"the kit's worker sent an unreadable result: {exc}") from None
        if kind == "report":
            return rest[0]
        exc, text = rest
        raise exc
    _, _, _, _, label = _read_heartbeat(shm)
    problem = SamplerProblem(
        "error",
        f"the worker running the sampler ended without an answer ({_exit_words(status)}: "
        "os._exit, a crash or a kill inside the sampler)",
    )
    problem.where = label
    problem.check = _check_in_label(label)
    return _problem_report(args, problem, {})


def _check_in_label(label):
    if "(check " in label:
        return label.rsplit("(check ", 1)[1].rstrip(")")
    return None
