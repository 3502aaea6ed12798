"""The command line: list, check (exit codes 0/1/2/3, --json), report, --version."""

from __future__ import annotations

import json
import subprocess
import sys
import types
from pathlib import Path

import pytest

from verify.app import cli
from verify.claims import registry
from verify.claims.base import RESULT_FIELDS, Claim, ClaimResult, Table
from verify.runtime import sweep


def _holds(ctx):
    rows = [[n, float(ctx.rng("x", n).random()) * 1e-12] for n in (10, 20)]
    return ClaimResult(
        "holds",
        "max err 1e-12",
        rung=1,
        tolerance="rel 1e-10",
        key_number="max err = 1e-12",
        tables={"errors": Table(["n", "err"], rows)},
        seeds=[ctx.seed],
    )


def _fails(ctx):
    return ClaimResult("fails", "KL 0.2 > bound 0.1", rung=2, tolerance="abs 1e-12")


def _raises(ctx):
    raise ZeroDivisionError("division by zero")


def _needs_torchsde(ctx):  # what diffusers raises when torchsde is absent
    raise ImportError("DPMSolverSDEScheduler requires the torchsde library but it was not found")


def _needs_a_module(ctx):
    import surely_not_installed_xyz  # noqa: F401


def _claim(cid, run, **kw):
    return Claim(cid, f"Statement {cid}.", "standard", "1-D Gaussian", run, **kw)


FAKE = [
    _claim("theory.holds", _holds),
    _claim("theory.holds-too", _holds),
    _claim("theory.fails", _fails),
    _claim("stochasticity.raises", _raises),
    _claim("learned.net", _holds, requires=("surely_not_installed_xyz",)),
    _claim("horizon.finding", _fails, finding="What holds instead."),
    _claim("horizon.fixed-upstream", _holds, finding="What held instead."),
    _claim("conformance.needs-torchsde", _needs_torchsde),
    _claim("conformance.needs-module", _needs_a_module),
]


