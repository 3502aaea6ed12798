"""The claim framework: a claim is a statement plus the computation that decides it.

A claim is data plus three pure pieces (the claim contract):

* ``compute(ctx) -> result``: the numbers only, in a small dataclass per claim (no verdict,
  no prose, no matplotlib);
* ``decide(result) -> Decision``: the verdict and the one or two sentences of numbers that
  decided it; pure, so it is unit-tested on hand-made results on both sides of its threshold;
* ``present(result, ctx) -> Presentation``: tables and figures (the only place matplotlib is
  used, through ``ctx.figure`` / ``ctx.savefig``).

Its id, title, statement, source, setting, rung and tolerance are data (:class:`Claim`), so the
report and ``diffusion-verify list`` read them instead of docstrings. A claim module
(``verify/claims/<topic>.py``) defines a module-level list ``CLAIMS``;
:mod:`verify.claims.registry` collects them. :func:`run_claim` runs one claim, times it,
and returns the JSON object that ``check --json`` prints and ``results.json`` holds.

Verdicts (:data:`VERDICTS`), one meaning each:

* ``holds``: the exact answers support the statement;
* ``fails``: they refute it (a *finding* when the claim records what holds instead);
* ``inconclusive``: the evidence cannot decide at this budget;
* ``error``: the claim itself raised (a bug of ours); the traceback is under ``"error"``;
* ``skipped``: a requirement is missing (an optional package); the reason names the install.

A claim's ``decide`` returns only the first three. Each claim declares the verdict it is
``expected`` to have (default ``"fails"`` for a recorded finding, like pytest's strict xfail,
else ``"holds"``); :func:`exit_code` turns a run into the command line's exit code.

Shared decision helpers: :func:`worst` (the worst verdict wins), :func:`decide_checks` (a list of
:class:`Check` conditions), :func:`interval_check` (a confidence interval against a threshold).

A single ``run(ctx) -> ClaimResult`` function is still accepted (``Claim(..., run=fn)``) for
claims users write for themselves.
"""

from __future__ import annotations

import copy
import importlib.util
import math
import re
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from verify.runtime.progress import DEFAULT_STREAM, Progress, progress
from verify.runtime.sweep import Executor, LocalExecutor, check_picklable, stable_int

__all__ = [
    "Check",
    "ClaimRecord",
    "Decision",
    "Presentation",
    "decide_checks",
    "interval_check",
    "worst",
    "BUDGETS",
    "VERDICTS",
    "RUNG_NAMES",
    "RESULT_FIELDS",
    "Table",
    "ClaimResult",
    "Claim",
    "RunContext",
    "run_claim",
    "run_claims",
    "to_jsonable",
    "missing_requirements",
    "DECISIONS",
    "OPTIONAL_PACKAGES",
    "EXIT_CODES",
    "exit_code",
    "unexpected",
    "verdict_counts",
]

BUDGETS = ("quick", "full")
DECISIONS = ("holds", "fails", "inconclusive")
"""What a claim's ``decide`` (or ``run``) may return; also the verdicts a claim may expect."""
VERDICTS = (*DECISIONS, "error", "skipped")
"""Every verdict of a claim result: the decisions, plus ``error`` (the claim raised) and
``skipped`` (a requirement is missing)."""
RUNG_NAMES = {
    1: "closed form",
    2: "exact moment recursion / moment ODE",
    3: "Fokker-Planck grid",
    4: "Monte Carlo with exact log-densities",
    5: "sample-only estimators",
}
RESULT_FIELDS = (
    "id",
    "title",
    "statement",
    "source",
    "setting",
    "doc",
    "finding",
    "verdict",
    "expected",
    "reason",
    "rung",
    "tolerance",
    "key_number",
    "tables",
    "figures",
    "seeds",
    "seconds",
)
"""Keys of the object :func:`run_claim` returns (plus ``"error"`` when the claim raised)."""

_ID_RE = re.compile(r"^[a-z][a-z0-9_]*\.[A-Za-z0-9][A-Za-z0-9._-]*$")
_EXTRAS = {
    "torch": "torch",
    "dask": "dask",
    "distributed": "dask",
    "matplotlib": "report",
    "diffusers": "peers",
    "torchsde": "peers",
    "torchdiffeq": "peers",
    "sklearn": "data",
    "safetensors": "peers",
    "tqdm": "peers",
    "PIL": "peers",
}
OPTIONAL_PACKAGES = (*_EXTRAS, "k_diffusion", "torchvision")
"""Import names of the optional packages: an ImportError naming one inside a claim makes the
claim ``skipped`` (with its install command), not ``error``."""


