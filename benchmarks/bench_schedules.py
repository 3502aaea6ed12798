"""Time of ``verify.schedules.optimal_grid`` for N = 10 steps at d = 3072 (target <= 10 s).

Data: the ``power-law`` Gaussian model (d = 3072) of ``verify.data.gaussian_model``; EDM(80);
each of the four k-diffusion recursions (``ancestral`` with gamma = 1). Reports the best of 2
runs per method, the optimiser's iterations and the KL ratio Karras / optimum.

Run: ``python benchmarks/bench_schedules.py`` -> ``benchmarks/results/schedules.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_time, write_result  # noqa: E402

from analytic import EDM  # noqa: E402
from verify.data import gaussian_model  # noqa: E402
from verify.schedules import optimal_grid  # noqa: E402

TARGET_S = 10.0


def main() -> dict:
    data = gaussian_model("power-law")
    out = {"d": data.dim, "n_steps": 10, "target_s": TARGET_S, "methods": {}}
    for method, gamma in (("euler", 0.0), ("heun", 0.0), ("dpmpp_2m", 0.0), ("ancestral", 1.0)):
        res = optimal_grid(EDM(80.0), data, 10, method, gamma)
        t = best_time(lambda m=method, g=gamma: optimal_grid(EDM(80.0), data, 10, m, g), 2, 0)
        out["methods"][method] = {
            "seconds": t,
            "iterations": res.iterations,
            "kl": res.kl,
            "karras_over_optimum": res.ratio("karras"),
            "within_target": t <= TARGET_S,
        }
        print(
            f"{method:10s} {t:7.2f} s  {res.iterations:4d} it  KL {res.kl:.4e}  "
            f"karras/opt {res.ratio('karras'):.3g}"
        )
    write_result("schedules", out)
    return out


if __name__ == "__main__":
    main()
