"""The command line: list, check (exit codes 0/1/2, --json) and report."""

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


def _claim(cid, run, **kw):
    return Claim(cid, f"Statement {cid}.", "standard", "1-D Gaussian", run, **kw)


FAKE = [
    _claim("theory.holds", _holds),
    _claim("theory.holds-too", _holds),
    _claim("theory.fails", _fails),
    _claim("stochasticity.raises", _raises),
    _claim("learned.net", _holds, requires=("surely_not_installed_xyz",)),
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


def test_list_prints_an_aligned_table(capsys):
    code, out, _ = run(capsys, "list")
    lines = out.splitlines()
    assert code == 0 and lines[0].split() == ["id", "statement", "source", "budgets"]
    assert [line.split()[0] for line in lines[2:]] == [c.id for c in FAKE]
    assert all(f"Statement {c.id}" in out for c in FAKE)  # the statement's first sentence
    assert len({line.index("standard") for line in lines[2:]}) == 1
    assert "requires surely_not_installed_xyz" in out


@pytest.mark.parametrize(
    ("ids", "code"),
    [
        (["theory.holds"], 0),
        (["theory.fails"], 1),
        (["stochasticity.raises"], 1),  # a broken claim never looks fine
        (["learned.net"], 0),  # missing optional module: inconclusive
        (["theory.holds", "theory.fails"], 1),
    ],
)
def test_check_exit_code(capsys, ids, code):
    assert run(capsys, "check", "--quiet", *ids)[0] == code


def test_check_prints_a_table_and_the_reasons_of_non_holding_claims(capsys):
    code, out, err = run(capsys, "check", "theory.*")
    assert code == 1
    header, _rule, *rows = out.split("\n\n")[0].splitlines()
    assert header.split() == ["id", "verdict", "rung", "key", "number", "seconds"]
    assert [r.split()[:2] for r in rows] == [
        ["theory.holds", "holds"],
        ["theory.holds-too", "holds"],
        ["theory.fails", "fails"],
    ]
    assert "theory.fails (fails): KL 0.2 > bound 0.1" in out
    assert "[3/3] theory.fails ... fails (" in err  # progress on stderr


def test_check_json_shape_matches_the_design(capsys):
    code, out, err = run(capsys, "check", "--json", "theory.holds", "stochasticity.raises")
    objs = json.loads(out)  # stdout is pure JSON, progress went to stderr
    assert code == 1 and "[1/2]" in err
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
        (["check", "horizon.*"], "no claim id matches 'horizon.*'"),
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


def test_report_writes_files_and_exits_0_even_if_claims_fail(capsys, tmp_path):
    out_dir = tmp_path / "rep"
    code, out, _ = run(capsys, "report", "-q", "--out", str(out_dir), "--seed", "2")
    assert code == 0
    lines = out.splitlines()
    assert lines[-2] == "2 holds, 2 fails, 1 inconclusive"
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
    assert code == 0 and out.splitlines()[-2] == "2 holds, 0 fails, 0 inconclusive"


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
        assert code == 0
        outs[jobs] = json.loads((out_dir / "results.json").read_text())
    strip = [{k: v for k, v in c.items() if k != "seconds"} for c in outs["1"]["claims"]]
    assert strip == [{k: v for k, v in c.items() if k != "seconds"} for c in outs["2"]["claims"]]
    assert "process pool (2 workers)" in outs["2"]["meta"]["executor"]


def test_list_long_shows_every_field_of_the_card(capsys):
    code, out, _ = run(capsys, "list", "--long", "theory.fails")
    assert code == 0 and out.splitlines()[0] == "theory.fails"
    for field in ("statement:", "source:", "setting:", "rung:", "tolerance:", "budgets:"):
        assert field in out


def test_check_strict_exits_1_on_inconclusive(capsys):
    assert run(capsys, "check", "-q", "learned.net")[0] == 0
    assert run(capsys, "check", "-q", "--strict", "learned.net")[0] == 1


def test_an_unknown_glob_suggests_like_an_unknown_id(capsys):
    code, _, err = run(capsys, "check", "theroy.*")
    assert code == 2 and "did you mean 'theory.*'?" in err