@pytest.fixture(autouse=True)
def fake_registry(monkeypatch):
    module = types.ModuleType("fake_cli_claims")
    module.CLAIMS = FAKE
    monkeypatch.setitem(sys.modules, "fake_cli_claims", module)
    monkeypatch.setattr(registry, "CLAIM_MODULES", ["fake_cli_claims"])


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_prints_an_aligned_table(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    code, out, _ = run(capsys, "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["id", "title", "expected", "requires", "source"]
    assert [line.split()[0] for line in lines[2:]] == [c.id for c in FAKE]
    assert all(f"Statement {c.id}." in out for c in FAKE)  # no title: the whole statement
    assert len({line.index("standard") for line in lines[2:]}) == 1
    assert "surely_not_installed_xyz" in out
    expected = {line.split()[0]: line.split()[-3] for line in lines[2:]}
    assert expected["horizon.finding"] == "fails" and expected["theory.fails"] == "holds"


def _long_claim(cid, words):
    title = " ".join(f"word{i:02d}" for i in range(words)) + "."
    return Claim(cid, "S.", "standard", "1-D Gaussian", _holds, title=title)


@pytest.mark.parametrize("columns", [60, 80, 120])
def test_list_fits_the_terminal_and_cuts_titles_at_words(capsys, monkeypatch, columns):
    module = types.ModuleType("fake_long_claims")
    module.CLAIMS = [_long_claim("theory.long", 40), _long_claim("theory.short", 2)]
    monkeypatch.setitem(sys.modules, "fake_long_claims", module)
    monkeypatch.setattr(registry, "CLAIM_MODULES", ["fake_long_claims"])
    monkeypatch.setenv("COLUMNS", str(columns))
    code, out, _ = run(capsys, "list")
    lines = out.splitlines()
    assert code == 0 and max(map(len, lines)) <= columns
    long_row = next(line for line in lines if line.startswith("theory.long"))
    title = long_row.split("  ")[1].strip() if "  " in long_row else ""
    cell = long_row[len("theory.long") :].split("holds")[0].strip()
    assert cell.endswith("…") and cell[:-1].split()[-1] in {f"word{i:02d}" for i in range(40)}
    assert title  # a cut title is whole words plus an ellipsis
    assert "word00 word01." in out  # a short title is not cut


def test_one_line_cuts_only_at_word_boundaries():
    assert cli._one_line("alpha beta gamma", 16) == "alpha beta gamma"
    assert cli._one_line("alpha beta gamma", 15) == "alpha beta…"
    assert cli._one_line("alpha beta gamma", 11) == "alpha beta…"
    assert cli._one_line("alpha beta gamma", 10) == "alpha…"
    assert cli._one_line("alphabetagamma", 6) == "alpha…"  # one long word: cut, still marked
    assert all(len(cli._one_line("a b c d e f g h", w)) <= w for w in range(1, 20))


@pytest.mark.parametrize(
    ("ids", "code"),
    [
        (["theory.holds"], 0),
        (["theory.fails"], 1),  # should hold, fails
        (["stochasticity.raises"], 3),  # a broken claim never looks fine: error
        (["learned.net"], 0),  # missing requirement: skipped
        (["horizon.finding"], 0),  # a recorded finding fails, as expected
        (["horizon.fixed-upstream"], 1),  # a recorded finding now holds
        (["conformance.needs-torchsde"], 0),  # ImportError of an optional package: skipped
        (["conformance.needs-module"], 3),  # an unknown module: a bug of ours, error
        (["theory.holds", "theory.fails"], 1),
        (["theory.fails", "stochasticity.raises"], 3),  # error wins over a wrong verdict
    ],
)
def test_check_exit_code(capsys, ids, code):
    assert run(capsys, "check", "--quiet", *ids)[0] == code


def test_check_verdicts_error_skipped_and_expected(capsys):
    code, out, err = run(capsys, "check", "--json", "-q", "*")
    by_id = {o["id"]: o for o in json.loads(out)}
    assert code == 3
    assert {i: o["verdict"] for i, o in by_id.items()} == {
        "theory.holds": "holds",
        "theory.holds-too": "holds",
        "theory.fails": "fails",
        "stochasticity.raises": "error",
        "learned.net": "skipped",
        "horizon.finding": "fails",
        "horizon.fixed-upstream": "holds",
        "conformance.needs-torchsde": "skipped",
        "conformance.needs-module": "error",
    }
    assert by_id["horizon.finding"]["expected"] == "fails"
    assert by_id["theory.fails"]["expected"] == "holds"
    assert "Traceback" in by_id["stochasticity.raises"]["error"]
    assert "error" not in by_id["learned.net"]
    skipped = by_id["conformance.needs-torchsde"]["reason"]
    assert skipped.startswith('requires torchsde (pip install -e ".[peers]")'), skipped
    assert "pip install surely_not_installed_xyz" in by_id["learned.net"]["reason"]
    assert "the statement may have been fixed upstream" in err
    assert "horizon.fixed-upstream" in err and "theory.fails: fails, expected holds" in err
    assert "horizon.finding" not in err  # an expected failure is not reported as a problem


def test_check_table_marks_expected_failures_and_counts(capsys):
    code, out, _ = run(capsys, "check", "-q", "horizon.finding", "theory.holds", "learned.net")
    assert code == 0
    assert "horizon.finding  fails (expected)" in out
    assert out.splitlines()[-1] == (
        "3 claims: 1 holds, 1 fails (1 expected), 0 inconclusive, 1 skipped, 0 error; "
        "every verdict as expected"
    )


def test_claim_expected_defaults_and_validation():
    assert _claim("theory.a", _holds).expected == "holds"
    assert _claim("theory.a", _holds, finding="x").expected == "fails"
    assert _claim("theory.a", _holds, expected="inconclusive").expected == "inconclusive"
    with pytest.raises(ValueError, match="expected must be one of"):
        _claim("theory.a", _holds, expected="error")


def test_version_from_the_package_metadata(capsys):
    import importlib.metadata

    import verify

    code, out, _ = run(capsys, "--version")
    assert code == 0 and out.strip() == f"diffusion-verify {verify.__version__}"
    try:
        installed = importlib.metadata.version("diffusion-verify")
    except importlib.metadata.PackageNotFoundError:
        installed = None
    assert verify.__version__ == (installed or verify.__version__)
    assert verify.__version__[0].isdigit()


def test_help_shows_the_exit_code_table(capsys):
    for argv in (["--help"], ["check", "--help"], ["report", "--help"]):
        code, out, _ = run(capsys, *argv)
        assert code == 0
        for line in ("exit codes", "  0  every verdict is the expected one", "  3  a claim raised"):
            assert line in out
    _, out, _ = run(capsys, "check", "--help")
    assert "not only on fails" not in out and "inconclusive or skipped" in " ".join(out.split())


def test_check_prints_a_table_and_the_reasons_of_non_holding_claims(capsys):
    code, out, err = run(capsys, "check", "theory.*")
    assert code == 1
    header, _rule, *rows = out.split("\n\n")[0].splitlines()
    assert header.split() == ["id", "verdict", "rung", "key", "number", "seconds"]
    assert [r.split()[:3] for r in rows] == [
        ["theory.holds", "holds", "1"],
        ["theory.holds-too", "holds", "1"],
        ["theory.fails", "fails", "(UNEXPECTED)"],
    ]
    assert "theory.fails (fails): KL 0.2 > bound 0.1" in out
    assert "[3/3] theory.fails ... fails (" in err  # progress on stderr


def test_check_json_shape_matches_the_design(capsys):
    code, out, err = run(capsys, "check", "--json", "theory.holds", "stochasticity.raises")
    objs = json.loads(out)  # stdout is pure JSON, progress went to stderr
    assert code == 3 and "[1/2]" in err
    assert [tuple(o) for o in objs] == [RESULT_FIELDS, (*RESULT_FIELDS, "error")]
    ok, broken = objs
    assert ok["verdict"] == "holds" and ok["rung"] == 1
    assert ok["tables"]["errors"]["columns"] == ["n", "err"]
    assert [r[0] for r in ok["tables"]["errors"]["rows"]] == [10, 20]
    assert broken["reason"] == "error: ZeroDivisionError: division by zero"


def test_check_seed_reaches_the_claims(capsys):
    a = json.loads(run(capsys, "check", "--json", "--seed", "5", "theory.holds")[1])[0]
    b = json.loads(run(capsys, "check", "--json", "--seed", "5", "theory.holds")[1])[0]
    c = json.loads(run(capsys, "check", "--json", "--seed", "6", "theory.holds")[1])[0]
    assert a["tables"] == b["tables"] != c["tables"] and a["seeds"] == [5]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["check", "theroy.holds"],
            "unknown claim id 'theroy.holds'; did you mean 'theory.holds'?",
        ),
        (["check", "spde.*"], "no claim id matches 'spde.*'"),
        (["check", "--budget", "fast", "theory.holds"], "invalid choice: 'fast'"),
        (["check", "--seed", "-3", "theory.holds"], "non-negative integer"),
        (["check", "--jobs", "2", "--scheduler", "tcp://h:1", "theory.holds"], "not both"),
        (["report", "--only", "nope.x"], "unknown claim id 'nope.x'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
        ([], "required"),
    ],
)
def test_user_errors_are_one_line_and_exit_2(capsys, argv, message):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert len(err.strip().splitlines()) == 1 and message in err
    assert "Traceback" not in err


