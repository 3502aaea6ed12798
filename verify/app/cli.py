"""The ``diffusion-verify`` command line (also ``python -m verify``).

Subcommands::

    diffusion-verify list
    diffusion-verify check ID [ID ...] [--json] [--budget quick|full] [--seed N]
                           [--jobs N | --scheduler ADDR] [--out DIR]
    diffusion-verify report [--out DIR] [--budget quick|full] [--seed N]
                            [--jobs N | --scheduler ADDR] [--only PATTERN ...]

Verdicts: ``holds``, ``fails`` (a recorded finding expects it), ``inconclusive``, ``error`` (the
claim raised), ``skipped`` (a requirement is missing). Exit codes of ``check`` and ``report``
(:data:`verify.claims.base.EXIT_CODES`): 0 every verdict is the expected one (inconclusive and
skipped allowed); 1 one differs (``--strict``: or is inconclusive / skipped); 2 user error
(unknown claim id, unreachable scheduler, bad option, unreadable results file), one line on
stderr; 3 a claim raised an error. Progress goes to stderr; stdout holds the table, the JSON or
the report path.

Adding a subcommand is one call::

    register_subcommand("conformance", "check a user's sampler", add_arguments, handler)

where ``add_arguments(parser)`` declares options and ``handler(args) -> int`` runs it
(raise :class:`UserError` for a user mistake).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from verify.app.output import ReportTarget, check_output_dir
from verify.app.usage import UserError

__all__ = ["main", "build_parser", "register_subcommand", "SUBCOMMANDS", "UserError", "PROG"]

PROG = "diffusion-verify"


@dataclass(frozen=True)
class Subcommand:
    """A CLI subcommand: its help line, argument declarations and handler."""

    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], int]


SUBCOMMANDS: dict[str, Subcommand] = {}
"""Subcommands in the order they are listed by ``--help``."""


def register_subcommand(
    name: str,
    help: str,
    add_arguments: Callable[[argparse.ArgumentParser], None],
    handler: Callable[[argparse.Namespace], int],
) -> None:
    """Add (or replace) a subcommand of ``diffusion-verify``."""
    SUBCOMMANDS[name] = Subcommand(help, add_arguments, handler)


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are one line (no usage dump)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _nonneg_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {text!r}")
    return value


def add_run_arguments(parser: argparse.ArgumentParser, out_help: str) -> None:
    """The options shared by subcommands that run claims (budget, seed, executor, out)."""
    parser.add_argument(
        "--budget",
        choices=("quick", "full"),
        default="quick",
        help="quick: seconds per claim (default); full: the thorough version",
    )
    parser.add_argument("--seed", type=_nonneg_int, default=0, help="base seed (default 0)")
    parser.add_argument(
        "--jobs",
        "-j",
        type=_nonneg_int,
        default=None,
        help=(
            "run claims in N worker processes (default: one per CPU, or $DIFFUSION_VERIFY_JOBS;"
            " 1: one after the other in this process; a single claim's sweeps use the N)"
        ),
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDR",
        default=None,
        help="run parameter sweeps on the Dask cluster at ADDR (e.g. tcp://host:8786)",
    )
    parser.add_argument("--out", metavar="DIR", default=None, help=out_help)
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress on stderr")
    parser.add_argument(
        "--strict",
        action="store_true",
        help=(
            "exit 1 also when a verdict is inconclusive or skipped (by default only a verdict "
            "other than the expected one, e.g. a claim that should hold and fails, exits 1)"
        ),
    )


# ----------------------------------------------------------------------------- helpers
def _registry():
    from verify.claims import registry

    return registry


def _select(patterns: Sequence[str]):
    registry = _registry()
    claims = registry.all_claims()
    if not claims:
        raise UserError("no claims are registered (verify.claims.registry.CLAIM_MODULES is empty)")
    return registry.select(patterns, claims)


def _jobs(args: argparse.Namespace) -> int:
    """Worker processes: ``--jobs``, else ``$DIFFUSION_VERIFY_JOBS``, else one per CPU.

    More workers than CPUs only multiply memory (``--jobs 1000`` once spawned 60 workers and
    9.8 GB on 2 cores): the number is capped at the CPU count, with a note on stderr.
    """
    cpus = os.cpu_count() or 1
    if args.jobs is not None:
        jobs, origin = args.jobs or cpus, "--jobs"
    else:
        env = os.environ.get("DIFFUSION_VERIFY_JOBS", "")
        if not env.strip():
            return cpus
        try:
            jobs = int(env)
        except ValueError:
            raise UserError(f"DIFFUSION_VERIFY_JOBS must be an integer, got {env!r}") from None
        if jobs < 0:
            raise UserError(f"DIFFUSION_VERIFY_JOBS must be >= 0 (0: one per CPU), got {jobs}")
        jobs, origin = jobs or cpus, "DIFFUSION_VERIFY_JOBS"
    if jobs > cpus:
        if not getattr(args, "quiet", False):
            print(
                f"{PROG}: {origin} {jobs} is more than the {cpus} CPUs; using {cpus} workers",
                file=sys.stderr,
            )
        jobs = cpus
    return jobs


def _executor(args: argparse.Namespace, n_claims: int = 2):
    """The executor for the claims' own sweeps: Dask with ``--scheduler``; a process pool
    when a single claim runs with several jobs; otherwise local (the claims themselves are
    spread over the worker processes by :func:`_run`)."""
    from verify.runtime.sweep import make_executor

    jobs = 1 if args.scheduler else _jobs(args)
    try:
        if args.scheduler and args.jobs not in (None, 1):
            raise ValueError("give either --jobs or --scheduler, not both")
        return make_executor(jobs=jobs if n_claims == 1 else 1, scheduler=args.scheduler)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def _describe(args, executor, n_claims: int) -> str:
    jobs = 1 if args.scheduler or n_claims == 1 else _jobs(args)
    if jobs > 1:
        return f"claims on a process pool ({jobs} workers), sweeps local"
    return f"claims one after the other, sweeps: {executor.describe()}"


def _previous_durations(out: Path | None) -> dict[str, float]:
    """Seconds per claim id from a previous ``results.json`` in ``out`` (for scheduling)."""
    if out is None:
        return {}
    try:
        claims = json.loads((out / "results.json").read_text(encoding="utf-8"))["claims"]
        return {c["id"]: float(c.get("seconds", 0.0)) for c in claims}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _run(args, claims, figure_dir: Path, executor, durations=None) -> list[dict]:
    from verify.claims.base import RunContext, run_claims

    ctx = RunContext(
        budget=args.budget,
        seed=args.seed,
        figure_dir=figure_dir,
        executor=executor,
        stream=None if args.quiet else sys.stderr,
    )
    jobs = 1 if args.scheduler or len(claims) == 1 else _jobs(args)
    return run_claims(claims, ctx, jobs=jobs, durations=durations)


def _aligned(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cells = [[str(h) for h in header]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


# ----------------------------------------------------------------------------- list
def _list_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("patterns", nargs="*", metavar="PATTERN", help="ids or globs to show")
    parser.add_argument(
        "--long",
        action="store_true",
        help="every field of each claim's card (statement, source, setting, rung, docs)",
    )


def _one_line(text: str, width: int) -> str:
    """``text`` on one line of at most ``width`` characters, cut at a word boundary with an
    ellipsis (a single word longer than ``width`` is cut inside, still with the ellipsis)."""
    text = " ".join(str(text).split())
    if len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    cut = text.rfind(" ", 0, width)  # the last space such that text[:cut] + "…" fits
    head = text[:cut] if cut > 0 else text[: width - 1]
    return head.rstrip(" ,;:") + "…"


def _terminal_width() -> int:
    """Columns of the terminal (``$COLUMNS`` when set; 160 when stdout is not a terminal)."""
    return shutil.get_terminal_size((160, 24)).columns


def _list(args: argparse.Namespace) -> int:
    from verify.claims.base import requirement_name
    from verify.claims.render import short_source

    registry = _registry()
    claims = registry.all_claims()
    if args.patterns:
        claims = registry.select(args.patterns, claims)
    if not claims:
        print("no claims registered", file=sys.stderr)
        return 0
    if args.long:
        for c in claims:
            print(f"{c.id}\n" + "".join(f"  {k}: {v}\n" for k, v in _card_fields(c)))
        return 0
    rows = [
        [
            c.id,
            c.title,
            c.expected,
            ", ".join(dict.fromkeys(requirement_name(r).split(".")[0] for r in c.requires)) or "-",
            short_source(c.source),
        ]
        for c in claims
    ]
    header = ["id", "title", "expected", "requires", "source"]
    stages = [(4, 8), (1, 30), (3, 12), (1, 12)]  # source, title, requires, title again
    print(_fit(header, rows, _terminal_width(), stages))
    return 0


def _fit(header, rows, width: int, stages: Sequence[tuple[int, int]]) -> str:
    """An aligned table no wider than ``width`` where possible: ``stages`` are ``(column,
    narrowest width)`` pairs, applied in order; cells are shortened at word boundaries."""
    cells = [[" ".join(str(c).split()) for c in row] for row in rows]
    widths = [max(len(str(h)), *(len(r[j]) for r in cells)) for j, h in enumerate(header)]
    excess = sum(widths) + 2 * (len(widths) - 1) - width
    for j, narrowest in stages:
        if excess <= 0:
            break
        floor = max(narrowest, len(str(header[j])))
        cut = min(excess, max(0, widths[j] - floor))
        widths[j] -= cut
        excess -= cut
    rows = [[_one_line(c, w) for c, w in zip(r, widths, strict=True)] for r in cells]
    return _aligned(header, rows)


def _card_fields(c) -> list[tuple[str, str]]:
    from verify.claims.base import RUNG_NAMES, requirement_name

    fields = [
        ("statement", c.statement),
        ("source", c.source),
        ("setting", c.setting),
        ("rung", f"{c.rung} ({RUNG_NAMES[c.rung]})" if c.rung in RUNG_NAMES else "-"),
        ("tolerance", c.tolerance or "-"),
        ("mathematics", c.doc or "-"),
        ("budgets", ", ".join(c.budgets)),
    ]
    if c.requires:
        fields.append(("requires", ", ".join(map(requirement_name, c.requires))))
    if c.finding:
        fields.append(("what holds instead (if it fails)", c.finding))
    return fields


# ----------------------------------------------------------------------------- check
def _check_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("ids", nargs="+", metavar="ID", help="claim ids or globs ('theory.*')")
    parser.add_argument("--json", action="store_true", help="print a JSON list of claim objects")
    add_run_arguments(parser, "keep the figures in DIR/figures (default: not kept)")


def _check(args: argparse.Namespace) -> int:
    claims = _select(args.ids)
    keep = args.out is not None
    if keep:
        figure_dir = check_output_dir(args.out) / "figures"
    else:
        figure_dir = Path(tempfile.mkdtemp(prefix="diffusion-verify-check-"))
    try:
        with _executor(args, len(claims)) as executor:
            results = _run(args, claims, figure_dir, executor)
    finally:
        if not keep:
            shutil.rmtree(figure_dir, ignore_errors=True)
    if not keep:
        for r in results:  # the figures were removed with the temporary directory
            r["figures"] = []
    if args.json:
        print(json.dumps(results, indent=2))
    else:
        _print_check_table(results, strict=args.strict)
    if not args.quiet:
        if keep:
            print(f"figures in {figure_dir}", file=sys.stderr)
        else:
            print("figures not kept: pass --out DIR to keep them", file=sys.stderr)
    return _exit(results, args.strict)


def _exit(results: list[dict], strict: bool) -> int:
    """The exit code (:func:`verify.claims.base.exit_code`); unexpected verdicts on stderr."""
    from verify.claims.base import exit_code, unexpected

    for r in results:
        why = unexpected(r, strict=strict)
        if why:
            print(f"{PROG}: {r['id']}: {why}", file=sys.stderr)
    return exit_code(results, strict=strict)


def _print_check_table(results: list[dict], strict: bool = False) -> None:
    from verify.app.report import summary_line
    from verify.claims.base import unexpected

    def verdict(r: dict) -> str:
        if r["verdict"] == r.get("expected", "holds"):
            return r["verdict"] + (" (expected)" if r["verdict"] == "fails" else "")
        return r["verdict"] + (" (UNEXPECTED)" if unexpected(r, strict=strict) else "")

    rows = [
        [
            r["id"],
            verdict(r),
            r["rung"] if r["rung"] is not None else "-",
            r["key_number"],
            f"{r['seconds']:.2f}",
        ]
        for r in results
    ]
    print(_aligned(["id", "verdict", "rung", "key number", "seconds"], rows))
    notes = [r for r in results if r["verdict"] != "holds"]
    if notes:
        print()
        for r in notes:
            print(f"{r['id']} ({r['verdict']}): {r['reason']}")
    print()
    print(summary_line(results))


# ----------------------------------------------------------------------------- report
def _report_arguments(parser: argparse.ArgumentParser) -> None:
    add_run_arguments(parser, "report directory (default reports/latest)")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="PATTERN",
        default=None,
        help="run only these claim ids or globs ('stochasticity.*')",
    )


def _report(args: argparse.Namespace) -> int:
    from verify.app.report import collect_meta, summary_line, write_report

    start = time.perf_counter()
    registry = _registry()
    claims = _select(args.only) if args.only else registry.all_claims()
    default_out = os.path.join("reports", "latest")
    out = check_output_dir(default_out if args.out is None else args.out, report=True)
    rerun = [PROG, "report", "--budget", args.budget, "--seed", str(args.seed), "--out", str(out)]
    if args.only:
        rerun += ["--only", *args.only]
    with ReportTarget(out) as target, _executor(args, len(claims)) as executor:
        described = _describe(args, executor, len(claims))
        durations = _previous_durations(out)
        results = _run(args, claims, target.staging / "figures", executor, durations)
        meta = collect_meta(
            budget=args.budget,
            seed=args.seed,
            command=shlex.join([PROG, *args.argv]),
            seconds=time.perf_counter() - start,
            rerun=shlex.join(rerun),
            executor=described,
        )
        write_report(results, target.staging, meta)
        target.commit()
    print(summary_line(results))
    print(out / "index.html")
    return _exit(results, args.strict)


register_subcommand(
    "list", "list the claims: id, statement, source, budgets", _list_arguments, _list
)
register_subcommand(
    "check",
    "run claims; exit 1 if a verdict is not the expected one, 3 if a claim raised",
    _check_arguments,
    _check,
)
register_subcommand(
    "report", "run claims and write an HTML/Markdown/JSON report", _report_arguments, _report
)


# ----------------------------------------------------------------------------- compare
def _compare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("old", metavar="OLD", help="results.json (or check --json output)")
    parser.add_argument("new", metavar="NEW", help="results.json (or check --json output)")
    parser.add_argument(
        "--rtol", type=float, default=1e-9, help="relative tolerance for numbers (1e-9)"
    )
    parser.add_argument(
        "--atol", type=float, default=1e-12, help="absolute tolerance for numbers (1e-12)"
    )
    parser.add_argument(
        "--only", nargs="+", metavar="PATTERN", default=None, help="compare only these ids/globs"
    )
    parser.add_argument(
        "--fail-on-change",
        action="store_true",
        help="exit 1 also when a number moved beyond the tolerances (not only a verdict)",
    )


def _compare(args: argparse.Namespace) -> int:
    from verify.app.compare import compare_runs

    try:
        comparison = compare_runs(
            args.old, args.new, rtol=args.rtol, atol=args.atol, only=args.only
        )
    except ValueError as exc:
        raise UserError(str(exc)) from None
    print(comparison.render())
    if comparison.worse:
        return 1
    return 1 if args.fail_on_change and comparison.changed else 0


register_subcommand(
    "compare",
    "compare two runs: verdicts (against the expected ones) and numbers that moved; exit 1 if "
    "a verdict got worse or a number became inf/NaN, 2 if a file is not a results.json",
    _compare_arguments,
    _compare,
)


def _tighten_arguments(parser: argparse.ArgumentParser) -> None:
    from verify.app import tighten_command

    tighten_command.add_arguments(parser)


def _tighten(args: argparse.Namespace) -> int:
    from verify.app import tighten_command

    return tighten_command.handler(args)


register_subcommand(
    "tighten",
    "search one bound for its worst case and print the search's trace",
    _tighten_arguments,
    _tighten,
)


def _conformance_arguments(parser: argparse.ArgumentParser) -> None:
    from verify.app import conformance_command

    conformance_command.add_arguments(parser)


def _conformance(args: argparse.Namespace) -> int:
    from verify.app import conformance_command

    return conformance_command.handler(args)


register_subcommand(
    "conformance",
    "check a user's sampler against exact answers",
    _conformance_arguments,
    _conformance,
)


def _schedule_arguments(parser: argparse.ArgumentParser) -> None:
    from verify.app import schedule_command

    schedule_command.add_arguments(parser)


def _schedule(args: argparse.Namespace) -> int:
    from verify.app import schedule_command

    return schedule_command.handler(args)


register_subcommand(
    "schedule",
    "the noise schedule minimising a sampler's exact error on a Gaussian data model",
    _schedule_arguments,
    _schedule,
)


# ----------------------------------------------------------------------------- main
def build_parser() -> argparse.ArgumentParser:
    """The argparse parser with every registered subcommand."""
    parser = _Parser(
        prog=PROG,
        description="Check the theory of score-based diffusion sampling against exact answers.",
        epilog=exit_code_help(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, spec in SUBCOMMANDS.items():
        extra = {}
        if name in ("check", "report"):
            extra = {
                "epilog": exit_code_help(),
                "formatter_class": argparse.RawDescriptionHelpFormatter,
            }
        p = sub.add_parser(name, help=spec.help, description=spec.help, **extra)
        spec.add_arguments(p)
        p.set_defaults(handler=spec.handler)
    return parser


def _version() -> str:
    from verify import __version__

    return __version__


VERDICT_HELP = (
    ("holds", "the exact answers support the statement"),
    ("fails", "they refute it (expected for a recorded finding)"),
    ("inconclusive", "the evidence cannot decide at this budget"),
    ("error", "the claim itself raised (a bug; traceback in the JSON)"),
    ("skipped", "a requirement is missing (the reason names the install)"),
)


def exit_code_help() -> str:
    """The verdicts and the exit-code table shown by ``--help`` (and quoted in README)."""
    from verify.claims.base import EXIT_CODES

    lines = ["verdicts:"]
    lines += [f"  {v:<13} {text}" for v, text in VERDICT_HELP]
    lines += ["", "exit codes (check, report):"]
    lines += [f"  {code}  {text}" for code, text in EXIT_CODES]
    return "\n".join(lines)


BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _single_threaded_blas() -> None:
    """One BLAS thread per process, unless the user set one: the claims multiply small
    matrices (threads only add overhead there: a 2 x 2 triangular solve measured 15-45 ms with
    OpenBLAS threads on a busy 2-core machine, 0.3 ms with one) and the workers already use
    every core. Effective only before NumPy is first imported (the command line's case)."""
    if "numpy" in sys.modules:
        return
    for var in BLAS_THREAD_VARIABLES:
        os.environ.setdefault(var, "1")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code (:data:`verify.claims.base.EXIT_CODES`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    _single_threaded_blas()
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exc:  # --help, or an argparse error (already printed)
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    args.argv = argv

    from verify.claims.registry import ClaimModuleError, UnknownClaimError
    from verify.runtime.sweep import ExecutorError

    try:
        return int(args.handler(args))
    except (UserError, UnknownClaimError, ExecutorError, ClaimModuleError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\n{PROG}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # e.g. `diffusion-verify list | head`: the reader left
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 (no flush error at exit)
        except OSError:
            pass
        return 0
    except OSError as exc:  # a full disk, a name too long, a file system gone read-only
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"{PROG}: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
