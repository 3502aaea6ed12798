"""Benchmark: the particle reverse sampler against torchsde and against the cost of exp.

Setting: Euler-Maruyama (gamma = 1) for VP (beta 0.1..20), exact score of a 25-component
isotropic 2-D GMM (means on {-2..2}^2, variance 0.05, Dirichlet(1) weights), 10^5 particles,
100 uniform steps from T = 1 to t_min = 1e-3, float64.

* ours:        ``verify.reverse_sample(..., method="euler")`` with analytic's fused GMM score;
* torchsde:    ``torchsde.sdeint(method="euler")`` on the same SDE and grid in reverse time
               tau = T - t, CPU float64, score written in torch (two matmuls + softmax);
* exp floor:   100 calls of ``np.exp`` over a (10^5, 25) array, the unavoidable work of
               100 evaluations of a 25-component mixture score.

Targets: ours/torchsde speed >= 3x; ours/exp-floor time <= 2x; peak memory of 10^7 particles
in d = 2 about 1 GiB or less (measured in a fresh subprocess: ``VmHWM`` from /proc and
``tracemalloc``; ``ru_maxrss`` is not used because Linux carries it over from the parent).

Run: ``python benchmarks/bench_sampler.py [--quick]``; writes ``benchmarks/results/sampler.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from analytic import VP, GaussianMixture  # noqa: E402
from verify.solvers import grids  # noqa: E402
from verify.solvers.particles import reverse_sample  # noqa: E402

N_PART, N_STEPS, K = 100_000, 100, 25


def make_data(seed=0) -> GaussianMixture:
    rng = np.random.default_rng(seed)
    g = np.arange(-2.0, 3.0)
    means = np.array([[a, b] for a in g for b in g])
    w = rng.dirichlet(np.ones(K))
    w /= w.sum()
    return GaussianMixture(w, means, np.full(K, 0.05), normalize=True)


def best_of(fn, repeats):
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times), times


def bench_ours(sde, data, grid, x0, repeats):
    score = sde.score(data)
    return best_of(
        lambda: reverse_sample(sde, score, x0, grid, 1.0, "euler", np.random.default_rng(1)),
        repeats,
    )


def bench_score_only(sde, data, grid, x0, repeats):
    score = sde.score(data)
    return best_of(lambda: [score(x0, float(t)) for t in grid[:-1]], repeats)


def bench_exp_floor(repeats):
    a = np.random.default_rng(2).standard_normal((N_PART, K))
    b = np.empty_like(a)
    return best_of(lambda: [np.exp(a, out=b) for _ in range(N_STEPS)], repeats)


def bench_torchsde(sde, data, grid, x0, repeats):
    try:
        import torch
        import torchsde
    except ImportError as exc:  # pragma: no cover - optional peer
        return None, f"not installed: {exc}"
    torch.set_default_dtype(torch.float64)
    T = float(sde.T)
    b0, b1 = sde.beta_min, sde.beta_max
    mu = torch.tensor(data.means)
    logw = torch.log(torch.tensor(data.weights))
    c = float(data.covs[0])

    class ReverseVP(torch.nn.Module):
        noise_type = "diagonal"
        sde_type = "ito"

        def _coef(self, tau):
            t = T - float(tau)
            beta = b0 + (b1 - b0) * t
            B = b0 * t + 0.5 * (b1 - b0) * t * t
            alpha = np.exp(-0.5 * B)
            v = alpha * alpha * c + (-np.expm1(-B))
            return beta, alpha, v

        def f(self, tau, y):
            beta, alpha, v = self._coef(tau)
            am = alpha * mu  # (K, 2)
            # logits = log w - |y - alpha mu|^2 / (2 v)  (the |y|^2 term cancels in softmax)
            logits = (y @ am.T - 0.5 * (am * am).sum(1)) / v + logw
            pi = torch.softmax(logits, dim=1)
            score = (pi @ am - y) / v
            # reverse drift with gamma = 1: -f y + g2 s = beta/2 y + beta s
            return 0.5 * beta * y + beta * score

        def g(self, tau, y):
            beta, _, _ = self._coef(tau)
            return torch.full_like(y, float(np.sqrt(beta)))

    model = ReverseVP()
    y0 = torch.tensor(x0)
    ts = torch.tensor(T - grid)
    dt = float(grid[0] - grid[1])

    def run():
        with torch.no_grad():
            torchsde.sdeint(model, y0, ts, method="euler", dt=dt)

    best, times = best_of(run, repeats)
    return (best, times), f"torch {torch.__version__}, {torch.get_num_threads()} threads"


_MEM_SCRIPT = r"""
import sys, time, tracemalloc
import numpy as np
sys.path.insert(0, {root!r})
from analytic import VP, GaussianMixture
from verify.solvers import grids
from verify.solvers.particles import reverse_sample
n, steps = {n}, {steps}
g = np.arange(-2.0, 3.0)
means = np.array([[a, b] for a in g for b in g])
data = GaussianMixture(np.full(25, 1 / 25), means, np.full(25, 0.05))
sde = VP()
def hwm_kib():  # VmHWM: peak RSS of this process image (ru_maxrss survives exec on Linux)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
base = hwm_kib()
x = np.random.default_rng(0).standard_normal((n, 2))
tracemalloc.start()
t0 = time.perf_counter()
y = reverse_sample(sde, sde.score(data), x, grids.uniform(sde, steps, t_min=1e-3), 1.0,
                   "euler", np.random.default_rng(1))
