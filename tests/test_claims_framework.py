"""The claim framework: results, contexts, run_claim and the registry."""

from __future__ import annotations

import json
import subprocess
import sys
import types
import zlib

import numpy as np
import pytest

from verify.claims import registry
from verify.claims.base import (
    RESULT_FIELDS,
    Claim,
    ClaimResult,
    RunContext,
    Table,
    run_claim,
    run_claims,
    to_jsonable,
)


def _holds(ctx):
    err = abs(ctx.rng("holds").standard_normal()) * 1e-13
    table = Table(["n", "err", "note"], [[np.int64(3), np.float64(1e-13), "ok"], [4, np.nan, "x"]])
    return ClaimResult(
        "holds",
        f"max err {err:.1e} < 1e-10",
        rung=1,
        tolerance="rel 1e-10",
        key_number="max err = 1e-13",
        tables={"errors": table},
        seeds=[np.int64(ctx.seed)],
    )


def _fails(ctx):
    return ClaimResult("fails", "KL grew from 0.1 to 0.2", rung=2, tolerance="abs 1e-12")


def _raises(ctx):
    raise RuntimeError("boom\nsecond line")


def _returns_none(ctx):
    return None


def _make(cid, run, **kw):
    return Claim(
        id=cid,
        statement=f"statement of {cid}",
        source="standard",
        setting="1-D Gaussian",
        run=run,
        **kw,
    )


@pytest.fixture
def ctx(tmp_path):
    return RunContext(budget="quick", seed=0, figure_dir=tmp_path / "figures", stream=None)


# ----------------------------------------------------------------------------- results
@pytest.mark.parametrize(
    "kwargs",
    [
        {"verdict": "passes", "reason": "", "rung": 1, "tolerance": ""},
        {"verdict": "holds", "reason": "", "rung": 0, "tolerance": ""},
        {"verdict": "holds", "reason": "", "rung": 6, "tolerance": ""},
        {"verdict": "holds", "reason": "", "rung": "1", "tolerance": ""},
    ],
)
def test_claim_result_rejects_bad_verdict_or_rung(kwargs):
    with pytest.raises(ValueError):
        ClaimResult(**kwargs)


def test_table_rejects_rows_of_wrong_length():
    with pytest.raises(ValueError, match="row 1 has 1 cells"):
        Table(["a", "b"], [[1, 2], [3]])


@pytest.mark.parametrize("bad", ["nonamespace", "Theory.x", "theory.", ".x", "theory.a b"])
def test_claim_id_must_be_namespaced(bad):
    with pytest.raises(ValueError, match="namespace.name"):
        _make(bad, _fails)


def test_claim_budgets_must_be_known():
    with pytest.raises(ValueError, match="budgets"):
        _make("theory.x", _fails, budgets=("slow",))


def test_to_jsonable_converts_numpy_and_non_finite_numbers():
    obj = {
        "a": np.float32(0.5),
        "b": np.arange(3),
        "c": [np.nan, np.inf, -np.inf],
        1: (np.bool_(True), None),
    }
    out = to_jsonable(obj)
    assert out == {"a": 0.5, "b": [0, 1, 2], "c": ["nan", "inf", "-inf"], "1": [True, None]}
    json.dumps(out, allow_nan=False)


# ----------------------------------------------------------------------------- run_claim
def test_run_claim_returns_the_design_json_object(ctx):
    obj = run_claim(_make("theory.holds", _holds), ctx)
    assert tuple(obj) == RESULT_FIELDS
    assert obj["verdict"] == "holds" and obj["rung"] == 1
    assert obj["tables"] == {
        "errors": {"columns": ["n", "err", "note"], "rows": [[3, 1e-13, "ok"], [4, "nan", "x"]]}
    }
    assert obj["seeds"] == [0] and isinstance(obj["seconds"], float)
    json.dumps(obj, allow_nan=False)


