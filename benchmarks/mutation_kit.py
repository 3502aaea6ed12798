"""Mutation score of the conformance kit's decision modules (issue 21, item 9).

Drives the dependency-free mutation tester ``tests/mutate.py`` (AST mutations, one at a time,
on a temporary copy of the repository; see its docstring for the operators) over the kit's
modules, each with a fast subset of the tests that exercise it (:data:`TESTS`), and writes the
score and the surviving mutants to ``docs/runs/mutation-kit.json``. The score is
``killed / (run - equivalent)``; equivalent mutants are listed, with the reason, in
``tests/mutate_equivalent.txt``. A seeded sample per module keeps the run bounded::

    nice -n 10 python benchmarks/mutation_kit.py --max 25 --seed 0 --jobs 1
    nice -n 10 python benchmarks/mutation_kit.py verify/kit/checks/final_step.py --max 40
    python benchmarks/mutation_kit.py --rerun docs/runs/mutation-kit.json  # survivors

Modules are arguments (default :data:`TESTS`' keys), so the run repeats after the kit's
modules move; a module without an entry in :data:`TESTS` uses the test files importing it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import mutate  # noqa: E402  (tests/mutate.py)

OUT = ROOT / "docs" / "runs" / "mutation-kit.json"

_REPLAYS, _RULES = "tests/test_kit_replays.py", "tests/test_kit_rules.py"
TESTS = {
    "verify/kit/checks/final_step.py": [_RULES, _REPLAYS],
    "verify/kit/checks/start_law.py": [_RULES, _REPLAYS],
    "verify/kit/checks/bookkeeping.py": [_RULES, _REPLAYS],
    "verify/kit/checks/step_counts.py": [_RULES, "tests/test_kit_never_crashes.py"],
    "verify/kit/checks/clipping.py": [_RULES, "tests/test_kit_clipping.py"],
    "verify/kit/checks/precision.py": ["tests/test_kit_precision.py"],
    "verify/kit/guard_args.py": [_RULES, "tests/test_conformance_usage_errors.py"],
}
"""module -> the fast tests that decide its mutants (the first failure kills: ``-x``)."""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="*", type=Path, default=[Path(m) for m in TESTS])
    ap.add_argument("--max", type=int, default=25, help="mutants sampled per module")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per mutant (min)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--rerun", type=Path, default=None, help="only the survivors in this json")
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args(argv)
    if args.rerun:  # mutate.py reads a list of module summaries
        data = json.loads(args.rerun.read_text())
        tmp = Path("/tmp") / f"mutation_kit_rerun_{args.rerun.stem}.json"
        tmp.write_text(json.dumps(data["modules"] if isinstance(data, dict) else data))
        args.rerun = tmp
    mutate._preimport()
    equivalent = mutate.load_equivalent()
    summary = []
    for mod in args.modules:
        tests = [t for t in TESTS.get(str(mod), []) if (ROOT / t).exists()] or None
        summary.append(mutate.run_module(ROOT / mod, tests, args, equivalent))
    run = sum(s["run"] for s in summary)
    killed = sum(s["killed"] + s["timeout"] for s in summary)
    eq = sum(s["equivalent"] for s in summary)
    err = sum(s["error"] for s in summary)
    score = killed / (run - eq - err) if run - eq - err else 1.0
    line = f"killed {killed} / (run {run} - equivalent {eq} - errors {err}) = {100 * score:.1f}%"
    print(f"\nkit: {line}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    total = {"killed": killed, "run": run, "equivalent": eq, "errors": err, "score": score}
    result = {"seed": args.seed, "max": args.max, "total": total, "modules": summary}
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