el = time.perf_counter() - t0
cur, peak = tracemalloc.get_traced_memory()
print(base, hwm_kib(), peak, el)
"""


def bench_memory(n, steps):
    code = _MEM_SCRIPT.format(root=str(ROOT), n=n, steps=steps)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    base_kb, maxrss_kb, peak_traced, el = out.stdout.split()
    return {
        "n_particles": n,
        "n_steps": steps,
        "peak_rss_after_imports_GiB": int(base_kb) / 2**20,
        "peak_rss_GiB": int(maxrss_kb) / 2**20,
        "tracemalloc_peak_during_sampling_GiB": int(peak_traced) / 2**30,
        "seconds": float(el),
        "note": "peak_rss (/proc VmHWM) includes the interpreter, imports and the 0.15 GiB "
        "input x_T; tracemalloc counts NumPy allocations made while sampling",
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="1 repeat, skip torchsde")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sampler.json"))
    args = ap.parse_args(argv)
    reps = 1 if args.quick else 3

    sde = VP(0.1, 20.0)
    data = make_data()
    grid = grids.uniform(sde, N_STEPS, t_min=1e-3)
    x0 = sde.marginal(data, sde.T).sample(N_PART, np.random.default_rng(0))
    work = N_PART * N_STEPS

    ours, ours_all = bench_ours(sde, data, grid, x0, reps)
    score_t, _ = bench_score_only(sde, data, grid, x0, reps)
    floor, _ = bench_exp_floor(reps)
    ts_res, ts_info = (
        (None, "skipped (--quick)")
        if args.quick
        else bench_torchsde(sde, data, grid, x0, max(1, reps - 1))
    )
    mem = bench_memory(10_000_000, 2)

    res = {
        "setting": {
            "sde": repr(sde),
            "method": "euler",
            "gamma": 1.0,
            "n_particles": N_PART,
            "n_steps": N_STEPS,
            "components": K,
            "dim": 2,
            "dtype": "float64",
        },
        "machine": {
            "python": platform.python_version(),
            "numpy": np.__version__,
            "cpu_count": os.cpu_count(),
            "load_avg_1min": os.getloadavg()[0],
            "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE"),
            "OPENBLAS_L2_SIZE": os.environ.get("OPENBLAS_L2_SIZE"),
        },
        "ours_seconds": ours,
        "ours_all_seconds": ours_all,
        "ours_particle_steps_per_s": work / ours,
        "score_only_seconds": score_t,
        "exp_floor_seconds": floor,
        "ours_over_exp_floor": ours / floor,
        "torchsde": None,
        "memory_1e7": mem,
    }
    if ts_res is not None:
        ts_best, ts_all = ts_res
        res["torchsde"] = {
            "seconds": ts_best,
            "all_seconds": ts_all,
            "particle_steps_per_s": work / ts_best,
            "info": ts_info,
            "speedup_ours_over_torchsde": ts_best / ours,
        }
    else:
        res["torchsde"] = {"info": ts_info}
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2))

    print(f"reverse sampler benchmark ({N_PART:.0e} particles x {N_STEPS} steps, 25-comp GMM)")
    print(f"{'':28s}{'seconds':>10s}{'particle-steps/s':>20s}")
    print(f"{'ours (verify, Euler)':28s}{ours:10.3f}{work / ours:20.3e}")
    print(f"{'  of which score calls':28s}{score_t:10.3f}")
    if ts_res is not None:
        print(f"{'torchsde sdeint euler':28s}{ts_res[0]:10.3f}{work / ts_res[0]:20.3e}")
        print(f"speed-up ours / torchsde: {ts_res[0] / ours:.2f}x (target >= 3x)")
    else:
        print(f"torchsde: {ts_info}")
    print(f"{'exp floor (100 x exp)':28s}{floor:10.3f}")
    print(f"time ours / exp floor: {ours / floor:.2f}x (target <= 2x)")
    print(
        f"10^7 particles, d=2: peak RSS {mem['peak_rss_GiB']:.2f} GiB (imports alone "
        f"{mem['peak_rss_after_imports_GiB']:.2f}), allocated while sampling "
        f"{mem['tracemalloc_peak_during_sampling_GiB']:.2f} GiB (target ~1 GiB)"
    )
    print(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"wrote {args.out}")
    return res


if __name__ == "__main__":
    main()
