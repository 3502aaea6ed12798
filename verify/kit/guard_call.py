r"""One call of a user's sampler: what it is handed and what it must give back.

:class:`SamplerCall` (used by the kit's adapter at the one place it calls the sampler): the
sampler gets *copies* of the kit's input and grid, which must come back unchanged; the
denoiser / score it is handed refuses a negative or NaN ``sigma`` / ``t``; what it returns
must be an array of shape ``(n, d)`` of real floats (complex output with a nonzero imaginary
part, NaN and inf are named, with the denoiser call where NaN first appeared). A raised
exception (any ``BaseException``: ``SystemExit`` and ``KeyboardInterrupt`` too) becomes a
:class:`SamplerProblem` carrying the sampler's own exception and traceback. The state of the
current run (its time limit and the worker's heartbeat, ``verify.kit.guard_worker``) is
:func:`run_state`.
"""

from __future__ import annotations

import contextlib
import math
import sys
import traceback

import numpy as np

__all__ = [
    "EXPECTED",
    "NoiseShapeError",
    "SamplerCall",
    "SamplerError",
    "SamplerProblem",
    "controlled_normals",
    "describe",
    "torch_type_failure",
]

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


def describe(obj) -> str:
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
        exc = SamplerOutputTypeError(f"the sampler returned {describe(out)}: {want[:-5]}")
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
        exc = SamplerOutputTypeError(f"the sampler returned {describe(out)}: {want[:-5]}")
        raise SamplerProblem("error", f"SamplerOutputTypeError: {exc}", exc)
    if arr.shape != (n, d):
        what = describe(out)
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


def current_check(frame=None) -> str | None:
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


class _RunState:
    """What the guard knows about the current ``check_sampler`` run (one per process)."""

    def __init__(self, timeout=None, heartbeat=None):
        self.timeout, self.heartbeat = timeout, heartbeat
        self.notes: dict[str, str] = {}


_STATE = _RunState()


def state():
    """The current run's state (read at call time: :func:`run_state` replaces it)."""
    return _STATE


@contextlib.contextmanager
def run_state(timeout, heartbeat):
    """The state of one ``check_sampler`` run: its time limit and the worker's heartbeat."""
    global _STATE
    saved, _STATE = _STATE, _RunState(timeout, heartbeat)
    try:
        yield _STATE
    finally:
        _STATE = saved


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
            limit = st.heartbeat.limit(st.timeout, rows, steps)  # the worker's call_limit
            st.heartbeat.start(limit, self.label())
        return self

    def label(self) -> str:
        name = getattr(self.sampler, "__qualname__", type(self.sampler).__name__)
        check = current_check(sys._getframe(1))
        g = self.kit_grid
        where = f"{len(g) - 1}-step grid {g[0]:.4g} -> {g[-1]:.4g}" if g.size else "grid"
        if self.convention == "diffusers" and g.size:
            a, b = int(g[0]), int(g[-1]) - 1
            where = f"step call {a}" if a == b else f"step calls {a} to {b}"
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
            if self.convention == "diffusers":
                at = "in the scheduler's steps"
            elif self.first_bad is not None:
                c, lv = self.first_bad
                at = f"NaN/inf first reached the denoiser at call {c} (sigma = {lv:.4g})"
            elif self.n_calls == 0:
                at = "the sampler never called the denoiser"
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