def to_jsonable(obj: Any) -> Any:
    """Plain JSON types for ``obj``: numpy scalars/arrays to Python, NaN/inf to strings.

    ``nan`` -> ``"nan"``, ``inf`` -> ``"inf"``, ``-inf`` -> ``"-inf"``; tuples to lists;
    dict keys to strings; paths and unknown objects to ``str``.
    """
    if isinstance(obj, np.ndarray):
        obj = obj.tolist()
    elif isinstance(obj, np.generic):
        obj = obj.item()
    if obj is None or isinstance(obj, bool | str | int):
        return obj
    if isinstance(obj, float):
        if math.isnan(obj):
            return "nan"
        if math.isinf(obj):
            return "inf" if obj > 0 else "-inf"
        return obj
    if isinstance(obj, complex):
        return str(obj)
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Table):
        return obj.to_dict()
    return str(obj)


@dataclass
class Table:
    """A result table: ``columns`` (names) and ``rows`` (lists of numbers or strings).

    Say the KL direction in a column name when a table shows a KL, e.g. ``"KL(law||p0)"``.
    """

    columns: list[str]
    rows: list[list] = field(default_factory=list)
    key_rows: list[int] | None = None

    def __post_init__(self) -> None:
        self.columns = [str(c) for c in self.columns]
        self.rows = [list(r) for r in self.rows]
        if self.key_rows is not None:
            self.key_rows = [int(i) for i in self.key_rows]
            bad = [i for i in self.key_rows if not 0 <= i < len(self.rows)]
            if bad:
                raise ValueError(
                    f"Table key_rows {bad} are not row indices (0..{len(self.rows) - 1})"
                )
        for i, row in enumerate(self.rows):
            if len(row) != len(self.columns):
                raise ValueError(
                    f"Table row {i} has {len(row)} cells but there are "
                    f"{len(self.columns)} columns {self.columns}"
                )

    def to_dict(self) -> dict:
        """``{"columns": [...], "rows": [[...], ...]}`` (plus ``"key_rows"``) in JSON types."""
        out = {"columns": list(self.columns), "rows": to_jsonable(self.rows)}
        if self.key_rows is not None:
            out["key_rows"] = list(self.key_rows)
        return out


@dataclass
class ClaimResult:
    """What a claim's ``run`` returns.

    ``verdict`` is ``"holds"``, ``"fails"`` or ``"inconclusive"`` (:data:`DECISIONS`); ``reason``
    gives, in one or two sentences, the numbers that decided it; ``rung`` is the exactness ladder
    rung (1 closed form, 2 exact moment recursion/ODE, 3 Fokker-Planck grid, 4 Monte Carlo with
    exact log-densities, 5 sample-only estimators); ``tolerance`` the test used (``"rel 1e-10"``,
    ``"95% CI"``); ``key_number`` a short headline for the summary.
    """

    verdict: str
    reason: str
    rung: int
    tolerance: str
    key_number: str = ""
    tables: dict[str, Table] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.verdict not in DECISIONS:
            raise ValueError(f"verdict must be one of {DECISIONS}, got {self.verdict!r}")
        if isinstance(self.rung, bool) or not isinstance(self.rung, int | np.integer):
            raise ValueError(f"rung must be an integer 1..5, got {self.rung!r}")
        self.rung = int(self.rung)
        if self.rung not in RUNG_NAMES:
            raise ValueError(f"rung must be 1..5 (the exactness ladder), got {self.rung}")
        tables = {}
        for name, table in dict(self.tables).items():
            if isinstance(table, dict):
                table = Table(table["columns"], table.get("rows", []), table.get("key_rows"))
            if not isinstance(table, Table):
                raise ValueError(f"table {name!r} must be a Table, got {type(table).__name__}")
            tables[str(name)] = table
        self.tables = tables
        self.figures = [str(f) for f in self.figures]
        self.seeds = [int(s) for s in self.seeds]


_SEVERITY = {"holds": 0, "skipped": 1, "inconclusive": 2, "fails": 3, "error": 4}


def worst(*verdicts: str) -> str:
    """The worst of ``verdicts``: ``error`` > ``fails`` > ``inconclusive`` > ``skipped`` >
    ``holds``; ``holds`` if none (a decide function combines only the :data:`DECISIONS`)."""
    for v in verdicts:
        if v not in _SEVERITY:
            raise ValueError(f"verdict must be one of {VERDICTS}, got {v!r}")
    return max(verdicts, key=_SEVERITY.__getitem__, default="holds")


