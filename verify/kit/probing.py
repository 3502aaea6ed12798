"""Exact probing of an affine sampler: ``(M, u, Q)`` of ``x' = M x + u + sum_c L_c z_c`` from
one run on unit probes (``_probe``), the pushed-forward Gaussian law (``_push``), moment gaps
and a safe KL."""

from __future__ import annotations

import math

import numpy as np

from analytic import Gaussian, kl
from verify.kit.checks import precision as _prec
from verify.kit.noise import _Source

__all__ = ["AFFINE_RTOL", "NotAffineError"]


AFFINE_RTOL = 1e-7


class NotAffineError(ValueError):
    """The sampler is not affine in (input, noise draws) for a Gaussian target."""


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
