"""Benchmark: 2-D Fokker-Planck grid solver (verify.solvers.fokker_planck), OU + Gaussian mixture.

Setting: OU forward SDE (f = -1, g2 = 2, T = 1), 2-D three-component Gaussian mixture
data with full covariances (non-separable drift), exact score, gamma = 1, 200 uniform
steps from T = 1 to t_min = 0.01, start at the exact p_T. Times 128^2 and 256^2 grids
(``solver="split"``, O(cells) per step; ``solver="direct"`` sparse LU at 128^2 for
reference), reports the ratio time(256^2) / time(128^2) (target <= 6, ideal 4), the
seconds spent in the score, and the accuracy against the exact mixture marginal at
t_min (free, since the start is exact). Writes ``benchmarks/results/fokker_planck.json``.

Run: ``python benchmarks/bench_fokker_planck.py``
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
import scipy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytic import OU  # noqa: E402
from verify.solvers.fokker_planck import solve_reverse_fp  # noqa: E402

T, T_MIN, N_STEPS, GAMMA = 1.0, 0.01, 200, 1.0
BOUNDS = ((-5.0, 5.0), (-5.0, 5.0))
WEIGHTS = np.array([0.5, 0.3, 0.2])
MEANS = np.array([[-1.5, -0.5], [1.5, 0.5], [0.0, 2.0]])
COVS = np.array(
    [[[0.30, 0.15], [0.15, 0.25]], [[0.20, -0.10], [-0.10, 0.40]], [[0.5, 0.0], [0.0, 0.1]]]
)


SDE = OU(T=T)


def _components(x, t):
    """Per-component log w_k N(x; a mu_k, S_k) and S_k^{-1}(a mu_k - x), via Cholesky."""
    a, s2 = float(SDE.alpha(t)), float(SDE.sigma2(t))
    log_c, grads = [], []
    for w, mu, cov in zip(WEIGHTS, MEANS, COVS, strict=True):
        chol = np.linalg.cholesky(a * a * cov + s2 * np.eye(2))
        d = x - a * mu
        # z = chol^{-1} d (2x2 lower triangular, written out)
        z0 = d[:, 0] / chol[0, 0]
        z1 = (d[:, 1] - chol[1, 0] * z0) / chol[1, 1]
        logdet = 2.0 * np.log(chol[0, 0] * chol[1, 1])
        log_c.append(np.log(w) - 0.5 * (z0 * z0 + z1 * z1) - 0.5 * logdet - np.log(2 * np.pi))
        # S^{-1} d = chol^{-T} z
        u1 = z1 / chol[1, 1]
        u0 = (z0 - chol[1, 0] * u1) / chol[0, 0]
        grads.append(-np.stack([u0, u1], axis=1))
    return np.stack(log_c, axis=1), np.stack(grads, axis=1)


def logp(x, t):
    log_c, _ = _components(x, t)
    m = log_c.max(axis=1)
    return m + np.log(np.exp(log_c - m[:, None]).sum(axis=1))


class TimedScore:
    """Exact mixture score; accumulates the seconds spent in it."""

    def __init__(self):
        self.seconds, self.calls = 0.0, 0

    def __call__(self, x, t):
        t0 = time.perf_counter()
        log_c, grads = _components(x, t)
        resp = np.exp(log_c - log_c.max(axis=1, keepdims=True))
        resp /= resp.sum(axis=1, keepdims=True)
        out = np.einsum("nk,nkd->nd", resp, grads)
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        return out


def run(n: int, solver: str) -> dict:
    grid_times = np.linspace(T, T_MIN, N_STEPS + 1)
    score = TimedScore()
    t0 = time.perf_counter()
    res = solve_reverse_fp(
        SDE,
        score,
        lambda x: logp(x, T),
        grid_times,
        GAMMA,
        bounds=BOUNDS,
        n_cells=n,
        log=True,
        record=[-1],
        solver=solver,
    )
    seconds = time.perf_counter() - t0
    exact = np.exp(logp(res.points(), T_MIN)).reshape(res.density.shape)
    return {
        "n_cells": [n, n],
        "solver": solver,
        "method": res.method,
        "steps": N_STEPS,
        "seconds": round(seconds, 3),
        "score_seconds": round(score.seconds, 3),
        "score_calls": score.calls,
        "solver_seconds": round(seconds - score.seconds, 3),
        "sup_rel_error_final": float(np.max(np.abs(res.density - exact)) / exact.max()),
        "kl_final_q_vs_p": float(res.kl_trajectory(logp)[-1]),
        "max_rel_mass_error": float(np.max(np.abs(res.mass / res.mass[0] - 1.0))),
        "min_density": res.min_density,
    }


def main() -> None:
    runs = [run(128, "split"), run(256, "split"), run(128, "direct")]
    for r in runs:
        print(
            f"{r['n_cells'][0]:>4}^2 {r['solver']:<6} {r['seconds']:7.2f} s "
            f"(score {r['score_seconds']:.2f} s, solver {r['solver_seconds']:.2f} s)  "
            f"sup rel err {r['sup_rel_error_final']:.2e}  KL {r['kl_final_q_vs_p']:.2e}  "
            f"mass err {r['max_rel_mass_error']:.1e}"
        )
    ratio = runs[1]["seconds"] / runs[0]["seconds"]
    ratio_solver = runs[1]["solver_seconds"] / runs[0]["solver_seconds"]
    print(f"time(256^2)/time(128^2) = {ratio:.2f} (target <= 6); solver only {ratio_solver:.2f}")
    out = {
        "benchmark": "fokker_planck",
        "setting": "OU T=1 -> t_min=0.01, 200 steps, 2-D 3-component GMM, exact score, gamma=1",
        "runs": runs,
        "ratio_256_over_128": round(ratio, 3),
        "ratio_256_over_128_solver_only": round(ratio_solver, 3),
        "target_ratio": 6.0,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "machine": platform.machine(),
    }
    path = ROOT / "benchmarks" / "results" / "fokker_planck.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out, indent=2) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