@dataclass(frozen=True)
class Decision:
    """What ``decide(result)`` returns: the verdict, the numbers that decided it, a headline."""

    verdict: str
    reason: str
    key_number: str = ""

    def __post_init__(self) -> None:
        if self.verdict not in DECISIONS:
            raise ValueError(f"verdict must be one of {DECISIONS}, got {self.verdict!r}")


@dataclass(frozen=True)
class Check:
    """One condition of a claim: ``ok`` is True, False, or None (undecided), with its numbers."""

    ok: bool | None
    detail: str

    def __post_init__(self) -> None:
        if self.ok is not None and not isinstance(self.ok, bool):
            if not isinstance(self.ok, np.bool_ | int):
                raise TypeError(f"Check.ok must be True, False or None, got {self.ok!r}")
            object.__setattr__(self, "ok", bool(self.ok))  # numpy bools count as bools


def decide_checks(checks: Iterable[Check], holds: str, key_number: str = "") -> Decision:
    """``fails`` if a check failed, else ``inconclusive`` if one is undecided, else ``holds``.

    The reason lists the failed (or undecided) checks' details, at most four, with their
    count; ``holds`` is the reason when every check passed.
    """
    checks = list(checks)
    failed = [c for c in checks if c.ok is False]
    undecided = [c for c in checks if c.ok is None]
    for verdict, bad in (("fails", failed), ("inconclusive", undecided)):
        if bad:
            reason = "; ".join(c.detail for c in bad[:4])
            if len(bad) > 4:
                reason += f" (and {len(bad) - 4} more)"
            return Decision(verdict, reason, key_number)
    return Decision("holds", holds, key_number)


def interval_check(lo: float, hi: float, threshold: float, *, above: bool, what: str) -> Check:
    """Whether a confidence interval ``[lo, hi]`` lies on the claimed side of ``threshold``.

    ``above=True`` claims the quantity exceeds ``threshold``: holds if ``lo > threshold``,
    fails if ``hi < threshold``, undecided if the interval straddles it (and symmetrically).
    """
    if not (lo <= hi):
        raise ValueError(f"interval needs lo <= hi, got [{lo!r}, {hi!r}]")
    side = ">" if above else "<"
    text = f"{what}: [{lo:.4g}, {hi:.4g}] vs {threshold:.4g}"
    if (lo > threshold) if above else (hi < threshold):
        return Check(True, f"{text} ({side} holds)")
    if (hi < threshold) if above else (lo > threshold):
        return Check(False, f"{text} (not {side})")
    return Check(None, f"{text} (interval straddles the threshold)")