def test_exception_in_claim_gives_error_with_traceback(ctx):
    obj = run_claim(_make("theory.raises", _raises), ctx)
    assert obj["verdict"] == "error" and obj["expected"] == "holds"
    assert obj["reason"] == "error: RuntimeError: boom"
    assert "Traceback" in obj["error"] and "_raises" in obj["error"]
    assert obj["rung"] is None


def test_run_returning_something_else_fails(ctx):
    obj = run_claim(_make("theory.none", _returns_none), ctx)
    assert obj["verdict"] == "error" and "expected a ClaimResult" in obj["reason"]


def test_missing_requirement_is_skipped_not_a_crash(ctx):
    claim = _make("learned.net", _raises, requires=("surely_not_installed_xyz",))
    obj = run_claim(claim, ctx)
    assert obj["verdict"] == "skipped"
    assert (
        obj["reason"] == "requires surely_not_installed_xyz (pip install surely_not_installed_xyz)"
    )


def test_missing_torch_gives_the_install_advice_of_the_readme(ctx, monkeypatch):
    import importlib.util
    import re
    from pathlib import Path

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda n, *a: None if n == "torch" else real(n, *a)
    )
    obj = run_claim(_make("learned.net", _raises, requires=("torch",)), ctx)
    assert obj["verdict"] == "skipped" and obj["reason"].startswith("requires torch")
    # the hint is README's own command: the CPU wheel first, then the extra
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    command = re.search(r"\((install the CPU wheel first: )?(.+)\)$", obj["reason"]).group(2)
    assert command in readme and "torch==" in command


def test_claim_not_run_at_an_unsupported_budget(ctx):
    obj = run_claim(_make("theory.big", _raises, budgets=("full",)), ctx)
    assert obj["verdict"] == "skipped" and "--budget full" in obj["reason"]


def test_run_claims_logs_one_line_per_claim(tmp_path):
    import io

    stream = io.StringIO()
    ctx = RunContext(figure_dir=tmp_path, stream=stream)
    out = run_claims([_make("theory.holds", _holds), _make("theory.fails", _fails)], ctx)
    assert [o["verdict"] for o in out] == ["holds", "fails"]
    lines = stream.getvalue().splitlines()
    assert lines[0].startswith("[1/2] theory.holds ... holds (")
    assert lines[1].startswith("[2/2] theory.fails ... fails (")


# ----------------------------------------------------------------------------- context
def test_rng_is_seeded_from_seed_and_crc32_of_keys():
    ctx = RunContext(seed=7, stream=None)
    a = ctx.rng("gamma", 3).standard_normal(5)
    b = np.random.default_rng([7, zlib.crc32(b"gamma"), 3]).standard_normal(5)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, RunContext(seed=8).rng("gamma", 3).standard_normal(5))


def test_rng_is_identical_in_another_process():
    code = "from verify.claims.base import RunContext; print(RunContext(seed=3).rng('k').random())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert float(out.stdout) == RunContext(seed=3).rng("k").random()


@pytest.mark.parametrize("kwargs", [{"budget": "slow"}, {"seed": -1}, {"seed": 1.5}])
def test_run_context_rejects_bad_budget_or_seed(kwargs):
    with pytest.raises(ValueError):
        RunContext(**kwargs)


def test_savefig_writes_named_png_and_records_it(ctx):
    pytest.importorskip("matplotlib")

    def run(c):
        fig = c.figure(figsize=(2, 2))
        fig.add_subplot().plot([0, 1], [1, 0])
        c.savefig(fig, "decay curve")  # not listed in the result: still reported
        return ClaimResult("holds", "ok", rung=1, tolerance="-")

    obj = run_claim(_make("theory.fig", run), ctx)
    path = ctx.figure_dir / "theory.fig-decay_curve.png"
    assert obj["figures"] == [str(path)]
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_map_rejects_unpicklable_functions(ctx):
    with pytest.raises(TypeError, match="top-level function"):
        ctx.map(lambda t: t, [1, 2])


