"""The ``diffusion-verify conformance`` subcommand (the kit's command line).

``diffusion-verify conformance MODULE:FUNCTION [options]`` checks one sampler (a k-diffusion
style function, a diffusers scheduler class or instance with ``--convention diffusers``, or
our convention); ``diffusion-verify conformance --all-known`` runs the kit on every sampler of
the installed peers (k-diffusion, diffusers, torchsde: ``pip install diffusion-verify[peers]``)
and prints one line per sampler. The kit (``verify.kit``) knows nothing of the command line;
this module turns the options into kit calls and prints their summaries (exit 1 if a check
fails, 3 if the sampler raised, hung or exited, 2 for a usage error).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from verify.app.usage import UserError
from verify.kit.conformance import CONVENTIONS, check_sampler
from verify.runtime.progress import Progress

__all__ = ["add_arguments", "handler"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "target",
        metavar="MODULE:FUNCTION",
        nargs="?",
        help="the sampler to check (a function, or a scheduler class / instance)",
    )
    parser.add_argument(
        "--all-known",
        action="store_true",
        help="check every known sampler of the installed peers (k-diffusion, diffusers, "
        "torchsde) and print the conformance table",
    )
    parser.add_argument(
        "--package",
        action="append",
        choices=("k-diffusion", "diffusers", "torchsde"),
        help="with --all-known: only this package (repeatable)",
    )
    parser.add_argument(
        "--backend",
        choices=("auto", "numpy", "torch"),
        default="auto",
        help="array type handed to a k-diffusion-style sampler (auto: torch if its module "
        "imports torch)",
    )
    parser.add_argument(
        "--convention",
        choices=CONVENTIONS,
        default="k-diffusion",
        help="how the sampler is called: k-diffusion sampler(model, x, sigmas, ...), a "
        "diffusers scheduler, or ours sampler(score, x, grid, rng) (default k-diffusion)",
    )
    parser.add_argument("--method", default=None, help="stated method, e.g. euler_ancestral")
    parser.add_argument("--order", type=float, default=None, help="stated weak order")
    parser.add_argument(
        "--knob",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a sampler knob, e.g. --knob eta=1.0 (repeatable)",
    )
    parser.add_argument("--full", action="store_true", help="larger step counts and samples")
    parser.add_argument("--seed", type=int, default=0, help="base seed of the checks (default 0)")
    parser.add_argument(
        "--timeout",
        default="auto",
        metavar="SECONDS",
        help="time limit of one sampler call (default auto: a multiple of the kit's reference "
        "sampler; 'none': no limit, in process)",
    )


def _all_known(args) -> int:
    import importlib.util

    from verify.claims.conformance import PACKAGES, real_table_row, table_rows

    need = {"k-diffusion": "k_diffusion", "diffusers": "diffusers", "torchsde": "torchsde"}
    worst = 0
    for package in args.package or PACKAGES:
        if (
            importlib.util.find_spec(need[package]) is None
            or importlib.util.find_spec("torch") is None
        ):
            print(f"{package}: not installed (pip install diffusion-verify[peers])")
            continue
        print(f"== {package}", flush=True)
        names = list(table_rows(package, not args.full))
        with Progress(len(names), package, tasks=names) as bar:
            for name in names:
                bar.start(name)
                try:
                    row = real_table_row(
                        {
                            "package": package,
                            "name": name,
                            "quick": not args.full,
                            "seed": args.seed,
                        }
                    )
                except ImportError as exc:
                    print(f"{package}: cannot import ({exc})")
                    break
                bar.finish(name)
                worst = max(worst, _print_row(name, row, bar.echo))
    return worst


def _print_row(name: str, row: dict, echo=print) -> int:
    """Print one sampler's row of ``--all-known``; 1 if a check fails, else 0."""
    verdicts = {k: v[0] for k, v in row["checks"].items()}
    kl = ", ".join("-" if k is None else f"{k:.2e}" for k in row["kl"])
    slope = "-" if row["slope"] is None else f"{row['slope']:.2f}"
    echo(
        f"  {name:36s} {row['method']:22s} order {slope:>5s} (stated "
        f"{row['expected'] if row['expected'] is not None else '-'}); KL N=10,25,50: "
        f"{kl}; " + " ".join(f"{k}={v}" for k, v in verdicts.items())
    )
    return int("fails" in verdicts.values())


def handler(args: argparse.Namespace) -> int:
    if os.getcwd() not in sys.path:  # console scripts do not put the working directory on the path
        sys.path.insert(0, os.getcwd())
    if args.all_known:
        return _all_known(args)
    if not args.target:
        raise UserError("give MODULE:FUNCTION (the sampler to check) or --all-known")
    mod, _, attr = args.target.partition(":")
    if not mod or not attr:
        raise UserError(f"expected MODULE:FUNCTION, got {args.target!r}")
    try:
        obj = getattr(importlib.import_module(mod), attr)
    except (ImportError, AttributeError) as exc:
        raise UserError(f"cannot load {args.target!r}: {exc}") from None
    knobs = {}
    for kv in args.knob:
        k, sep, v = kv.partition("=")
        if not sep:
            raise UserError(f"--knob needs NAME=VALUE, got {kv!r}")
        try:
            knobs[k] = float(v)
        except ValueError:
            knobs[k] = v
    timeout = args.timeout
    if timeout not in ("auto", "none"):
        try:
            timeout = float(timeout)
        except ValueError:
            raise UserError(
                f"--timeout must be a number of seconds, auto or none, got {timeout!r}"
            ) from None
    try:
        rep = check_sampler(
            obj,
            args.convention,
            args.method,
            order=args.order,
            quick=not args.full,
            seed=args.seed,
            name=args.target,
            backend=args.backend,
            timeout=None if timeout == "none" else timeout,
            **knobs,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    print(rep.summary())
    return {"fails": 1, "error": 3}.get(rep.verdict, 0)  # 3: the sampler raised (EXIT_CODES)
