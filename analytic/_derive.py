"""Symbolic ``(alpha, sigma2)`` of a linear SDE, optionally in a killable worker process.

sympy has no timeout and some integrals (``f = -log(1 + t)``) run for minutes, so
``LinearSDE`` asks a *worker process* for the derivation and kills it past a time limit
(docs/analytic.md, "Linear forward SDEs"). The worker is this file run as a script: it imports
only sympy, reads length-prefixed pickles ``(f, g2)`` of sympy expressions from stdin and
writes back a pickle ``("ok", (alpha, sigma2, exact))`` or ``("error", message)``. Both ends
are this package's own processes, and the expressions were built by the whitelisting parser
(``analytic.expression``) or checked by it, so no untrusted text is ever evaluated. One
worker is kept per process (started on first use, ~0.5 s) and replaced after a kill.

This module must stay importable without the rest of ``analytic`` (the worker runs it by
path): it depends on sympy and the standard library only.
"""

from __future__ import annotations

import atexit
import os
import pickle
import queue
import struct
import subprocess
import sys
import threading
import time

import sympy as sp

__all__ = ["derive", "derive_numeric", "derive_with_timeout", "for_numpy"]

t_sym = sp.Symbol("t", nonnegative=True, real=True)
u_sym = sp.Symbol("u", nonnegative=True, real=True)

_HEADER = struct.Struct("<Q")


def derive(f, g2, t=t_sym):
    """``(alpha, sigma2, exact)``: ``alpha = exp(int_0^t f)``,
    ``sigma2 = alpha^2 int_0^t g2(u) / alpha(u)^2 du``; ``exact`` is False if an integral
    stayed unevaluated."""
    fu = f.subs(t, u_sym)
    A = sp.integrate(fu, (u_sym, 0, t))
    exact = not A.has(sp.Integral)
    alpha = sp.simplify(sp.exp(A))
    alpha_u = alpha.subs(t, u_sym)
    inner = sp.integrate(sp.simplify(g2.subs(t, u_sym) / alpha_u**2), (u_sym, 0, t))
    exact = exact and not inner.has(sp.Integral)
    sigma2 = sp.simplify(alpha**2 * inner)
    return alpha, sigma2, exact


def for_numpy(expr):
    """``expr`` with ``exp(x) - 1 -> expm1(x)`` and ``log(1 + x) -> log1p(x)`` (C99 rewrites),
    so that lambdified closed forms keep their relative accuracy at small ``t``."""
    from sympy.codegen.rewriting import optimize, optims_c99

    try:
        return optimize(expr, optims_c99)
    except Exception:
        return expr


def derive_numeric(f, g2):
    """``((alpha, sigma2, exact), (alpha_numpy, sigma2_numpy))``: ``derive`` plus the
    cancellation-free rewrites of its closed forms (``for_numpy``)."""
    alpha, sigma2, exact = derive(f, g2)
    return (alpha, sigma2, exact), (for_numpy(alpha), for_numpy(sigma2))


# ------------------------------------------------------------------------- worker side
def _read_msg(stream):
    head = stream.read(_HEADER.size)
    if len(head) < _HEADER.size:
        return None
    (n,) = _HEADER.unpack(head)
    data = stream.read(n)
    return data if len(data) == n else None


def _write_msg(stream, obj) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def _orphan_watch(parent: int) -> None:  # pragma: no cover - runs in the worker process
    """Exit when the parent dies, even in the middle of a long sympy computation."""
    while True:
        time.sleep(1.0)
        if os.getppid() != parent:
            os._exit(0)


def _serve() -> None:  # pragma: no cover - runs in the worker process
    threading.Thread(target=_orphan_watch, args=(os.getppid(),), daemon=True).start()
    out = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    sys.stdout = sys.stderr  # nothing sympy prints can corrupt the protocol
    inp = sys.stdin.buffer
    _write_msg(out, ("ready", None))
    while True:
        data = _read_msg(inp)
        if data is None:
            return  # the parent closed the pipe (or died)
        try:
            f, g2 = pickle.loads(data)
            reply = ("ok", derive_numeric(f, g2))
        except Exception as exc:
            reply = ("error", f"{type(exc).__name__}: {exc}")
        try:
            _write_msg(out, reply)
        except Exception as exc:
            _write_msg(out, ("error", f"{type(exc).__name__}: {exc}"))


# ------------------------------------------------------------------------- parent side
class _Worker:
    """One worker process with a reader thread feeding a queue (portable timeouts)."""

    def __init__(self, start_timeout: float):
        self.pid = os.getpid()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()
        if self._get(start_timeout) != ("ready", None):
            self.kill()
            raise RuntimeError("the sympy worker did not start")

    def _pump(self) -> None:
        while True:
            data = _read_msg(self.proc.stdout)
            self.replies.put(None if data is None else pickle.loads(data))
            if data is None:
                return

    def _get(self, timeout):
        try:
            return self.replies.get(timeout=timeout)
        except queue.Empty:
            return "timeout"

    def call(self, f, g2, timeout: float):
        _write_msg(self.proc.stdin, (f, g2))
        return self._get(timeout)

    def alive(self) -> bool:
        return self.pid == os.getpid() and self.proc.poll() is None

    def kill(self) -> None:
        try:
            self.proc.kill()
            self.proc.wait(timeout=10)
        except Exception:
            pass
        for s in (self.proc.stdin, self.proc.stdout):
            try:
                s.close()
            except Exception:
                pass


_lock = threading.Lock()
_worker: _Worker | None = None


def _shutdown() -> None:
    if _worker is not None and _worker.pid == os.getpid():
        _worker.kill()


atexit.register(_shutdown)


def derive_with_timeout(f, g2, timeout: float, start_timeout: float = 120.0):
    """``derive_numeric(f, g2)`` in the worker, or ``(None, reason)`` past ``timeout`` seconds.

    Returns ``(derive_numeric(f, g2), None)`` on success. The worker is killed on a timeout
    and restarted on the next call; a worker that cannot start (no subprocesses allowed)
    makes every call report ``(None, reason)`` so that the caller uses quadrature.
    """
    global _worker
    with _lock:
        try:
            if _worker is None or not _worker.alive():
                _worker = _Worker(start_timeout)
            reply = _worker.call(f, g2, timeout)
        except Exception as exc:
            if _worker is not None:
                _worker.kill()
            _worker = None
            return None, f"sympy worker unavailable ({type(exc).__name__}: {exc})"
        if reply == "timeout" or reply is None:
            _worker.kill()
            _worker = None
            why = f"timed out after {timeout:g} s" if reply == "timeout" else "worker died"
            return None, f"sympy derivation {why}"
        status, payload = reply
        if status != "ok":
            return None, f"sympy derivation failed ({payload})"
        return payload, None


if __name__ == "__main__":  # pragma: no cover
    _serve()
