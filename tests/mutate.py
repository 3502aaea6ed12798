"""A small, dependency-free mutation tester (issue 12 §6).

One command (all modules of ``analytic/``, a sample of 120 mutants each, 2 parallel jobs)::

    python tests/mutate.py analytic/*.py --max 120 --seed 0 --jobs 2 \\
        --tests tests/test_analytic_hardening.py tests/test_sde.py tests/test_kl.py \\
                tests/test_families.py tests/test_lsi.py

The sampler / exact-law code (``verify/solvers``; 40-60 mutants a module, ~15 min each on 2
cores: a surviving mutant costs the whole list, ~65 s)::

    python tests/mutate.py verify/solvers/methods.py verify/solvers/reverse.py \
        verify/solvers/particles.py verify/solvers/chain_laws.py --max 60 --seed 0 --jobs 2 \
        --tests tests/test_exact_score_errors.py tests/test_methods.py \
                tests/test_reverse_family.py tests/test_particles_guards.py \
                tests/test_samplers.py tests/test_exact.py tests/test_order.py \
                tests/test_path_kl.py tests/test_fuzz_solvers.py tests/test_kit_claims.py \
                tests/test_grids.py tests/test_fokker_planck.py

Single module, default test mapping (the test files that import it)::

    python tests/mutate.py analytic/gaussian.py [--tests tests/test_x.py ...] [--max N] [--seed S]

Re-run only the survivors of an earlier run after adding tests (matched by source line and
mutation, so unrelated edits do not break the match)::

    python tests/mutate.py analytic/sde.py --json run.json ...; python tests/mutate.py \
        analytic/sde.py --rerun run.json --tests tests/test_analytic_hardening.py

How it works. The module is parsed with ``ast`` and every mutation point is listed: operator
swaps (``+ <-> -``, ``* <-> /``, ``< <-> <=``, ``> <-> >=``, ``== <-> !=``, ``is <-> is not``,
``in <-> not in``, ``and <-> or``), dropping the right term of a sum or difference, dropping a
unary ``-`` or ``not``, numeric constants (``0 -> 1``, ``1 -> 0``, ``2 -> 1``, ``c -> 2c``),
``True <-> False``, ``return x -> return None`` (and ``-x`` for arithmetic returns), dropping a
``raise``, a bare call statement or an augmented assignment (replaced by ``pass``) and negating
``if``/``while`` conditions. Docstrings, strings, f-strings, annotations, ``__all__`` and code
marked ``# pragma: no cover`` / ``# pragma: no mutate`` are left alone. Each mutant is
spliced into the original text (the rest of the file is byte-identical), written over a file
of a *temporary copy* of the repository (the real tree is never touched) and the mapped tests
run there with ``-x -q -p no:cacheprovider --hypothesis-seed=0`` (reproducible) in a forked
child (the parent pre-imports numpy/scipy/sympy/hypothesis/pytest once, so a mutant costs
only its tests), killed after ``--timeout`` seconds (a hang counts as killed). A baseline run
of the unmutated copy must pass first.

Equivalent mutants (behaviour-identical) are listed in ``tests/mutate_equivalent.txt`` as
``path :: stripped source line :: mutation :: reason``; the score is killed / non-equivalent.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import json
import os
import random
import shlex
import shutil
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_EXTRA: list[str] = []  # extra pytest arguments (--pytest-args)
EQUIVALENT_FILE = Path(__file__).resolve().parent / "mutate_equivalent.txt"
_SKIP_PRAGMAS = ("pragma: no cover", "pragma: no mutate")

_BINOP_SWAP = {ast.Add: "-", ast.Sub: "+", ast.Mult: "/", ast.Div: "*"}
_BINOP_TEXT = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CMP_TEXT = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.In: "in",
    ast.NotIn: "not in",
}
_CMP_SWAP = {
    ast.Lt: "<=",
    ast.LtE: "<",
    ast.Gt: ">=",
    ast.GtE: ">",
    ast.Eq: "!=",
    ast.NotEq: "==",
    ast.Is: "is not",
    ast.IsNot: "is",
    ast.In: "not in",
    ast.NotIn: "in",
}


@dataclass
class Mutant:
    start: int  # byte offsets into the source
    end: int
    replacement: str
    line: int
    description: str

    def apply(self, src: bytes) -> bytes:
        return src[: self.start] + self.replacement.encode() + src[self.end :]


# --------------------------------------------------------------------- mutant generation
class _Collector(ast.NodeVisitor):
    def __init__(self, src: bytes):
        self.src = src
        self.lines = src.decode().splitlines(keepends=True)
        self.offsets = [0]
        for ln in src.splitlines(keepends=True):
            self.offsets.append(self.offsets[-1] + len(ln))
        self.mutants: list[Mutant] = []
        self.skip_depth = 0

    # ---- helpers
    def off(self, line: int, col: int) -> int:
        return self.offsets[line - 1] + col

    def span(self, node) -> tuple[int, int]:
        return self.off(node.lineno, node.col_offset), self.off(
            node.end_lineno, node.end_col_offset
        )

    def text(self, node) -> str:
        a, b = self.span(node)
        return self.src[a:b].decode()

    def add(self, node, replacement: str, description: str) -> None:
        if self.skip_depth:
            return
        a, b = self.span(node)
        self.mutants.append(Mutant(a, b, replacement, node.lineno, description))

    def skipped_line(self, node) -> bool:
        line = self.lines[node.lineno - 1] if node.lineno - 1 < len(self.lines) else ""
        return any(p in line for p in _SKIP_PRAGMAS)

    # ---- structure: what not to touch
    def visit_Module(self, node):
        self._body(node.body)

    def _body(self, body):
        for i, stmt in enumerate(body):
            if i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                continue  # docstring
            self.visit(stmt)

    def _function(self, node):
        skip = self.skipped_line(node)
        self.skip_depth += skip
        for default in node.args.defaults + [d for d in node.args.kw_defaults if d]:
            self.visit(default)
        self._body(node.body)
        self.skip_depth -= skip

    visit_FunctionDef = visit_AsyncFunctionDef = _function

    def visit_ClassDef(self, node):
        self._body(node.body)

    def visit_Lambda(self, node):
        self.visit(node.body)

    def visit_Assign(self, node):
        if any(isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets):
            return
        self.visit(node.value)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.visit(node.value)

    def visit_JoinedStr(self, node):
        return  # f-strings: messages only

    def visit_Import(self, node):
        return

    visit_ImportFrom = visit_Import

    # ---- statements
    def visit_Raise(self, node):
        if not self.skipped_line(node):
            self.add(node, "pass", "drop raise")
        self.generic_visit(node)

    def visit_Expr(self, node):
        if isinstance(node.value, ast.Call) and not self.skipped_line(node):
            self.add(node, "pass", "drop call statement")
        self.generic_visit(node)

    def visit_AugAssign(self, node):
        if not self.skipped_line(node):
            self.add(node, "pass", "drop augmented assignment")
            if type(node.op) in _BINOP_SWAP:
                tgt, val = self.text(node.target), self.text(node.value)
                op = _BINOP_SWAP[type(node.op)]
                self.add(node, f"{tgt} {op}= {val}", f"{_BINOP_TEXT[type(node.op)]}= -> {op}=")
        self.visit(node.value)

    def _flip_test(self, node):
        if not self.skipped_line(node):
            self.add(node.test, f"not ({self.text(node.test)})", "negate condition")

    def visit_If(self, node):
        self._flip_test(node)
        self.generic_visit(node)

    def visit_While(self, node):
        self._flip_test(node)
        self.generic_visit(node)

    def visit_Return(self, node):
        v = node.value
        if v is not None and not (isinstance(v, ast.Constant) and v.value is None):
            if not self.skipped_line(node):
                self.add(v, "None", "return None")
                if isinstance(v, ast.BinOp | ast.Call):
                    self.add(v, f"-({self.text(v)})", "negate return value")
        self.generic_visit(node)

    # ---- expressions
    def visit_BinOp(self, node):
        op = type(node.op)
        if op in _BINOP_SWAP and not self.skipped_line(node):
            left, right = self.text(node.left), self.text(node.right)
            new = _BINOP_SWAP[op]
            self.add(node, f"(({left}) {new} ({right}))", f"{_BINOP_TEXT[op]} -> {new}")
            if op in (ast.Add, ast.Sub):
                self.add(node, f"({left})", f"drop term {_BINOP_TEXT[op]} {right[:30]}")
        self.generic_visit(node)

    def visit_Compare(self, node):
        if not self.skipped_line(node):
            parts = [self.text(node.left)] + [self.text(c) for c in node.comparators]
            for i, op in enumerate(node.ops):
                if type(op) not in _CMP_SWAP:
                    continue
                ops = [_CMP_TEXT[type(o)] for o in node.ops]
                ops[i] = _CMP_SWAP[type(op)]
                text = f"({parts[0]})" + "".join(
                    f" {o} ({p})" for o, p in zip(ops, parts[1:], strict=True)
                )
                self.add(node, f"({text})", f"{_CMP_TEXT[type(op)]} -> {ops[i]}")
        self.generic_visit(node)

    def visit_BoolOp(self, node):
        if not self.skipped_line(node):
            new = " or " if isinstance(node.op, ast.And) else " and "
            text = new.join(f"({self.text(v)})" for v in node.values)
            self.add(node, f"({text})", "and -> or" if new == " or " else "or -> and")
        self.generic_visit(node)

    def visit_UnaryOp(self, node):
        if isinstance(node.op, ast.Not | ast.USub) and not self.skipped_line(node):
            kind = "drop not" if isinstance(node.op, ast.Not) else "drop unary -"
            self.add(node, f"({self.text(node.operand)})", kind)
        self.generic_visit(node)

    def visit_Constant(self, node):
        if self.skipped_line(node):
            return
        v = node.value
        if isinstance(v, bool):
            self.add(node, repr(not v), f"{v} -> {not v}")
        elif isinstance(v, int | float) and not isinstance(v, complex):
            if v == 0:
                new = type(v)(1)
            elif v == 1:
                new = type(v)(0)
            elif v == 2:
                new = type(v)(1)
            else:
                new = v * 2
            self.add(node, f"({new!r})", f"constant {v!r} -> {new!r}")


def collect(path: Path) -> list[Mutant]:
    src = path.read_bytes()
    c = _Collector(src)
    c.visit(ast.parse(src, filename=str(path)))
    out = []
    for m in c.mutants:  # keep only mutants that still parse
        try:
            ast.parse(m.apply(src))
        except SyntaxError:
            continue
        out.append(m)
    return out


# ------------------------------------------------------------------ equivalent mutants
def _key(rel: str, src_line: str, description: str) -> str:
    return f"{rel} :: {src_line.strip()} :: {description}"


def load_equivalent() -> dict[str, str]:
    out = {}
    if EQUIVALENT_FILE.exists():
        for raw in EQUIVALENT_FILE.read_text().splitlines():
            if not raw.strip() or raw.startswith("#"):
                continue
            parts = [p.strip() for p in raw.split(" :: ")]
            if len(parts) == 4:
                out[" :: ".join(parts[:3])] = parts[3]
    return out


# ------------------------------------------------------------------------ test mapping
def _imports(path: Path) -> tuple[set[str], set[tuple[str, str]]]:
    """``(modules imported, (module, name) pairs from 'from m import name')`` of a file."""
    mods, names = set(), set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            mods |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            mod = node.module if not node.level else f".{node.module}"
            mods.add(mod)
            names |= {(mod, a.name) for a in node.names}
    return mods, names


def default_tests(module: Path, _seen=None) -> list[str]:
    """Test files that import ``module`` (``analytic.<mod>`` itself or a name it defines);
    for a private helper imported by sibling modules only, the tests of those siblings."""
    rel = module.resolve().relative_to(ROOT)
    dotted = ".".join(rel.with_suffix("").parts)
    pkg, stem = dotted.rsplit(".", 1)
    tree = ast.parse(module.read_text())
    defined = {n.name for n in tree.body if isinstance(n, ast.FunctionDef | ast.ClassDef)}
    out = set()
    for test in sorted((ROOT / "tests").glob("test_*.py")):
        mods, names = _imports(test)
        if dotted in mods or any(m == pkg and n in defined for m, n in names):
            out.add(str(test.relative_to(ROOT)))
    if not out:
        seen = _seen or {module.resolve()}
        for sib in sorted(module.parent.glob("*.py")):
            if sib.resolve() in seen:
                continue
            mods, _ = _imports(sib)
            if f".{stem}" in mods:
                seen.add(sib.resolve())
                out |= set(default_tests(sib, seen))
    return sorted(out)


# ------------------------------------------------------------------------------ runner
def _copy_tree(dst: Path) -> None:
    ignore = shutil.ignore_patterns(".git", "__pycache__", ".hypothesis", "reports", "*.pyc")
    shutil.copytree(ROOT, dst, ignore=ignore, dirs_exist_ok=True)


def _preimport() -> None:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import hypothesis  # noqa: F401
    import mpmath  # noqa: F401
    import numpy  # noqa: F401
    import pytest  # noqa: F401
    import scipy.integrate  # noqa: F401
    import scipy.linalg  # noqa: F401
    import scipy.optimize  # noqa: F401
    import scipy.special  # noqa: F401
    import scipy.stats  # noqa: F401
    import sympy  # noqa: F401


def _start(copy: Path, tests: list[str]) -> int:
    """Fork a child that runs ``tests`` inside ``copy``; returns its pid."""
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.setsid()
            os.chdir(copy)
            sys.path.insert(0, str(copy))
            os.environ.pop("CI", None)  # the default hypothesis profile, seeded below
            os.environ["PYTHONPATH"] = str(copy)
            fd = os.open(os.devnull, os.O_WRONLY)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            import pytest

            opts = ["-x", "-q", "-p", "no:cacheprovider", "-W", "ignore", "--hypothesis-seed=0"]
            code = pytest.main([*tests, *opts, *_EXTRA])
            os._exit(int(code))
        except BaseException:
            os._exit(99)
    return pid


def _reap(pid: int, deadline: float) -> str:
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            code = os.waitstatus_to_exitcode(status)
            return "survived" if code == 0 else ("error" if code in (4, 5, 99) else "killed")
        if time.monotonic() > deadline:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            os.waitpid(pid, 0)
            return "timeout"
        time.sleep(0.05)


def run_module(module: Path, tests, args, equivalent) -> dict:
    rel = str(module.resolve().relative_to(ROOT))
    src = module.read_bytes()
    lines = src.decode().splitlines()
    mutants = collect(module)
    total = len(mutants)
    if args.rerun:  # only the survivors of an earlier run (matched by source line + mutation)
        keys = set()
        for s in json.loads(args.rerun.read_text()):
            for v in s["survivors"] if s["module"] == rel else []:
                keys.add(_key(rel, v["diff"][0][1:], v["mutation"]))
        mutants = [m for m in mutants if _key(rel, lines[m.line - 1], m.description) in keys]
    elif args.max and len(mutants) > args.max:
        mutants = sorted(random.Random(args.seed).sample(mutants, args.max), key=lambda m: m.start)
    tests = tests or default_tests(module)
    print(f"\n== {rel}: {total} mutants, running {len(mutants)}; tests: {' '.join(tests)}")
    copies = [Path(tempfile.mkdtemp(prefix=f"mutate{j}_")) for j in range(args.jobs)]
    try:
        for c in copies:
            _copy_tree(c)
        t0 = time.monotonic()
        pid = _start(copies[0], tests)
        if _reap(pid, time.monotonic() + 20 * args.timeout) != "survived":
            raise SystemExit(f"baseline tests fail on the unmutated copy of {rel}")
        base = time.monotonic() - t0
        timeout = max(args.timeout, 3.0 * base)
        print(f"   baseline {base:.1f} s; timeout per mutant {timeout:.0f} s")
        results = []
        queue = list(enumerate(mutants))
        running: dict[int, tuple[int, int, float]] = {}  # job -> (pid, index, deadline)
        while queue or running:
            for j in range(args.jobs):
                if j not in running and queue:
                    i, m = queue.pop(0)
                    (copies[j] / rel).write_bytes(m.apply(src))
                    running[j] = (_start(copies[j], tests), i, time.monotonic() + timeout)
            for j, (pid, i, deadline) in list(running.items()):
                done, status = os.waitpid(pid, os.WNOHANG)
                if not done and time.monotonic() <= deadline:
                    continue
                if done:
                    code = os.waitstatus_to_exitcode(status)
                    outcome = (
                        "survived" if code == 0 else ("error" if code in (4, 5, 99) else "killed")
                    )
                else:
                    outcome = _reap(pid, 0.0)
                (copies[j] / rel).write_bytes(src)  # restore
                del running[j]
                m = mutants[i]
                key = _key(rel, lines[m.line - 1], m.description)
                if outcome == "survived" and key in equivalent:
                    outcome = "equivalent"
                results.append((m, outcome))
                mark = {"killed": ".", "timeout": "T", "survived": "S", "error": "E"}
                print(mark.get(outcome, "e"), end="", flush=True)
            time.sleep(0.02)
        print()
    finally:
        for c in copies:
            shutil.rmtree(c, ignore_errors=True)
    return _report(rel, src, lines, total, results)


def _report(rel, src, lines, total, results) -> dict:
    counts = {k: 0 for k in ("killed", "timeout", "survived", "error", "equivalent")}
    for _, outcome in results:
        counts[outcome] += 1
    killed = counts["killed"] + counts["timeout"]
    non_eq = len(results) - counts["equivalent"] - counts["error"]
    score = killed / non_eq if non_eq else 1.0
    survivors = []
    for m, outcome in sorted(results, key=lambda r: r[0].start):
        if outcome != "survived":
            continue
        new = m.apply(src).decode().splitlines()
        diff = difflib.unified_diff(lines, new, lineterm="", n=0)
        body = [d for d in diff if not d.startswith(("---", "+++", "@@"))]
        key = _key(rel, lines[m.line - 1], m.description)
        survivors.append({"line": m.line, "mutation": m.description, "diff": body, "key": key})
        print(f"   SURVIVED line {m.line}: {m.description}")
        for d in body:
            print(f"      {d}")
        print(f"      key: {_key(rel, lines[m.line - 1], m.description)}")
    print(
        f"   {rel}: killed {killed} (timeouts {counts['timeout']}) / non-equivalent {non_eq} "
        f"= {100 * score:.1f}%; survived {counts['survived']}, equivalent "
        f"{counts['equivalent']}, errors {counts['error']}; sampled {len(results)} of {total}"
    )
    return {
        "module": rel,
        "mutants": total,
        "run": len(results),
        "score": score,
        **counts,
        "survivors": survivors,
    }


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("modules", nargs="+", type=Path)
    ap.add_argument("--tests", nargs="+", default=None, help="test files (default: importers)")
    ap.add_argument("--max", type=int, default=0, help="sample at most N mutants per module")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=60.0, help="seconds per mutant (min)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--list", action="store_true", help="only list the mutants")
    ap.add_argument("--json", type=Path, default=None, help="write the summary here")
    ap.add_argument("--rerun", type=Path, default=None, help="only the survivors in this json")
    ap.add_argument("--pytest-args", default="", help='extra pytest arguments, e.g. "-k fast"')
    args = ap.parse_args(argv)
    _EXTRA[:] = shlex.split(args.pytest_args)
    if args.list:
        for mod in args.modules:
            for m in collect(mod):
                print(f"{mod}:{m.line}: {m.description}: {m.replacement[:60]}")
        return 0
    _preimport()
    equivalent = load_equivalent()
    summary = [run_module(mod, args.tests, args, equivalent) for mod in args.modules]
    print("\nmodule                      score    killed/non-eq  run/total")
    for s in summary:
        non_eq = s["run"] - s["equivalent"] - s["error"]
        k = s["killed"] + s["timeout"]
        row = f"{s['module']:<26} {100 * s['score']:6.1f}%   {k:>4}/{non_eq:<4}"
        print(f"{row}     {s['run']}/{s['mutants']}")
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
