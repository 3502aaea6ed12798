r"""A time limit per sampler call, in a forked worker process (``verify.kit.guard``).

The default limit (``"auto"``) is :data:`TIMEOUT_FACTOR` times the kit's reference ancestral
sampler (NumPy, timed once per process) on the same batch and grid, and at least
:data:`TIMEOUT_FLOOR` s. :func:`in_worker` runs the whole check in a forked worker that
reports each sampler call's start to the caller through shared memory: a call that has not
returned within its limit has the worker killed (``error``: "no answer within N s"), and an
``os._exit`` or a crash inside the sampler ends only the worker (``error`` naming the exit
status). Both come back as a :class:`verify.kit.guard_call.SamplerProblem`. A fork costs
milliseconds (one per ``check_sampler``).
"""

from __future__ import annotations

import contextlib
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

from verify.kit.guard_call import SamplerError, SamplerProblem, run_state

__all__ = ["TIMEOUT_FACTOR", "TIMEOUT_FLOOR", "call_limit", "in_worker", "reference_cost"]

TIMEOUT_FACTOR = 50.0
"""Default limit per sampler call: this many times the reference sampler on the same grid."""
TIMEOUT_FLOOR = 10.0
"""... and at least this many seconds."""
IDLE_LIMIT = 1800.0
"""Longest stretch (s) without a guarded sampler call in progress, e.g. a scheduler's steps."""


_REF_COST = None  # (seconds per step, seconds per row-step) of the reference sampler


def reference_cost():
    """Time the kit's NumPy ancestral sampler once per process: ``t = steps (a + b rows)``."""
    global _REF_COST
    if _REF_COST is not None:
        return _REF_COST
    from verify.kit import references as R
    from verify.kit.denoisers import _kd_model, default_target

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
        a, b = reference_cost()
        return max(TIMEOUT_FLOOR, TIMEOUT_FACTOR * steps * (a + b * rows))
    return float(spec)


# shared memory between the worker and the caller: sequence, active, start, limit, label
_HB_FMT = "<qqdd"
_HB_LABEL = 512


class _Heartbeat:
    def __init__(self, shm):
        self.shm, self.seq = shm, 0

    @staticmethod
    def limit(spec, rows, steps):
        """The time limit of one sampler call (:func:`call_limit`)."""
        return call_limit(spec, rows, steps)

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
    """``result`` pickled so that it also unpickles in the caller; an exception that does not
    survive the round trip (a local class, one whose ``__init__`` needs other arguments, one
    holding a lock) is replaced by a :class:`SamplerError` / ``RuntimeError`` with its text."""
    try:
        data = pickle.dumps(result)
        pickle.loads(data)
        return data
    except Exception:
        pass
    kind, value, *rest = result
    text = f"{type(getattr(value, 'error', value)).__name__}: {getattr(value, 'error', value)}"
    if kind == "report":
        value.error = SamplerError(text)
        for c in value.checks.values():
            c.data = {k: v for k, v in c.data.items() if k == "traceback"}
        return pickle.dumps(("report", value))
    return pickle.dumps(("raise", RuntimeError(text), rest[0] if rest else ""))


def in_worker(body, spec):
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
            with run_state(spec, _Heartbeat(shm)):
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
        raise problem
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
    raise problem


def _check_in_label(label):
    if "(check " in label:
        return label.rsplit("(check ", 1)[1].rstrip(")")
    return None
