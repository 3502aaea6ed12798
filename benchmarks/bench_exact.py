"""Scaling of ``verify.solvers.chain_laws.exact_law`` with the dimension .

Euler chain, 1000 steps, VP, gamma = 1, data ``N(m, Sigma)`` with a diagonal covariance
(log-uniform variances in [0.01, 10]) and, for comparison, a full covariance with the same
spectrum in a random basis (one ``eigh`` + rotations). Init ``sde.prior(d)``.
The per-eigendirection recursion is O(d) per step: target ``time(d=1000)/time(d=100) < 15``
for the diagonal case. Also reports the full d x d recursion (forced by a negligible
non-commuting score error) at d = 100 as the baseline the eigenbasis path avoids.

Run: ``python benchmarks/bench_exact.py`` -> ``benchmarks/results/exact.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_time, write_result  # noqa: E402

from analytic import VP, Gaussian  # noqa: E402
from verify.solvers.chain_laws import exact_law  # noqa: E402

N_STEPS = 1000


def _data(d: int, full: bool, rng) -> Gaussian:
    lam = np.exp(rng.uniform(np.log(0.01), np.log(10.0), d))
    mean = rng.standard_normal(d)
    if not full:
        return Gaussian(mean, lam)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    cov = (q * lam) @ q.T
    return Gaussian(mean, 0.5 * (cov + cov.T))


class _Tiny:
    """A negligible non-commuting score error: forces the full d x d recursion."""

    def __init__(self, d, rng):
        self.A = 1e-200 * rng.standard_normal((d, d))

    def affine_parts(self, t, dim):
        return 1.0, self.A, np.zeros(dim)


def main() -> dict:
    rng = np.random.default_rng(0)
    sde = VP()
    grid = np.linspace(sde.T, 1e-3, N_STEPS + 1)
    out = {"n_steps": N_STEPS, "method": "euler", "sde": repr(sde), "seconds": {}}
    for kind in ("diag", "full"):
        for d in (100, 1000):
            data = _data(d, kind == "full", rng)
            init = sde.prior(d)
            law = exact_law(sde, data, init, grid, 1.0, "euler")
            assert law.path == "eigenbasis"
            t = best_time(lambda data=data, init=init: exact_law(sde, data, init, grid),
                          repeats=5 if kind == "diag" else 2)  # fmt: skip
            out["seconds"][f"{kind}_d{d}"] = t
    s = out["seconds"]
    out["ratio_diag_d1000_over_d100"] = s["diag_d1000"] / s["diag_d100"]
    out["ratio_full_cov_d1000_over_d100"] = s["full_d1000"] / s["full_d100"]
    out["target_ratio"] = 15.0
    out["meets_target"] = bool(out["ratio_diag_d1000_over_d100"] < 15.0)
    # baseline: the d x d recursion at d = 100 (O(d^3) per step)
    data = _data(100, True, rng)
    tiny = _Tiny(100, rng)
    s["full_recursion_d100"] = best_time(
        lambda: exact_law(sde, data, sde.prior(100), grid, 1.0, "euler", tiny), repeats=1
    )
    write_result("exact", out)
    return out


if __name__ == "__main__":
    res = main()
    for k, v in res["seconds"].items():
        print(f"{k:>22s}: {v * 1e3:9.2f} ms")
    print(f"ratio d=1000/d=100 (diag data): {res['ratio_diag_d1000_over_d100']:.2f} (target < 15)")
    print(f"ratio d=1000/d=100 (full data): {res['ratio_full_cov_d1000_over_d100']:.2f}")
