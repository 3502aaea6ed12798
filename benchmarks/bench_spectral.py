"""``exact_law`` on Gaussians in spectral form, and fitting the photo-patch model.

* 50-step Euler (EDM, Karras grid, gamma = 0) on the ``photo-patches-32`` model (d = 3072,
  dense eigenbasis): target <= 5 ms, against the dense route on the same law in the same run
  (``Gaussian(mean, cov)`` with the full matrix: one ``eigh`` plus rotations, O(d^3)).
* The same on ``photo-patches-64`` (d = 12288, stationary, Hartley basis): target <= 20 ms;
  the dense route needs a 1.2 GB matrix and an O(d^3) ``eigh``, so its time is extrapolated
  from d = 3072 by d^3 (marked as such, not measured).
* Fitting ``photo-patches-32`` (eigen decomposition + bootstrap): target <= 30 s; and reading
  it back from the cache.
Both times are the time of ``exact_law`` plus ``kl(law, data)``.

Run: ``python benchmarks/bench_spectral.py`` -> ``benchmarks/results/spectral.json``
(needs scikit-learn; uses a temporary cache directory).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_time, write_result  # noqa: E402

from analytic import EDM, Gaussian, kl  # noqa: E402
from verify.solvers import grids  # noqa: E402
from verify.solvers.chain_laws import exact_law  # noqa: E402

TARGETS = {"exact_law_d3072_ms": 5.0, "exact_law_d12288_ms": 20.0, "fit_d3072_s": 30.0}


def main() -> dict:
    os.environ["DIFFUSION_VERIFY_CACHE"] = tempfile.mkdtemp(prefix="bench-spectral-")
    import verify.data as vd

    out = {"targets": TARGETS, "n_steps": 50, "method": "euler", "sde": "EDM(80)"}
    t0 = time.perf_counter()
    m32 = vd.gaussian_model("photo-patches-32")
    out["fit_d3072_s"] = time.perf_counter() - t0
    vd._MEMO.clear()
    t0 = time.perf_counter()
    vd.gaussian_model("photo-patches-32")
    out["cached_load_d3072_s"] = time.perf_counter() - t0
    m64 = vd.gaussian_model("photo-patches-64")

    sde = EDM(80.0)
    grid = grids.karras(sde, 50, 0.002, 80.0, 7.0, append_zero=True)

    def run(data):
        return kl(exact_law(sde, data, sde.prior(data.dim), grid, gamma=0.0), data)

    out["exact_law_d3072_ms"] = 1e3 * best_time(lambda: run(m32), repeats=20)
    out["exact_law_d12288_ms"] = 1e3 * best_time(lambda: run(m64), repeats=20)
    dense = Gaussian(m32.mean, m32.cov)
    kl_dense = run(dense)
    out["dense_d3072_ms"] = 1e3 * best_time(lambda: run(dense), repeats=2, warmup=0)
    out["dense_d12288_ms_extrapolated_d3"] = out["dense_d3072_ms"] * 4**3
    out["kl_d3072_spectral"], out["kl_d3072_dense"] = run(m32), kl_dense
    out["speedup_d3072"] = out["dense_d3072_ms"] / out["exact_law_d3072_ms"]
    out["meets_targets"] = {k: bool(out[k] <= v) for k, v in TARGETS.items()}
    return out


if __name__ == "__main__":
    res = main()
    print(write_result("spectral", res))
    for k, v in res.items():
        print(f"{k}: {v}")