def test_map_returns_results_in_task_order(ctx):
    assert ctx.map(abs, [-3, 1, -2]) == [3, 1, 2]


# ----------------------------------------------------------------------------- registry
@pytest.fixture
def fake_modules(monkeypatch):
    mods = {
        "fake_claims_a": [_make("theory.holds", _holds), _make("theory.fails", _fails)],
        "fake_claims_b": [
            _make("stochasticity.decay", _holds),
            _make("stochasticity.decay-rate", _fails),
        ],
        "fake_claims_dup": [_make("theory.holds", _fails)],
    }
    for name, claims in mods.items():
        module = types.ModuleType(name)
        module.CLAIMS = claims
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setitem(sys.modules, "fake_claims_empty", types.ModuleType("fake_claims_empty"))
    return ["fake_claims_a", "fake_claims_b"]


def test_all_claims_concatenates_modules_in_order(fake_modules):
    ids = [c.id for c in registry.all_claims(fake_modules)]
    assert ids == [
        "theory.holds",
        "theory.fails",
        "stochasticity.decay",
        "stochasticity.decay-rate",
    ]


def test_duplicate_ids_are_an_error(fake_modules):
    with pytest.raises(ValueError, match="duplicate claim id 'theory.holds'"):
        registry.all_claims([*fake_modules, "fake_claims_dup"])


def test_module_that_fails_to_import_is_named(fake_modules):
    with pytest.raises(registry.ClaimModuleError, match="verify.claims.no_such_module"):
        registry.all_claims(["verify.claims.no_such_module"])
    with pytest.raises(registry.ClaimModuleError, match="no module-level CLAIMS"):
        registry.all_claims(["fake_claims_empty"])


def test_optional_missing_module_is_skipped(fake_modules):
    mods = ["verify.claims.not_written_yet", *fake_modules]
    claims = registry.all_claims(mods, optional={"verify.claims.not_written_yet"})
    assert len(claims) == 4


def test_default_registry_imports():
    assert all(isinstance(c, Claim) for c in registry.all_claims())


@pytest.mark.parametrize(
    ("patterns", "expected"),
    [
        (["stochasticity.*"], ["stochasticity.decay", "stochasticity.decay-rate"]),
        (["theory"], ["theory.holds", "theory.fails"]),
        (
            ["stochasticity.decay", "theory.fails", "theory.*"],
            ["theory.holds", "theory.fails", "stochasticity.decay"],
        ),
        (["*.*fail*"], ["theory.fails"]),
    ],
)
def test_select_by_id_glob_or_namespace(fake_modules, patterns, expected):
    claims = registry.all_claims(fake_modules)
    assert [c.id for c in registry.select(patterns, claims)] == expected


def test_unknown_id_suggests_the_nearest(fake_modules):
    claims = registry.all_claims(fake_modules)
    with pytest.raises(registry.UnknownClaimError) as err:
        registry.get("theroy.holds", claims)
    assert str(err.value) == "unknown claim id 'theroy.holds'; did you mean 'theory.holds'?"
    with pytest.raises(registry.UnknownClaimError, match="diffusion-verify list"):
        registry.select(["zzz"], claims)
    with pytest.raises(registry.UnknownClaimError, match="no claim id matches 'horizon.*'"):
        registry.select(["horizon.*"], claims)
    assert registry.get("theory.fails", claims).id == "theory.fails"


def test_decide_checks_treats_numpy_booleans_as_booleans():
    import numpy as np

    from verify.claims.base import Check, decide_checks

    assert decide_checks([Check(np.bool_(False), "x")], "ok").verdict == "fails"
    assert decide_checks([Check(np.float64(2.0) > 1.0, "y")], "ok").verdict == "holds"
    assert decide_checks([Check(None, "z")], "ok").verdict == "inconclusive"
    with pytest.raises(TypeError):
        Check("yes", "w")
