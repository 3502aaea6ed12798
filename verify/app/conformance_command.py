"""The ``diffusion-verify conformance MODULE:FUNCTION`` subcommand (the kit's command line).

The kit (``verify.kit``) knows nothing of the command line; this module turns the options
into a ``check_sampler`` call and prints its summary (exit 1 if a check fails).
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
    parser.add_argument("target", metavar="MODULE:FUNCTION", help="the sampler to check")
    parser.add_argument("--convention", choices=CONVENTIONS, default="k-diffusion")
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
    parser.add_argument("--seed", type=int, default=0)


def handler(args: argparse.Namespace) -> int:
    if os.getcwd() not in sys.path:  # console scripts do not put the working directory on the path
        sys.path.insert(0, os.getcwd())
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
    try:
        rep = check_sampler(
            obj,
            args.convention,
            args.method,
            order=args.order,
            quick=not args.full,
            seed=args.seed,
            name=args.target,
            **knobs,
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    print(rep.summary())
    return 1 if rep.verdict == "fails" else 0