@dataclass
class Presentation:
    """What ``present(result, ctx)`` returns: named tables and saved figure paths."""

    tables: dict[str, Table] = field(default_factory=dict)
    figures: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Claim:
    """An executable statement: data plus ``compute`` / ``decide`` / ``present``.

    ``id`` is namespaced by source (``theory.*``, ``stochasticity.*``, ``initialization.*``,
    ``spde.*``, ``horizon.*``, ``learned.*``, ``conformance.*``); ``statement`` the claim in words;
    ``source`` the paper and section, ``"standard"``, or says ``"reconstructed"``; ``setting`` what
    is computed; ``rung`` the exactness-ladder rung of the deciding numbers and ``tolerance`` the
    test used; ``title`` a short complete sentence for tables (default: the entry of
    :data:`verify.claims.titles.TITLES`, else the whole statement); ``doc`` where the mathematics is
    written (a path of this repository with an anchor); ``finding`` the statement the exact answers
    support instead, for a claim that tests a statement they refute (shown beside it in the report's
    findings); ``expected`` the verdict the claim is expected to have (default ``"fails"`` with a
    ``finding``, else ``"holds"``). ``budgets`` the budgets it runs at; ``requires`` optional import
    names or checks (a missing one gives ``"skipped"`` with its install command, never a crash).
    Give ``compute``, ``decide`` and ``present``, or a single legacy ``run(ctx) -> ClaimResult``.
    """

    id: str
    statement: str
    source: str
    setting: str
    run: Callable[[RunContext], ClaimResult] | None = None
    budgets: tuple[str, ...] = BUDGETS
    requires: tuple = ()
    compute: Callable[[RunContext], Any] | None = None
    decide: Callable[[Any], Decision] | None = None
    present: Callable[[Any, RunContext], Presentation] | None = None
    rung: int | None = None
    tolerance: str = ""
    title: str = ""
    doc: str = ""
    finding: str = ""
    expected: str = ""

    def __post_init__(self) -> None:
        if not _ID_RE.match(self.id):
            raise ValueError(
                f"claim id {self.id!r} must look like 'namespace.name' "
                "(e.g. 'stochasticity.exact-score-decay')"
            )
        budgets = (self.budgets,) if isinstance(self.budgets, str) else tuple(self.budgets)
        requires = (self.requires,) if isinstance(self.requires, str) else tuple(self.requires)
        object.__setattr__(self, "budgets", budgets)
        object.__setattr__(self, "requires", requires)
        for req in requires:
            if not (isinstance(req, str) or callable(req)):
                raise ValueError(
                    f"claim {self.id}: requires holds import names or checks, got {req!r}"
                )
        bad = [b for b in budgets if b not in BUDGETS]
        if bad or not budgets:
            raise ValueError(f"claim {self.id}: budgets must be a non-empty subset of {BUDGETS}")
        trio = (self.compute, self.decide, self.present)
        if self.run is not None:
            if not callable(self.run):
                raise ValueError(f"claim {self.id}: run must be callable")
            if any(f is not None for f in trio):
                raise ValueError(f"claim {self.id}: give run or compute/decide/present, not both")
        else:
            if not all(callable(f) for f in trio):
                raise ValueError(
                    f"claim {self.id}: give callables compute, decide and present (or run)"
                )
            if self.rung not in RUNG_NAMES:
                raise ValueError(f"claim {self.id}: rung must be 1..5, got {self.rung!r}")
        expected = self.expected or ("fails" if self.finding else "holds")
        if expected not in DECISIONS:
            raise ValueError(
                f"claim {self.id}: expected must be one of {DECISIONS}, got {self.expected!r}"
            )
        object.__setattr__(self, "expected", expected)
        if not self.title:
            from verify.claims.titles import TITLES

            title = TITLES.get(self.id) or " ".join(self.statement.split())
            object.__setattr__(self, "title", title)

    @property
    def namespace(self) -> str:
        """The part of the id before the first dot."""
        return self.id.split(".", 1)[0]

    def evaluate(self, ctx: RunContext) -> ClaimResult:
        """Compute, decide and present (or call the legacy ``run``): a :class:`ClaimResult`."""
        if self.run is not None:
            return self.run(ctx)
        result = self.compute(ctx)
        decision = self.decide(result)
        if not isinstance(decision, Decision):
            raise TypeError(f"decide() returned {type(decision).__name__}, expected a Decision")
        shown = self.present(result, ctx)
        if not isinstance(shown, Presentation):
            raise TypeError(f"present() returned {type(shown).__name__}, expected a Presentation")
        return ClaimResult(
            decision.verdict,
            decision.reason,
            rung=self.rung,
            tolerance=self.tolerance,
            key_number=decision.key_number,
            tables=shown.tables,
            figures=shown.figures,
            seeds=list(getattr(result, "seeds", []) or []),
        )


