"""The ``diffusion-verify tighten ID`` subcommand: one tightness search, its trace and worst case.

``ID`` is a bound of ``verify.tightness.bounds.BOUNDS`` (``lsi-rate``) or its claim id
(``tightness.lsi-rate``). ``--budget`` is ``quick``, ``full`` or a number of settings; the
search's seed is ``task_seed(--seed, "tightness", key)``, as in the ``tightness.*`` claims, so
``tighten ID --budget quick --seed 0`` reproduces the claim's numbers. Prints the trace (the
smallest bound/truth against the settings evaluated), the worst setting, both values, the best
constant and the certificate (``--json``: the run as JSON). Exit 1 if the search certifies a
counterexample.
"""

from __future__ import annotations

import argparse
import json

from verify.app.usage import UserError

__all__ = ["add_arguments", "handler"]


def _budget(text: str):
    if text in ("quick", "full"):
        return text
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected quick, full or a number of settings >= 8, got {text!r}"
        ) from None
    if n < 8:
        raise argparse.ArgumentTypeError(f"a budget needs at least 8 settings, got {n}")
    return n


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("id", metavar="ID", help="a bound, e.g. lsi-rate or tightness.lsi-rate")
    parser.add_argument(
        "--budget",
        type=_budget,
        default="quick",
        help="quick (default), full, or a number of settings to evaluate",
    )
    parser.add_argument("--seed", type=int, default=0, help="base seed (default 0)")
    parser.add_argument("--json", action="store_true", help="print the run as JSON")
    parser.add_argument(
        "--trace-rows", type=int, default=20, help="rows of the printed trace (default 20)"
    )


def _trace(trace, rows: int) -> list[str]:
    if rows > 0 and len(trace) > rows:
        step = (len(trace) - 1) / (rows - 1) if rows > 1 else len(trace)
        picked = sorted({round(i * step) for i in range(rows)})
        trace = [trace[i] for i in picked]
    lines = [f"  {'settings':>8}  smallest bound/truth"]
    lines += [f"  {int(n):>8}  {best:.12g}" for n, best in trace]
    return lines


def _setting(setting: dict) -> str:
    return ", ".join(f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}" for k, v in
                     setting.items())  # fmt: skip


def handler(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from verify.claims.base import to_jsonable
    from verify.tightness.bounds import BOUNDS, get_bound
    from verify.tightness.runner import run_bound

    try:
        bound = get_bound(args.id)
    except KeyError:
        known = ", ".join(BOUNDS)
        raise UserError(f"unknown bound {args.id!r}; known bounds: {known}") from None
    if args.seed < 0:
        raise UserError(f"--seed must be a non-negative integer, got {args.seed}")
    run = run_bound(bound.key, args.budget, args.seed, grid_n=0)
    if args.json:
        print(json.dumps(to_jsonable(asdict(run)), indent=2))
        return 1 if run.verdict == "fails" else 0
    out = [
        f"tightness.{bound.key}: {bound.title}",
        f"  {bound.formula}",
        f"  checks: {bound.checks}; truth: {bound.truth_name}",
        f"search: {run.evaluations} settings (budget {args.budget}, seed {args.seed}), "
        f"{sum(run.skipped.values())} undefined {run.skipped or ''}".rstrip(),
        "trace:",
        *_trace(run.trace, args.trace_rows),
        f"worst setting: {_setting(run.setting)}",
        f"  bound = {run.bound_value:.15g}, truth = {run.truth_value:.15g}, "
        f"bound/truth = {run.worst_ratio:.15g}",
    ]
    if run.theorem_constant is not None:
        out.append(f"best constant: {run.best_constant:.6g} (theorem: {run.theorem_constant:g})")
    cert = run.certificate or run.worst_check
    if cert:
        label = "certificate" if run.certificate else "high-precision check"
        out.append(
            f"{label}: bound = {cert['bound']}, truth = {cert['truth']}, ratio = "
            f"{cert['ratio']} ({cert['method']})"
        )
    for k, v in run.extra.items():
        out.append(f"{k}: {v:.6g}")
    out.append(f"verdict: {run.verdict}")
    print("\n".join(out))
    return 1 if run.verdict == "fails" else 0
