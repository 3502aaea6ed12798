"""The ``diffusion-verify schedule`` subcommand: the optimal noise schedule of one sampler on a
Gaussian data model, the comparison with the standard schedules, and a figure.

``--data`` is a model of ``verify.data.gaussian_model`` (``power-law``, ``digits``, ...);
``--method`` one of ``verify.schedules.CHAIN_METHODS`` (or ``--sampler k-diffusion:sample_X``
for the k-diffusion sampler of that recursion); ``--steps`` the number of sampler steps.
Prints the optimal sigmas (k-diffusion form) and the table (KL, W2, ratio to the optimum) and
writes ``--figure`` (default ``schedule-<data>-<method>-<N>.png``; ``--no-figure`` to skip).
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
    try:
        sde = EDM(args.sigma_max)
        data = gaussian_model(args.data)
        res = optimal_grid(sde, data, args.steps, method, gamma, args.objective)
    except (ValueError, ImportError) as exc:
        raise UserError(str(exc)) from exc
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
        print(json.dumps(out, indent=2))
    else:
        title = f"{args.data} (d = {data.dim}), {method}, gamma = {gamma:g}, N = {res.n_steps}"
        print(f"optimal {args.objective} schedule: {title}")
        print("sigmas = [" + ", ".join(f"{s:.6g}" for s in res.sigmas) + "]")
        print(res.table())
    if not args.no_figure:
        path = args.figure or f"schedule-{args.data}-{method}-{res.n_steps}.png"
        _figure(res, path, f"{args.data}, {method}, N = {res.n_steps}")
        if not args.json:
            print(f"figure: {path}")
    return 0
