"""Throughput of the exact GMM score.

Measures, in one run, for K = 25 isotropic components at 10^6 points (d = 2) and 10^5
points (d = 100):

* ``GaussianMixture.score`` (points/s);
* the "exp floor": one ``np.exp`` over the ``(n, K)`` responsibility array, the work no
  implementation avoids; target ``score / floor <= 3``;
* a straightforward peer: ``scipy.stats.multivariate_normal.logpdf`` per component, an
  ``n x K x d`` difference tensor and ``scipy.special.softmax``.

Run: ``python benchmarks/bench_gmm_score.py`` -> ``benchmarks/results/gmm_score.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from scipy import special, stats

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_time, write_result  # noqa: E402

from analytic import GaussianMixture  # noqa: E402


def scipy_score(p: GaussianMixture, x: np.ndarray) -> np.ndarray:
    """The textbook implementation: per-component logpdf, softmax, difference tensor."""
    K = p.n_components
    logits = np.stack(
        [
            np.log(p.weights[k]) + stats.multivariate_normal(p.means[k], p.covs[k]).logpdf(x)
            for k in range(K)
        ],
        axis=1,
    )
    r = special.softmax(logits, axis=1)
    diff = p.means[None, :, :] - x[:, None, :]  # (n, K, d)
    return np.einsum("nk,nkd->nd", r / p.covs[None, :], diff)


def run(d: int, n: int, K: int = 25, repeats: int = 5) -> dict:
    rng = np.random.default_rng(0)
    p = GaussianMixture(
        rng.dirichlet(np.ones(K)), rng.normal(0, 2, (K, d)), rng.uniform(0.2, 1.0, K)
    )
    x = p.sample(n, rng)
    arr = -rng.uniform(0, 10, size=(n, K))
    buf = np.empty_like(arr)
    out = np.empty((n, d))
    t_score = best_time(lambda: p.score(x, out=out), repeats)
    t_floor = best_time(lambda: np.exp(arr, out=buf), repeats)
    n_peer = min(n, 200_000)
    t_peer = best_time(lambda: scipy_score(p, x[:n_peer]), max(1, repeats // 2)) * n / n_peer
    ref = scipy_score(p, x[:1000])
    err = float(np.max(np.abs(ref - p.score(x[:1000])) / (1 + np.abs(ref))))
    return {
        "d": d,
        "n": n,
        "K": K,
        "score_points_per_s": n / t_score,
        "exp_floor_s": t_floor,
        "score_s": t_score,
        "ratio_to_exp_floor": t_score / t_floor,
        "scipy_peer_points_per_s": n / t_peer,
        "speedup_vs_scipy_peer": t_peer / t_score,
        "max_rel_diff_vs_peer": err,
    }


def main() -> None:
    rows = [run(2, 1_000_000), run(100, 100_000)]
    path = write_result("gmm_score", {"benchmark": "gmm_score", "rows": rows})
    print(f"{'d':>4} {'n':>9} {'points/s':>12} {'x exp floor':>12} {'x faster than scipy':>20}")
    for r in rows:
        print(
            f"{r['d']:>4} {r['n']:>9} {r['score_points_per_s']:>12.3g} "
            f"{r['ratio_to_exp_floor']:>12.2f} {r['speedup_vs_scipy_peer']:>20.1f}"
        )
    print(f"written to {path}")


if __name__ == "__main__":
    main()
