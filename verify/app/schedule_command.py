"""The ``diffusion-verify schedule`` subcommand: the optimal noise schedule of one sampler on a
Gaussian data model, the comparison with the standard schedules, and a figure.

``--data`` is a model of ``verify.data.gaussian_model`` (``power-law``, ``digits``, ...);
``--method`` one of ``verify.schedules.CHAIN_METHODS`` (or ``--sampler k-diffusion:sample_X``
for the k-diffusion sampler of that recursion); ``--steps`` the number of sampler steps.
Prints the optimal sigmas (k-diffusion form) and the table (KL, W2, ratio to the optimum) and
writes ``--figure``; with ``--sampler`` also the published sampler itself, run on the optimal
and on every standard grid through the kit's spectral probe (``verify.kit.spectral``: its
exact output law from one batch run at full d), its KL and W2 beside the recursion's (they
agree to rounding when the package implements the recursion the optimiser assumed). The
figure's default path is ``schedule-<data>-<method>-<N>.png`` (``--no-figure`` to skip).
"""

from __future__ import annotations

import argparse
import json

from verify.app.usage import UserError

__all__ = ["add_arguments", "handler"]

_KDIFFUSION = {
    "sample_euler": "euler",
    "sample_heun": "heun",
    "sample_dpmpp_2m": "dpmpp_2m",
    "sample_euler_ancestral": "ancestral",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="power-law", help="a gaussian_model name")
    parser.add_argument("--method", default=None, help="euler, heun, dpmpp_2m or ancestral")
    parser.add_argument(
        "--sampler", default=None, help="k-diffusion:sample_euler|sample_heun|sample_dpmpp_2m|..."
    )
    parser.add_argument("--steps", type=int, default=10, help="number of sampler steps N")
    parser.add_argument("--gamma", type=float, default=None, help="stochasticity, eta^2")
    parser.add_argument("--objective", default="kl", choices=("kl", "w2"))
    parser.add_argument("--sigma-max", type=float, default=80.0, help="EDM sigma_max")
    parser.add_argument("--figure", default=None, help="output PNG path")
    parser.add_argument("--no-figure", action="store_true", help="do not write a figure")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _method(args) -> str:
    from verify.schedules import CHAIN_METHODS

    if args.sampler is not None:
        lib, _, name = args.sampler.partition(":")
        if lib != "k-diffusion" or name not in _KDIFFUSION:
            raise UserError(
                f"--sampler {args.sampler!r}: choose k-diffusion:" + "|".join(_KDIFFUSION)
            )
        if args.method is not None and args.method != _KDIFFUSION[name]:
            raise UserError(f"--sampler {args.sampler} and --method {args.method} disagree")
        return _KDIFFUSION[name]
    method = args.method or "euler"
    if method not in CHAIN_METHODS:
        raise UserError(f"--method {method!r}: choose one of {', '.join(CHAIN_METHODS)}")
    return method


def _sampler_rows(name, data, res, gamma) -> list:
    """``(grid, KL, W2, chain KL)`` of the real sampler ``name`` on the optimal grid and each
    standard grid, started at the exact marginal of the grid's first level (as the optimiser)."""
    from verify.data.table import real_sampler_law, real_sampler_missing
    from verify.kit.spectral import spectral_error

    why = real_sampler_missing(name)
    if why is not None:
        raise UserError(f"--sampler {name}: {why}")
    knobs = {"eta": gamma**0.5} if name.endswith("sample_euler_ancestral") else {}
    grids = [("optimal", res.sigmas, res.kl)]
    grids += [(k, v["sigmas"], v["kl"]) for k, v in res.compare.items()]
    rows = []
    for label, sigmas, chain_kl in grids:
        law, target, _ = real_sampler_law(name, data, sigmas, start="marginal", knobs=knobs)
        err = spectral_error(law, target)
        rows.append((label, err["kl"], err["w2"], chain_kl))
    return rows


def _sampler_table(name, rows) -> str:
    best = rows[0][1]
    out = [f"{name} itself (kit spectral probe, exact):"]
    out.append(f"{'schedule':<10} {'KL':>11} {'W2':>11} {'x optimum':>10} {'|KL/chain - 1|':>15}")
    for label, k, w, c in sorted(rows, key=lambda r: (r[0] != "optimal", r[1])):
        out.append(f"{label:<10} {k:11.4e} {w:11.4e} {k / best:10.3g} {abs(k / c - 1):15.1e}")
    return "\n".join(out)


def _figure(res, path, title) -> None:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, row in res.compare.items():
        s = row["sigmas"]
        ax.semilogy(range(len(s) - 1), s[:-1], "o--", ms=3, lw=1, label=f"{name}")
    ax.semilogy(range(len(res.sigmas) - 1), res.sigmas[:-1], "k-o", lw=2, label="optimal")
    ax.set_xlabel("step i")
    ax.set_ylabel("sigma_i")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def handler(args: argparse.Namespace) -> int:
    from analytic import EDM
    from verify.data import MODELS, gaussian_model
    from verify.schedules import optimal_grid

    method = _method(args)
    if args.data not in MODELS:
        raise UserError(f"--data {args.data!r}: choose one of {', '.join(MODELS)}")
    if args.steps < 1:
        raise UserError(f"--steps must be >= 1, got {args.steps}")
    gamma = args.gamma if args.gamma is not None else (1.0 if method == "ancestral" else 0.0)
    if args.sampler is not None and method != "ancestral" and gamma != 0.0:
        raise UserError(f"--sampler {args.sampler} is deterministic: --gamma must be 0")
    try:
        sde = EDM(args.sigma_max)
        data = gaussian_model(args.data)
        res = optimal_grid(sde, data, args.steps, method, gamma, args.objective)
    except (ValueError, ImportError) as exc:
        raise UserError(str(exc)) from exc
    real = None if args.sampler is None else _sampler_rows(args.sampler, data, res, gamma)
    if args.json:
        out = {
            "data": args.data,
            "method": method,
            "gamma": gamma,
            "steps": res.n_steps,
            "sigmas": res.diffusers_sigmas,
            "kl": res.kl,
            "w2": res.w2,
            "compare": {k: {"kl": v["kl"], "w2": v["w2"]} for k, v in res.compare.items()},
            "notes": res.notes,
        }
        if real is not None:
            out["sampler"] = {
                "name": args.sampler,
                "route": "kit spectral probe",
                "rows": {r[0]: {"kl": r[1], "w2": r[2], "chain_kl": r[3]} for r in real},
            }
        print(json.dumps(out, indent=2))
    else:
        title = f"{args.data} (d = {data.dim}), {method}, gamma = {gamma:g}, N = {res.n_steps}"
        print(f"optimal {args.objective} schedule: {title}")
        print("sigmas = [" + ", ".join(f"{s:.6g}" for s in res.sigmas) + "]")
        print(res.table())
        if real is not None:
            print(_sampler_table(args.sampler, real))
    if not args.no_figure:
        path = args.figure or f"schedule-{args.data}-{method}-{res.n_steps}.png"
        _figure(res, path, f"{args.data}, {method}, N = {res.n_steps}")
        if not args.json:
            print(f"figure: {path}")
    return 0
