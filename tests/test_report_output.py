"""Reports are written safely: the output is checked first, written aside, swapped in whole,
and locked against a second writer (``verify.app.output``)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import types
from pathlib import Path

import pytest

from verify.app import cli
from verify.app.output import ReportTarget, check_output_dir, is_report_dir
from verify.app.usage import UserError
from verify.claims import registry
from verify.claims.base import Claim, ClaimResult

RAN: list[str] = []


def _holds(ctx):
    RAN.append(ctx.claim_id)
    return ClaimResult("holds", "fine", rung=1, tolerance="-", key_number=f"seed {ctx.seed}")


@pytest.fixture(autouse=True)
def fake_registry(monkeypatch):
    RAN.clear()
    module = types.ModuleType("fake_output_claims")
    module.CLAIMS = [Claim("theory.a", "A.", "standard", "-", _holds)]
    monkeypatch.setitem(sys.modules, "fake_output_claims", module)
    monkeypatch.setattr(registry, "CLAIM_MODULES", ["fake_output_claims"])


def _main(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_out_that_is_a_file_fails_before_any_claim_runs(capsys, tmp_path):
    target = tmp_path / "a-file"
    target.write_text("x")
    for command in ("report", "check"):
        argv = [command, "-q", "--out", str(target)] + (["theory.a"] if command == "check" else [])
        code, out, err = _main(capsys, *argv)
        assert code == 2 and "not a directory" in err and len(err.strip().splitlines()) == 1
    assert RAN == []  # refused before running anything


def test_unwritable_out_fails_before_any_claim_runs(capsys, tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    # root can write anywhere, so the permission is denied by patching the check itself
    monkeypatch.setattr(
        "verify.app.output.os.access",
        lambda p, mode: False if Path(p) == locked else real_access(p, mode),
    )
    code, _, err = _main(capsys, "report", "-q", "--out", str(locked / "rep"))
    assert code == 2 and "permission denied" in err and RAN == []


def test_a_directory_with_other_files_is_never_replaced(capsys, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    code, _, err = _main(capsys, "report", "-q", "--out", str(tmp_path))
    assert code == 2 and "not a diffusion-verify report" in err and RAN == []
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_report_replaces_a_previous_report_whole(capsys, tmp_path):
    out = tmp_path / "rep"
    assert _main(capsys, "report", "-q", "--out", str(out), "--seed", "1")[0] == 0
    assert is_report_dir(out)
    first = json.loads((out / "results.json").read_text())
    assert _main(capsys, "report", "-q", "--out", str(out), "--seed", "2")[0] == 0
    second = json.loads((out / "results.json").read_text())
    assert first["meta"]["seed"] == 1 and second["meta"]["seed"] == 2
    # nothing is left beside it: no staging or previous directories, only the lock file
    assert sorted(p.name for p in tmp_path.iterdir()) == [".rep.lock", "rep"]


def test_a_second_writer_refuses_while_the_first_holds_the_lock(capsys, tmp_path):
    out = tmp_path / "rep"
    with ReportTarget(out):
        code, _, err = _main(capsys, "report", "-q", "--out", str(out))
    assert code == 2 and "another report is being written" in err and RAN == []
    assert not out.exists()


def test_an_interrupted_run_keeps_the_previous_report(tmp_path):
    out = tmp_path / "rep"
    with ReportTarget(out) as target:
        (target.staging / "results.json").write_text(
            json.dumps({"meta": {"toolkit": "diffusion-verify"}})
        )
        (target.staging / "index.html").write_text("old")
        target.commit()
    with pytest.raises(KeyboardInterrupt), ReportTarget(out) as target:
        (target.staging / "index.html").write_text("new, half written")
        raise KeyboardInterrupt
    assert (out / "index.html").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".rep.lock", "rep"]


def test_an_interrupted_swap_is_repaired_by_the_next_run(tmp_path):
    """The two-rename fallback: killed between its renames, ``out`` is restored next time."""
    out = tmp_path / "rep"
    previous = tmp_path / ".rep.previous-abc"
    previous.mkdir()
    (previous / "index.html").write_text("complete old report")
    stale = tmp_path / ".rep.staging-xyz"
    stale.mkdir()
    with ReportTarget(out):
        assert (out / "index.html").read_text() == "complete old report"
        assert not stale.exists() and not previous.exists()


def test_check_output_dir_accepts_a_new_nested_directory(tmp_path):
    assert check_output_dir(tmp_path / "a" / "b") == (tmp_path / "a" / "b").absolute()
    with pytest.raises(UserError):
        (tmp_path / "f").write_text("")
        check_output_dir(tmp_path / "f")


def test_check_json_keeps_no_stray_figures_without_out(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", None)
    code, out, err = _main(capsys, "check", "theory.a", "--json")
    assert code == 0 and json.loads(out)[0]["figures"] == []
    assert "pass --out DIR to keep them" in err
    assert list(tmp_path.iterdir()) == []  # the temporary figure directory is gone


_SLOW_CLAIMS = textwrap.dedent(
    """
    import time
    from verify.claims.base import Claim, ClaimResult

    def _slow(ctx):
        time.sleep(60)
        return ClaimResult("holds", "slow", rung=1, tolerance="-")

    CLAIMS = [Claim("theory.slow", "Slow.", "standard", "-", _slow)]
    """
)


def test_a_report_killed_while_running_leaves_the_previous_one(capsys, tmp_path):
    out = tmp_path / "rep"
    assert _main(capsys, "report", "-q", "--out", str(out), "--seed", "7")[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    (tmp_path / "slow_claims.py").write_text(_SLOW_CLAIMS)
    code = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "from verify.claims import registry; registry.CLAIM_MODULES = ['slow_claims']\n"
        "from verify.app.cli import main; main(['report', '-q', '--out', sys.argv[2]])\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path), str(out)])
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(".rep.staging-*")) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert list(tmp_path.glob(".rep.staging-*")), "the second report never started"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    after = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    assert after == before  # the previous complete report, untouched
    # the next run cleans the killed run's staging directory up
    assert _main(capsys, "report", "-q", "--out", str(out))[0] == 0
    assert not list(tmp_path.glob(".rep.staging-*"))
    assert Path(out / "index.html").is_file()
