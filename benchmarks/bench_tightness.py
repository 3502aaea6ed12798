"""Settings per second of the exact KL of an Euler chain: vectorised over settings vs a loop.

The tightness search (``verify.tightness``) evaluates its truth on batches of settings. Here
the truth is ``KL(output || p_tmin)`` of the Euler-Maruyama chain for Gaussian data with an
exact score plus a score error (scale ``k`` and offset ``b``), start ``p_T``, ``N = 100``
uniform steps to ``t_min = 1e-3``, under VP(0.1, 20) and OU (T = 1), ``gamma`` random in
``[0, 2]``, data eigenvalues log-uniform in ``[0.1, 10]``, means and offsets normal, scales
in ``[0.8, 1.2]``, in d = 1 and d = 10. The SDE is the same for every setting, so the loop
builds it once (building an ``analytic`` SDE derives its transition with sympy, tens of ms).

* ours: ``verify.tightness.euler_chain_kl`` on the whole batch (one call);
* peer (same run): a Python loop over the settings calling
  ``verify.solvers.chain_laws.exact_law`` and ``analytic.kl`` once per setting.

Both give the same numbers (the maximum relative difference is reported; tested to 1e-10 in
tests/test_tightness_gaussian.py).

Run: ``python benchmarks/bench_tightness.py`` -> ``benchmarks/results/tightness.json``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import best_time, write_result  # noqa: E402

from analytic import OU, VP, Gaussian, kl  # noqa: E402
from verify.errors import ScoreError  # noqa: E402
from verify.solvers.chain_laws import exact_law  # noqa: E402
from verify.solvers.grids import uniform  # noqa: E402
from verify.tightness import euler_chain_kl  # noqa: E402

N_STEPS = 100
N_VEC = 4000  # settings in the vectorised batch
N_LOOP = 100  # settings in the Python loop (the same first N_LOOP settings)
T_MIN = 1e-3
_SDES = {"VP": VP(0.1, 20.0), "OU": OU(T=1.0)}


class _ScaleOffset(ScoreError):
    """``s~ = k s + b``."""

    def __init__(self, score, k, b):
        super().__init__(score)
        self.k, self.b = k, b

    def affine_parts(self, t, dim):
        return self.k, 0.0, self.b


def _settings(sde: str, d: int, n: int, rng) -> dict:
    return {
        "lam": np.exp(rng.uniform(np.log(0.1), np.log(10.0), (n, d))),
        "mean": rng.standard_normal((n, d)),
        "offset": 0.3 * rng.standard_normal((n, d)),
        "scale": rng.uniform(0.8, 1.2, n),
        "gamma": rng.uniform(0.0, 2.0, n),
    }


def _vectorised(sde: str, s: dict):
    return euler_chain_kl(
        s["lam"],
        N_STEPS,
        s["gamma"],
        sde=sde,
        t_min=T_MIN,
        mean=s["mean"],
        offset=s["offset"],
        scale=s["scale"],
        beta_max=20.0,
    )


def _loop(sde_name: str, s: dict, n: int):
    out = np.empty(n)
    sde = _SDES[sde_name]
    for i in range(n):
        data = Gaussian(s["mean"][i], s["lam"][i])
        err = _ScaleOffset(sde.score(data), float(s["scale"][i]), s["offset"][i])
        law = exact_law(
            sde,
            data,
            sde.marginal(data, sde.T),
            uniform(sde, N_STEPS, t_min=T_MIN),
            float(s["gamma"][i]),
            "euler",
            err,
        )
        out[i] = kl(law, sde.marginal(data, T_MIN))
    return out


def main() -> dict:
    rng = np.random.default_rng(0)
    rows = []
    for sde in ("VP", "OU"):
        for d in (1, 10):
            s = _settings(sde, d, N_VEC, rng)
            vec = _vectorised(sde, s)
            ref = _loop(sde, s, N_LOOP)
            t_vec = best_time(lambda s=s, sde=sde: _vectorised(sde, s), repeats=3)
            t_loop = best_time(lambda s=s, sde=sde: _loop(sde, s, N_LOOP), repeats=1)
            vec_rate, loop_rate = N_VEC / t_vec, N_LOOP / t_loop
            rows.append(
                {
                    "sde": sde,
                    "d": d,
                    "n_steps": N_STEPS,
                    "vectorised_settings": N_VEC,
                    "loop_settings": N_LOOP,
                    "vectorised_settings_per_s": vec_rate,
                    "loop_settings_per_s": loop_rate,
                    "speedup": vec_rate / loop_rate,
                    "max_rel_diff": float(np.max(np.abs(vec[:N_LOOP] - ref) / ref)),
                }
            )
    out = {"rows": rows}
    write_result("tightness", out)
    return out


if __name__ == "__main__":
    for r in main()["rows"]:
        print(
            f"{r['sde']} d={r['d']:>2}: vectorised {r['vectorised_settings_per_s']:.3g} "
            f"settings/s, loop over exact_law {r['loop_settings_per_s']:.3g} settings/s, "
            f"speedup {r['speedup']:.0f}x, max rel diff {r['max_rel_diff']:.1e}"
        )