def test_unreachable_scheduler_is_a_user_error(capsys, monkeypatch):
    pytest.importorskip("distributed")
    monkeypatch.setattr(sweep, "CONNECT_TIMEOUT", 0.5)
    code, out, err = run(capsys, "check", "--scheduler", "tcp://127.0.0.1:9", "theory.holds")
    assert code == 2 and out == ""
    assert "cannot reach Dask scheduler at 'tcp://127.0.0.1:9'" in err
    assert "run without --scheduler to run locally" in err
    assert len(err.strip().splitlines()) == 1


def test_report_writes_files_and_its_exit_code_follows_the_verdicts(capsys, tmp_path):
    out_dir = tmp_path / "rep"
    code, out, _ = run(capsys, "report", "-q", "--out", str(out_dir), "--seed", "2")
    assert code == 3  # two claims raised
    lines = out.splitlines()
    assert lines[-2] == (
        "9 claims: 3 holds, 2 fails (1 expected), 0 inconclusive, 2 skipped, 2 error; "
        "4 not as expected"
    )
    assert Path(lines[-1]) == out_dir / "index.html"
    for name in ("index.html", "report.md", "results.json"):
        assert (out_dir / name).is_file()
    data = json.loads((out_dir / "results.json").read_text())
    assert [c["id"] for c in data["claims"]] == [c.id for c in FAKE]
    meta = data["meta"]
    assert meta["seed"] == 2 and meta["budget"] == "quick"
    assert meta["rerun"].startswith("diffusion-verify report --budget quick --seed 2 --out ")
    assert meta["command"].startswith("diffusion-verify report -q --out")


