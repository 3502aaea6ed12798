"""EM for Gaussian mixtures: time per iteration vs scikit-learn (start laws of arXiv 2603.00772).

In one run, on 10^5 points of the 25-mode 2-D grid GMM (``verify.theory.start_laws.grid_gmm``),
K = 25 full-covariance components:

* ``verify.theory.start_laws.fit_gmm`` with ``n_init=1``, fixed ``max_iter``, ``tol=0`` (so both
  run exactly ``max_iter`` iterations), time / iterations;
* ``sklearn.mixture.GaussianMixture`` (``covariance_type="full"``, ``init_params="k-means++"``,
  same ``max_iter``, ``tol=0``), time / ``n_iter_``.

Both include their k-means++ start, which is amortised over ``max_iter`` iterations. Also
records both final mean log-likelihoods. Needs scikit-learn (the ``peers`` extra). Set
``OPENBLAS_NUM_THREADS=1`` for stable numbers on a shared machine.

Run: ``python benchmarks/bench_em.py`` -> ``benchmarks/results/em.json``.
"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import write_result  # noqa: E402

from verify.theory.start_laws import fit_gmm, grid_gmm  # noqa: E402


def run(n: int = 100_000, K: int = 25, max_iter: int = 50, repeats: int = 3) -> dict:
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture as SkGMM

    data = grid_gmm()
    x = data.sample(n, np.random.default_rng(0))
    ours, theirs = [], []
    ll_ours = ll_theirs = None
    for r in range(repeats):
        t0 = time.perf_counter()
        fit = fit_gmm(x, K, np.random.default_rng(r), n_init=1, max_iter=max_iter, tol=0.0)
        ours.append((time.perf_counter() - t0) / max_iter)
        ll_ours = fit.log_likelihood
        sk = SkGMM(
            K,
            covariance_type="full",
            init_params="k-means++",
            max_iter=max_iter,
            tol=0.0,
            n_init=1,
            random_state=r,
        )
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            sk.fit(x)
        theirs.append((time.perf_counter() - t0) / sk.n_iter_)
        ll_theirs = float(sk.score(x))
    return {
        "n": n,
        "K": K,
        "d": 2,
        "max_iter": max_iter,
        "seconds_per_iter_ours": min(ours),
        "seconds_per_iter_sklearn": min(theirs),
        "speedup": min(theirs) / min(ours),
        "mean_loglik_ours": ll_ours,
        "mean_loglik_sklearn": ll_theirs,
        "mean_loglik_true_params": float(np.mean(data.log_prob(x))),
    }


def main() -> None:
    res = run()
    path = write_result("em", res)
    print(
        f"EM per iteration (n={res['n']}, K={res['K']}, d=2): ours "
        f"{1e3 * res['seconds_per_iter_ours']:.1f} ms, scikit-learn "
        f"{1e3 * res['seconds_per_iter_sklearn']:.1f} ms (x{res['speedup']:.1f}); "
        f"mean log-lik {res['mean_loglik_ours']:.5f} vs {res['mean_loglik_sklearn']:.5f} "
        f"(true params {res['mean_loglik_true_params']:.5f}) -> {path}"
    )


if __name__ == "__main__":
    main()