def _sanitise(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "figure"


class RunContext:
    """What a claim's ``run`` gets: budget, base seed, figure directory and a sweep executor.

    ``figure_dir`` defaults to a fresh temporary directory (made on first use).
    ``stream=None`` silences progress output.
    """

    def __init__(
        self,
        budget: str = "quick",
        seed: int = 0,
        figure_dir: str | Path | None = None,
        executor: Executor | None = None,
        *,
        claim_id: str = "",
        stream: Any = DEFAULT_STREAM,
    ) -> None:
        if budget not in BUDGETS:
            raise ValueError(f"budget must be one of {BUDGETS}, got {budget!r}")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        self.budget = budget
        self.seed = int(seed)
        self._figure_dir = Path(figure_dir) if figure_dir is not None else None
        self.executor = executor if executor is not None else LocalExecutor()
        self.claim_id = claim_id
        self.stream = stream
        self.saved_figures: list[str] = []

    @property
    def figure_dir(self) -> Path:
        """Directory the figures go to (created on first access)."""
        if self._figure_dir is None:
            self._figure_dir = Path(tempfile.mkdtemp(prefix="diffusion-verify-figures-"))
        self._figure_dir.mkdir(parents=True, exist_ok=True)
        return self._figure_dir

    @property
    def quick(self) -> bool:
        """``True`` at the quick budget."""
        return self.budget == "quick"

    def for_claim(self, claim_id: str) -> RunContext:
        """A copy of this context for one claim (own figure list, same executor)."""
        if self._figure_dir is None:  # one temporary directory shared by all claims
            self._figure_dir = Path(tempfile.mkdtemp(prefix="diffusion-verify-figures-"))
        ctx = copy.copy(self)
        ctx.claim_id = claim_id
        ctx.saved_figures = []
        return ctx

    def figure(self, **kwargs: Any):
        """A new ``matplotlib.figure.Figure`` (no pyplot, no GUI backend); pass to savefig.

        Its layout is ``"tight"`` unless ``layout=`` is given: labels and titles fit without
        a second full render at save time.
        """
        from matplotlib.figure import Figure

        kwargs.setdefault("layout", "tight")
        return Figure(**kwargs)

    def savefig(self, fig: Any, name: str, *, tight: bool = False) -> str:
        """Save ``fig`` as ``figure_dir/<claim-id>-<name>.png`` (dpi 110).

        ``tight=True`` crops to the drawn artists (``bbox_inches="tight"``: a second draw, so
        only for figures with a legend placed outside the axes); otherwise the figure's own
        layout (``tight_layout``) is kept. The figure is a plain ``matplotlib.figure.Figure``
        (no pyplot state to close). Returns the path (also recorded, so the figure reaches
        the report even if the claim forgets to list it in ``ClaimResult.figures``).
        """
        stem = _sanitise(f"{self.claim_id}-{name}" if self.claim_id else name)
        path = self.figure_dir / f"{stem}.png"
        fig.savefig(path, dpi=110, **({"bbox_inches": "tight"} if tight else {}))
        self.saved_figures.append(str(path))
        return str(path)

    def map(self, fn: Callable[[Any], Any], tasks: Iterable, desc: str = "") -> list:
        """``[fn(t) for t in tasks]`` through the sweep executor, in task order, with progress.

        ``fn`` must be a picklable top-level function and each task must carry its own
        seed (see :func:`verify.runtime.sweep.task_seed`), so results do not depend on the executor.
        """
        tasks = list(tasks)
        check_picklable(fn)
        label = desc or getattr(fn, "__name__", "sweep")
        with Progress(len(tasks), label, stream=self.stream, max_lines=10) as bar:
            return self.executor.map(fn, tasks, on_done=lambda i: bar.update())

    def progress(self, iterable: Iterable, desc: str = "", total: int | None = None):
        """Wrap ``iterable`` with a progress bar (nested under the claim-level bar)."""
        return progress(iterable, desc=desc, total=total, stream=self.stream)

    def rng(self, *keys: Any) -> np.random.Generator:
        """``numpy.random.default_rng([seed, *stable ints of keys])``, stable across processes."""
        return np.random.default_rng([self.seed, *(stable_int(k) for k in keys)])


def requirement_name(req) -> str:
    """How a requirement is shown: the import name, or a check's ``requirement`` / name."""
    return req if isinstance(req, str) else getattr(req, "requirement", req.__name__)


def _requirement_problem(req) -> str | None:
    """``None`` if ``req`` is available; else why not.

    ``req`` is an import name (found without importing it: not installed, or a parent package
    that fails to import) or a check ``() -> None | reason`` for what an import name cannot
    express (e.g. a module loadable without its package's own heavy imports).
    """
    if not isinstance(req, str):
        try:
            return req()
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
    try:
        found = importlib.util.find_spec(req) is not None
    except ModuleNotFoundError as exc:
        if exc.name and not req.startswith(exc.name):
            return f"installed but needs {exc.name}, which is missing"
        found = False
    except Exception as exc:  # a parent package that is installed but fails to import
        first = str(exc).strip().splitlines()[0][:120] if str(exc).strip() else ""
        return f"installed but fails to import: {type(exc).__name__}: {first}"
    return None if found else "not installed"


def missing_requirements(claim: Claim) -> list[str]:
    """The requirements of ``claim`` that are not available (shown by name)."""
    return [requirement_name(r) for r in claim.requires if _requirement_problem(r) is not None]


TORCH_INSTALL = 'pip install torch==2.13.0 && pip install -e ".[torch]"'
"""How README says to install torch: the CPU wheel first (an unpinned torch pulls CUDA)."""


def install_hint(package: str) -> str:
    """The install advice for an optional package (torch: the CPU wheel first, as README)."""
    if package == "torch":
        return f"install the CPU wheel first: {TORCH_INSTALL}"
    if package == "k_diffusion":  # its dependency dctorch would downgrade NumPy below 2
        return "pip install --no-deps k-diffusion"
    extra = _EXTRAS.get(package)
    return f'pip install -e ".[{extra}]"' if extra else f"pip install {package}"


def _skip_reason(claim: Claim, budget: str) -> str | None:
    for req in claim.requires:
        problem = _requirement_problem(req)
        if problem is None:
            continue
        name = requirement_name(req)
        if problem == "not installed":
            return f"requires {name} ({install_hint(name.split('.')[0])})"
        return f"requires {name}: {problem} ({install_hint(name.split('.')[0])})"
    if budget not in claim.budgets:
        others = ", ".join(claim.budgets)
        return f"not run at budget {budget!r}: this claim runs at {others} (use --budget {others})"
    return None


class ClaimRecord(dict):
    """The JSON object of one claim run (a ``dict``), which renders as a card in notebooks."""

    def _repr_html_(self) -> str:
        from verify.claims.render import CSS, card_html

        return f'<div class="dv"><style>{CSS}</style>{card_html(self)}</div>'


def _missing_package(exc: BaseException) -> str | None:
    """The optional package an ImportError raised inside a claim is about, else ``None``.

    A ``ModuleNotFoundError`` names its module (``exc.name``); a plain ``ImportError`` such as
    diffusers' "DPMSolverSDEScheduler requires the torchsde library" names it in its message.
    """
    if not isinstance(exc, ImportError):
        return None
    name = (getattr(exc, "name", None) or "").split(".")[0]
    if name in OPTIONAL_PACKAGES:
        return name
    text = str(exc)
    for package in OPTIONAL_PACKAGES:
        if re.search(rf"(?<![\w.-]){re.escape(package)}(?![\w-])", text):
            return package
    return None


def run_claim(claim: Claim, ctx: RunContext) -> dict:
    """Run one claim and return its JSON object (see :data:`RESULT_FIELDS`).

    A missing requirement, an ImportError of an optional package raised inside the claim, or
    an unsupported budget gives ``"skipped"`` with the reason (and install command); any other
    exception inside the claim (or a ``run`` that does not return a ClaimResult) gives
    ``"error"`` with reason ``"error: <ExcType>: <msg>"`` and the traceback under ``"error"``.
    ``"expected"`` is the claim's expected verdict.
    """
    cctx = ctx.for_claim(claim.id)
    start = time.perf_counter()
    error = None
    skip = _skip_reason(claim, cctx.budget)
    if skip is not None:
        result = None
        verdict, reason, rung, tolerance = "skipped", skip, None, ""
    else:
        try:
            result = claim.evaluate(cctx)
            if not isinstance(result, ClaimResult):
                raise TypeError(f"run() returned {type(result).__name__}, expected a ClaimResult")
        except Exception as exc:
            result = None
            message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            rung, tolerance = None, ""
            package = _missing_package(exc)
            if package is not None:
                verdict = "skipped"
                reason = f"requires {package} ({install_hint(package)}): {type(exc).__name__}" + (
                    f": {message}" if message else ""
                )
            else:
                verdict = "error"
                reason = f"error: {type(exc).__name__}" + (f": {message}" if message else "")
                error = traceback.format_exc()
    seconds = time.perf_counter() - start

    if result is not None:
        figures = list(result.figures)
        figures += [f for f in cctx.saved_figures if f not in figures]
        out = {
            "verdict": result.verdict,
            "reason": result.reason,
            "rung": result.rung,
            "tolerance": result.tolerance,
            "key_number": result.key_number,
            "tables": {name: t.to_dict() for name, t in result.tables.items()},
            "figures": figures,
            "seeds": list(result.seeds),
        }
    else:
        out = {
            "verdict": verdict,
            "reason": reason,
            "rung": rung,
            "tolerance": tolerance,
            "key_number": "",
            "tables": {},
            "figures": list(cctx.saved_figures),
            "seeds": [],
        }
    return _record(claim, out, seconds, error)


def _record(claim: Claim, out: dict, seconds: float, error: str | None) -> ClaimRecord:
    """A claim's JSON object: its card, the verdict fields ``out``, its time and traceback."""
    obj = {
        "id": claim.id,
        "title": claim.title,
        "statement": claim.statement,
        "source": claim.source,
        "setting": claim.setting,
        "doc": claim.doc,
        "finding": claim.finding,
        "expected": claim.expected,
        **out,
        "seconds": round(seconds, 4),
    }
    obj = {k: obj[k] for k in RESULT_FIELDS}
    if error is not None:
        obj["error"] = error
    return ClaimRecord(to_jsonable(obj))


# ----------------------------------------------------------------------------- exit codes
EXIT_CODES = (
    (0, "every verdict is the expected one (inconclusive and skipped allowed)"),
    (1, "a verdict differs from the expected one (with --strict: or is inconclusive/skipped)"),
    (
        2,
        "usage error (unknown claim id, bad option, unreadable results file), or an output "
        "that cannot be written (a full disk): one line, the previous report kept",
    ),
    (3, "a claim raised an error (a bug: its traceback is in the JSON under 'error')"),
)
"""The exit codes of ``check`` and ``report`` (shown by ``--help`` and in README)."""


def _expected_of(r: dict) -> str:
    exp = r.get("expected")
    if exp in DECISIONS:
        return exp
    return "fails" if r.get("finding") else "holds"


def unexpected(r: dict, *, strict: bool = False) -> str | None:
    """Why the verdict of result ``r`` is not acceptable, or ``None`` if it is.

    A ``holds`` / ``fails`` verdict other than the expected one is unexpected (a claim that
    should hold fails: a regression or a new finding; a recorded finding that now holds: the
    statement may have been fixed upstream). ``inconclusive`` and ``skipped`` are accepted
    unless ``strict``; ``error`` never is.
    """
    verdict, exp = r.get("verdict"), _expected_of(r)
    if verdict == exp:
        return None
    if verdict == "error":
        return "the claim raised an error (a bug of the toolkit; traceback under 'error')"
    if verdict in ("inconclusive", "skipped"):
        return f"{verdict}, expected {exp} (--strict)" if strict else None
    if verdict == "holds" and exp == "fails":
        return (
            "holds, expected fails (a recorded finding): the statement may have been fixed "
            "upstream; check it and update the claim's finding and expected verdict"
        )
    if verdict == "fails" and exp == "holds":
        return "fails, expected holds: a regression, or a new finding to record"
    return f"{verdict}, expected {exp}"


def exit_code(results: Iterable[dict], *, strict: bool = False) -> int:
    """The exit code of a run (:data:`EXIT_CODES`): 3 on any ``error``, else 1 when a verdict
    is unexpected (see :func:`unexpected`), else 0."""
    results = list(results)
    if any(r.get("verdict") == "error" for r in results):
        return 3
    return 1 if any(unexpected(r, strict=strict) for r in results) else 0


def verdict_counts(results: Iterable[dict]) -> dict[str, int]:
    """``{verdict: count}`` over :data:`VERDICTS` (zeros kept), plus ``"expected fails"``:
    the fails that are recorded findings expected to fail."""
    counts = dict.fromkeys(VERDICTS, 0)
    counts["expected fails"] = 0
    for r in results:
        v = r.get("verdict")
        counts[v] = counts.get(v, 0) + 1
        if v == "fails" and _expected_of(r) == "fails":
            counts["expected fails"] += 1
    return counts


def _run_claims_in_worker(payload) -> list[dict]:
    """A group of claims, one after the other, in a worker process of :func:`run_claims`
    (their sweeps run locally there; a namespace's claims share what they memoise)."""
    claims, budget, seed, figure_dir = payload
    import os

    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")  # one BLAS thread per worker: the workers share cores
    ctx = RunContext(budget=budget, seed=seed, figure_dir=figure_dir, stream=None)
    return [run_claim(claim, ctx) for claim in claims]


def _picklable(claim: Claim) -> bool:
    import pickle

    try:
        pickle.dumps(claim)
    except Exception:
        return False
    return True


def run_claims(
    claims: Iterable[Claim],
    ctx: RunContext,
    desc: str = "claims",
    *,
    jobs: int = 1,
    durations: dict[str, float] | None = None,
) -> list[dict]:
    """Run claims with a claim-level progress bar; see :func:`run_claim`. Results in order.

    ``jobs > 1`` runs claims in parallel in that many worker processes (each claim's own sweeps
    then run locally in its worker), a namespace per task when there are enough namespaces,
    longest first when ``durations`` (seconds per id, e.g. from the previous run) are known; a
    claim that cannot be pickled runs in this process. ``jobs = 1`` runs them one after the
    other here, with ``ctx.executor`` for their sweeps (local, pool or Dask). Each finished
    claim is logged as ``[3/12] theory.xyz ... holds (1.2 s)`` on ``ctx.stream`` (stderr by
    default). Results do not depend on ``jobs``: every claim draws from its own seeds.
    """
    claims = list(claims)
    results: list[dict | None] = [None] * len(claims)
    remote = [i for i, c in enumerate(claims) if jobs > 1 and _picklable(c)]
    parallel = len(remote) > 1
    ids = [c.id for c in claims]
    with Progress(
        len(claims),
        desc,
        stream=ctx.stream,
        tasks=ids,
        expected=durations,
        jobs=min(jobs, len(remote)) if parallel else 1,
    ) as bar:

        def done(i: int, obj: dict) -> None:
            results[i] = obj
            note = f"{obj['id']} ... {obj['verdict']} ({obj['seconds']:.1f} s)"
            bar.finish(ids[i], note=note, seconds=obj["seconds"])

        def started(group: list[int]) -> None:
            ns = claims[group[0]].namespace
            bar.start([ids[i] for i in group], ids[group[0]] if len(group) == 1 else ns)

        local = [i for i in range(len(claims)) if i not in set(remote)]
        if parallel:
            _run_parallel(claims, remote, ctx, jobs, durations or {}, done, started)
        else:
            local = sorted(local + remote)
        for i in local:
            started([i])
            done(i, run_claim(claims[i], ctx))
    return results  # type: ignore[return-value]


def _run_parallel(claims, indices, ctx, jobs, durations, done, started=None) -> None:
    """Claims grouped by namespace (when there are at least ``jobs`` namespaces: a namespace's
    claims share memoised computations) or one by one, groups longest first, on a pool.

    ``started(group)`` is called when a group (a list of indices) is taken to be running: the
    first ``jobs`` groups at once, then the next one each time a group ends (the pool takes
    tasks in submission order)."""
    started = started or (lambda group: None)
    namespaces = {claims[i].namespace for i in indices}
    key = (lambda i: claims[i].namespace) if len(namespaces) >= jobs else (lambda i: claims[i].id)
    groups: dict[str, list[int]] = {}
    for i in indices:
        groups.setdefault(key(i), []).append(i)
    order = sorted(
        groups.values(), key=lambda g: -sum(float(durations.get(claims[i].id, 0.0)) for i in g)
    )
    figure_dir = ctx.figure_dir
    payloads = [([claims[i] for i in g], ctx.budget, ctx.seed, figure_dir) for g in order]

    got: set[int] = set()
    workers = min(jobs, len(order))
    for g in order[:workers]:
        started(g)
    queued = iter(order[workers:])

    def finished(k, objs):
        for i, obj in zip(order[k], objs, strict=True):
            got.add(i)
            done(i, obj)
        nxt = next(queued, None)
        if nxt is not None:
            started(nxt)

    if _map_on_pool(payloads, workers, finished):
        return
    # A worker died (SIGKILL from the OOM killer, a segfault): the pool is broken and every
    # claim it had not yet returned is lost. Rerun those once, one claim per task in a fresh
    # pool; a claim whose worker dies again is an ``error`` saying so. The others are kept.
    lost = [i for g in order for i in g if i not in got]
    retry = [([claims[i]], ctx.budget, ctx.seed, figure_dir) for i in lost]

    for i in lost[: min(jobs, len(lost))]:
        started([i])
    requeued = iter(lost[min(jobs, len(lost)) :])

    def refinished(k, objs):
        got.add(lost[k])
        done(lost[k], objs[0])
        nxt = next(requeued, None)
        if nxt is not None:
            started([nxt])

    if not _map_on_pool(retry, min(jobs, len(retry)), refinished):
        for i in lost:
            if i not in got:
                done(i, lost_claim_record(claims[i]))


def _map_on_pool(payloads, jobs, on_result) -> bool:
    """Run the payloads on a fresh pool; False if a worker process died (pool broken)."""
    from concurrent.futures.process import BrokenProcessPool

    from verify.runtime.sweep import PoolExecutor

    try:
        with PoolExecutor(jobs) as pool:
            pool.map(_run_claims_in_worker, payloads, on_done=None, on_result=on_result)
    except BrokenProcessPool:
        return False
    return True


def lost_claim_record(claim: Claim) -> ClaimRecord:
    """The ``error`` result of a claim whose worker process died twice while running it."""
    reason = (
        "error: the worker process running this claim died twice (killed by a signal, e.g. "
        "the out-of-memory killer, or crashed); rerun it alone with --jobs 1"
    )
    out = {
        "verdict": "error",
        "reason": reason,
        "rung": None,
        "tolerance": "",
        "key_number": "",
        "tables": {},
        "figures": [],
        "seeds": [],
    }
    return _record(claim, out, 0.0, reason)