def test_report_only_selects_claims(capsys, tmp_path):
    code, out, _ = run(capsys, "report", "-q", "--out", str(tmp_path), "--only", "theory.holds*")
    assert code == 0 and out.splitlines()[-2] == (
        "2 claims: 2 holds, 0 fails (0 expected), 0 inconclusive, 0 skipped, 0 error; "
        "every verdict as expected"
    )


@pytest.mark.parametrize(
    ("only", "strict", "code"),
    [
        (["horizon.finding", "theory.holds"], False, 0),
        (["horizon.finding", "learned.net"], False, 0),
        (["horizon.finding", "learned.net"], True, 1),
        (["horizon.fixed-upstream"], False, 1),
        (["stochasticity.raises", "horizon.finding"], False, 3),
    ],
)
def test_report_exit_codes(capsys, tmp_path, only, strict, code):
    argv = ["report", "-q", "--out", str(tmp_path / "r"), "--only", *only]
    assert run(capsys, *argv, *(["--strict"] if strict else []))[0] == code


def test_python_dash_m_verify_runs_the_cli():
    proc = subprocess.run(
        [sys.executable, "-m", "verify", "list"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr


def test_importing_the_infrastructure_is_light():
    code = (
        "import sys, verify, verify.app.cli, verify.claims, verify.claims.registry, "
        "verify.app.report, "
        "verify.runtime.sweep, verify.runtime.progress\n"
        "heavy = [m for m in ('torch', 'matplotlib', 'dask', 'distributed') if m in sys.modules]\n"
        "print(heavy)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"


def test_claims_in_worker_processes_give_the_same_results(capsys, tmp_path):
    """--jobs 2 spreads the claims over two processes; every number is the same as --jobs 1."""
    outs = {}
    for jobs in ("1", "2"):
        out_dir = tmp_path / f"jobs{jobs}"
        code, _, _ = run(capsys, "report", "-q", "--out", str(out_dir), "--jobs", jobs)
        assert code == 3  # the fake registry holds claims that raise
        outs[jobs] = json.loads((out_dir / "results.json").read_text())
    strip = [{k: v for k, v in c.items() if k != "seconds"} for c in outs["1"]["claims"]]
    assert strip == [{k: v for k, v in c.items() if k != "seconds"} for c in outs["2"]["claims"]]
    assert "process pool (2 workers)" in outs["2"]["meta"]["executor"]


def test_list_long_shows_every_field_of_the_card(capsys):
    code, out, _ = run(capsys, "list", "--long", "theory.fails")
    assert code == 0 and out.splitlines()[0] == "theory.fails"
    for field in ("statement:", "source:", "setting:", "rung:", "tolerance:", "budgets:"):
        assert field in out


def test_check_strict_exits_1_on_skipped_and_inconclusive(capsys, monkeypatch):
    assert run(capsys, "check", "-q", "learned.net")[0] == 0
    assert run(capsys, "check", "-q", "--strict", "learned.net")[0] == 1
    undecided = _claim(
        "theory.undecided",
        lambda ctx: ClaimResult("inconclusive", "CI straddles", rung=4, tolerance="95% CI"),
    )
    module = types.ModuleType("fake_undecided")
    module.CLAIMS = [undecided]
    monkeypatch.setitem(sys.modules, "fake_undecided", module)
    monkeypatch.setattr(registry, "CLAIM_MODULES", ["fake_undecided"])
    assert run(capsys, "check", "-q", "theory.undecided")[0] == 0
    assert run(capsys, "check", "-q", "--strict", "theory.undecided")[0] == 1


def test_an_unknown_glob_suggests_like_an_unknown_id(capsys):
    code, _, err = run(capsys, "check", "theroy.*")
    assert code == 2 and "did you mean 'theory.*'?" in err
