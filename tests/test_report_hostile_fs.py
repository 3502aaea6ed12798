"""The file system and the worker processes under a report (issue: hostile inputs, round 3):
a symlinked ``--out``, an empty or over-long one, a full disk, nonsense job counts and a worker
killed while it runs a claim."""

from __future__ import annotations

import errno
import os
import signal
import sys
import types
from pathlib import Path

import pytest

from verify.app import cli
from verify.app.output import ReportTarget
from verify.app.usage import UserError
from verify.claims import registry
from verify.claims.base import Claim, ClaimResult, RunContext, run_claims


def _holds(ctx):
    return ClaimResult("holds", "fine", rung=1, tolerance="-", key_number="1")


@pytest.fixture
def fake_registry(monkeypatch):
    module = types.ModuleType("fake_fs_claims")
    module.CLAIMS = [Claim("theory.a", "A.", "standard", "-", _holds)]
    monkeypatch.setitem(sys.modules, "fake_fs_claims", module)
    monkeypatch.setattr(registry, "CLAIM_MODULES", ["fake_fs_claims"])


def _main(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_symlinked_out_writes_through_the_link(capsys, tmp_path, fake_registry):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    for _ in range(2):  # a new report, then one replacing it
        code, out, _err = _main(capsys, "report", "-q", "--jobs", "1", "--out", str(link))
        assert code == 0
        assert link.is_symlink() and link.resolve() == real.resolve()
        assert (real / "results.json").is_file() and (real / "index.html").is_file()
        assert str(real.resolve() / "index.html") in out
    assert sorted(p.name for p in tmp_path.iterdir() if "staging" in p.name) == []


def test_the_link_and_the_real_path_share_one_lock(tmp_path):
    real = tmp_path / "real"
    real.mkdir()
    link = tmp_path / "link"
    link.symlink_to(real, target_is_directory=True)
    with ReportTarget(link):
        with pytest.raises(UserError, match="another report"):
            ReportTarget(real).__enter__()


@pytest.mark.parametrize("out", ["", "   "])
def test_an_empty_out_is_an_error_not_the_current_directory(capsys, fake_registry, out):
    code, _out, err = _main(capsys, "report", "-q", "--out", out)
    assert code == 2 and "empty path" in err and len(err.strip().splitlines()) == 1


def test_an_over_long_out_is_one_line(capsys, tmp_path, fake_registry):
    code, _out, err = _main(capsys, "report", "-q", "--out", str(tmp_path / ("x" * 300)))
    assert code == 2 and "300 characters" in err and len(err.strip().splitlines()) == 1


def test_a_full_disk_is_one_line_and_keeps_the_previous_report(
    capsys, tmp_path, fake_registry, monkeypatch
):
    out = tmp_path / "rep"
    assert _main(capsys, "report", "-q", "--jobs", "1", "--out", str(out))[0] == 0
    before = (out / "results.json").read_bytes()

    def full_disk(results, out_dir, meta):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(Path(out_dir) / "report.md"))

    monkeypatch.setattr("verify.app.report.write_report", full_disk)
    code, _out, err = _main(capsys, "report", "-q", "--jobs", "1", "--out", str(out))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert os.strerror(errno.ENOSPC) in err and "Traceback" not in err
    assert (out / "results.json").read_bytes() == before
    assert [p.name for p in tmp_path.iterdir() if "staging" in p.name] == []


@pytest.mark.parametrize("value", ["-3", "-1"])
def test_a_negative_jobs_environment_variable_is_an_error(
    capsys, fake_registry, monkeypatch, value, tmp_path
):
    monkeypatch.setenv("DIFFUSION_VERIFY_JOBS", value)
    code, _out, err = _main(capsys, "report", "-q", "--out", str(tmp_path / "r"))
    assert code == 2 and "DIFFUSION_VERIFY_JOBS must be >= 0" in err


@pytest.mark.parametrize("source", ["flag", "env"])
def test_more_jobs_than_cpus_are_capped(capsys, monkeypatch, source):
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    if source == "env":
        monkeypatch.setenv("DIFFUSION_VERIFY_JOBS", "1000")
    args = cli.build_parser().parse_args(
        ["report"] + (["--jobs", "1000"] if source == "flag" else [])
    )
    assert cli._jobs(args) == 2
    assert "more than the 2 CPUs; using 2 workers" in capsys.readouterr().err


# ----------------------------------------------------------------- killed workers
def _killer(ctx):
    """SIGKILL its own worker process (as the OOM killer would): once, or every time."""
    marker = Path(os.environ["DV_TEST_KILL_DIR"]) / "killed"
    if os.getpid() != int(os.environ["DV_TEST_PARENT"]) and (
        os.environ.get("DV_TEST_KILL_ALWAYS") or not marker.exists()
    ):
        marker.touch()
        os.kill(os.getpid(), signal.SIGKILL)
    return ClaimResult("holds", "survived", rung=1, tolerance="-", key_number="2")


def _claims():
    return [
        Claim("theory.first", "A.", "standard", "-", _holds),
        Claim("horizon.killer", "K.", "standard", "-", _killer),
        Claim("spde.third", "C.", "standard", "-", _holds),
    ]


@pytest.mark.parametrize("always", [False, True])
def test_a_killed_worker_loses_no_other_claim(tmp_path, monkeypatch, always):
    monkeypatch.setenv("DV_TEST_KILL_DIR", str(tmp_path))
    monkeypatch.setenv("DV_TEST_PARENT", str(os.getpid()))
    if always:
        monkeypatch.setenv("DV_TEST_KILL_ALWAYS", "1")
    ctx = RunContext(budget="quick", seed=0, figure_dir=tmp_path / "figures", stream=None)
    results = run_claims(_claims(), ctx, jobs=2)
    verdicts = {r["id"]: r["verdict"] for r in results}
    assert (tmp_path / "killed").exists()  # the worker really was killed
    assert verdicts["theory.first"] == verdicts["spde.third"] == "holds"
    if always:  # killed on the rerun too: an error that says so, the others kept
        assert verdicts["horizon.killer"] == "error"
        killer = next(r for r in results if r["id"] == "horizon.killer")
        assert "died twice" in killer["reason"]
    else:  # rerun once, in a fresh pool, and it survived
        assert verdicts["horizon.killer"] == "holds"
