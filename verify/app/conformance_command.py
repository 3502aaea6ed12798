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
    parser.add_argument(
        "--jobs",
        type=int,
        default=2,
        help="with --all-known: rows checked in parallel on this many processes (default 2, "
        "capped at the CPU count; 1: one after the other)",
    )
    parser.add_argument("--seed", type=int, default=0, help="base seed of the checks (default 0)")
    parser.add_argument(
        "--timeout",
        default="auto",
        metavar="SECONDS",
        help="time limit of one sampler call (default auto: a multiple of the kit's reference "
        "sampler; 'none': no limit, in process)",
    )


def _table_row(task):
    """One row of the table, or ``(None, why)`` when the package cannot be imported (a
    module-level function: the pool's workers call it)."""
    from verify.claims.conformance import real_table_row

    try:
        return real_table_row(task), None
    except ImportError as exc:
        return None, f"cannot import ({exc})"


def _warm(package) -> None:
    """Import ``package``'s samplers in the parent, so the forked workers share them."""
    try:
        if package == "k-diffusion":
            from verify.kit.adapters.kdiffusion import load_sampling

            load_sampling()
        else:
            importlib.import_module("diffusers" if package == "diffusers" else "torchsde")
    except Exception:  # noqa: BLE001 - a row reports the import error itself
        pass


def _rows_in_order(tasks, jobs):
    """``_table_row`` of each task, in order, on ``jobs`` processes (forked: the workers
    inherit the parent's imports; a row prints as soon as it and the rows before it are
    done)."""
    if jobs <= 1 or len(tasks) < 2:
        yield from map(_table_row, tasks)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
        yield from pool.map(_table_row, tasks)


def _all_known(args) -> int:
    import importlib.util

    from verify.claims.conformance import PACKAGES, table_rows

    need = {"k-diffusion": "k_diffusion", "diffusers": "diffusers", "torchsde": "torchsde"}
    worst = 0
    tasks = []
    for package in args.package or PACKAGES:
        if (
            importlib.util.find_spec(need[package]) is None
            or importlib.util.find_spec("torch") is None
        ):
            print(f"{package}: not installed (pip install diffusion-verify[peers])")
            continue
        _warm(package)
        tasks += [
            {"package": package, "name": name, "quick": not args.full, "seed": args.seed}
            for name in table_rows(package, not args.full)
        ]
    jobs = max(1, min(int(args.jobs), os.cpu_count() or 1, len(tasks) or 1))
    shown, broken = None, set()
    for task, (row, why) in zip(tasks, _rows_in_order(tasks, jobs), strict=True):
        package, name = task["package"], task["name"]
        if package != shown:
            print(f"== {package}", flush=True)
            shown = package
        if package in broken:
            continue
        if row is None:
            print(f"{package}: {why}", flush=True)
            broken.add(package)
            continue
        verdicts = {k: v[0] for k, v in row["checks"].items()}
        worst = max(worst, int("fails" in verdicts.values()))
        kl = ", ".join("-" if k is None else f"{k:.2e}" for k in row["kl"])
        slope = "-" if row["slope"] is None else f"{row['slope']:.2f}"
        print(
            f"  {name:36s} {row['method']:22s} order {slope:>5s} (stated "
            f"{row['expected'] if row['expected'] is not None else '-'}); KL N=10,25,50: "
            f"{kl}; " + " ".join(f"{k}={v}" for k, v in verdicts.items()),
            flush=True,
        )
    return worst


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
