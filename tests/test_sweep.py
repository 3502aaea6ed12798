"""Sweep executors: same results in task order whichever executor runs the tasks."""

from __future__ import annotations

import io
import threading
import time
import zlib

import numpy as np
import pytest

from verify.claims.base import RunContext
from verify.runtime import sweep
from verify.runtime.progress import Progress, progress
from verify.runtime.sweep import (
    LocalExecutor,
    PoolExecutor,
    SchedulerUnreachable,
    make_executor,
    stable_int,
    task_seed,
)


def draw(task: dict) -> list[float]:
    """A sweep task: its own generator from its own seed; later tasks finish first."""
    time.sleep(task["sleep"])
    rng = np.random.default_rng(task["seed"])
    return [task["gamma"], float(rng.standard_normal(3).sum() * task["gamma"])]


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("task 3 is broken")
    return x


def _tasks(n: int = 6) -> list[dict]:
    gammas = np.linspace(0.0, 2.0, n)
    return [
        {"gamma": float(g), "seed": task_seed(0, "gamma", float(g)), "sleep": 0.02 * (n - i)}
        for i, g in enumerate(gammas)
    ]


@pytest.fixture(scope="module")
def local_results():
    return LocalExecutor().map(draw, _tasks())


def test_task_seed_is_deterministic_and_distinct():
    assert task_seed(0, "gamma", 0.5) == task_seed(0, "gamma", 0.5)
    seeds = {task_seed(s, "gamma", g) for s in (0, 1) for g in (0.5, 1.0, 2.0)}
    assert len(seeds) == 6
    with pytest.raises(ValueError, match="base_seed"):
        task_seed(-1)


def test_stable_int_uses_crc32_for_strings():
    assert stable_int("theory.x") == zlib.crc32(b"theory.x")
    assert stable_int(5) == 5 and stable_int(np.int32(5)) == 5
    assert stable_int(-1) == zlib.crc32(b"-1") and stable_int(0.5) == zlib.crc32(b"0.5")


def test_pool_gives_the_local_results_in_task_order(local_results):
    with PoolExecutor(2) as pool:
        done = []
        assert pool.map(draw, _tasks(), on_done=done.append) == local_results
        assert sorted(done) == list(range(6))
        assert pool.map(draw, []) == []


def test_dask_gives_the_local_results_in_task_order(local_results):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    ) as cluster:
        with sweep.DaskExecutor(cluster.scheduler_address) as ex:
            assert ex.map(draw, _tasks()) == local_results
            with pytest.raises(ValueError, match="task 3 is broken"):
                ex.map(fail_on_three, [1, 2, 3, 4])


def test_unreachable_scheduler_is_refused_before_dask_starts(monkeypatch):
    """A refused address fails at the TCP probe: dask's slow, noisy Client never starts."""
    distributed = pytest.importorskip("distributed")

    def no_client(*args, **kwargs):
        raise AssertionError("the Dask client was started for a refused address")

    monkeypatch.setattr(distributed, "Client", no_client)
    with pytest.raises(SchedulerUnreachable, match="run without --scheduler to run locally"):
        sweep.DaskExecutor("tcp://127.0.0.1:9", timeout=0.5)


def test_task_errors_propagate():
    with pytest.raises(ValueError, match="task 3 is broken"):
        LocalExecutor().map(fail_on_three, [1, 2, 3])


def test_pool_rejects_lambdas():
    with PoolExecutor(2) as pool, pytest.raises(TypeError, match="top-level function"):
        pool.map(lambda x: x, [1])


def test_run_context_map_uses_its_executor(local_results):
    ctx = RunContext(executor=LocalExecutor(), stream=None)
    assert ctx.map(draw, _tasks(), desc="gamma sweep") == local_results


@pytest.mark.parametrize(
    ("jobs", "kind"), [(None, LocalExecutor), (1, LocalExecutor), (2, PoolExecutor)]
)
def test_make_executor(jobs, kind):
    with make_executor(jobs=jobs) as ex:
        assert type(ex) is kind


def test_make_executor_rejects_jobs_with_scheduler():
    with pytest.raises(ValueError, match="not both"):
        make_executor(jobs=2, scheduler="tcp://x:1")


# ----------------------------------------------------------------------------- progress
class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_sweep_progress_prints_at_most_about_ten_lines_off_a_tty():
    stream = io.StringIO()
    for _ in progress(range(100), desc="gamma sweep", stream=stream, line_interval=0):
        pass
    lines = stream.getvalue().splitlines()
    assert 5 <= len(lines) <= 11
    assert lines[-1].startswith("[100/100] gamma sweep (")


def test_claim_progress_prints_one_line_per_note_off_a_tty():
    stream = io.StringIO()
    with Progress(2, "claims", stream=stream) as bar:
        bar.update(1, note="theory.a ... holds (0.1 s)")
        with Progress(4, "inner", stream=stream, max_lines=2, line_interval=0) as inner:
            for _ in range(4):
                inner.update()
        bar.update(1, note="theory.b ... fails (0.2 s)")
    lines = stream.getvalue().splitlines()
    assert lines[0] == "[1/2] theory.a ... holds (0.1 s)"
    assert lines[-1] == "[2/2] theory.b ... fails (0.2 s)"
    assert all(line.startswith("  [") for line in lines[1:-1])  # inner lines are indented


def test_nested_bars_on_a_terminal_are_tqdm_bars_and_notes_are_permanent_lines():
    pytest.importorskip("tqdm")
    stream = _Tty()
    with Progress(2, "claims", stream=stream, min_interval=0) as bar:
        with Progress(3, "sweep", stream=stream, max_lines=10, min_interval=0) as inner:
            inner.update()
            assert "sweep 1/3" in stream.getvalue()
        bar.update(1, note="theory.a ... holds")
    text = stream.getvalue()
    assert "theory.a ... holds\n" in text
    assert text.rstrip("\n").endswith("claims: 1/2 done in 0.0 s") or "claims: 1/2 done in" in text


class _Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_the_eta_counts_recorded_times_and_what_is_left_of_the_running_claims():
    clock = _Clock()
    bar = Progress(
        3, "claims", stream=None, tasks=["a", "b", "c"], expected={"a": 10, "b": 20}, clock=clock
    )
    assert bar.eta() == pytest.approx(10 + 20 + 15)  # c: the mean of the recorded times
    bar.start("a")
    clock.t += 4
    assert bar.eta() == pytest.approx(6 + 20 + 15)
    clock.t += 10  # a overran its recorded time: nothing left of it, not a negative number
    assert bar.eta() == pytest.approx(20 + 15)
    bar.finish("a", seconds=14)
    assert bar.eta() == pytest.approx(20 + (10 + 20 + 14) / 3)
    two = Progress(2, "x", stream=None, tasks=["a", "b"], expected={"a": 8, "b": 4}, jobs=2)
    assert two.eta() == pytest.approx(6)
    assert Progress(1, "x", stream=None, tasks=["a"]).eta() is None  # nothing known: no ETA
    assert "ETA" not in Progress(1, "x", stream=None, tasks=["a"]).status()


def test_the_status_names_every_running_claim_with_its_clock():
    clock = _Clock()
    bar = Progress(3, "claims", stream=None, tasks=["t.a", "t.b", "l.c"], clock=clock)
    bar.start("t.a")
    bar.start(["t.b", "l.c"], "learned")
    clock.t += 65
    assert bar.status() == "running: t.a (1:05 min), learned (1:05 min)"
    bar.finish("t.b", seconds=3.0)
    assert "learned" in bar.status()  # one of its claims is still running
    bar.finish("l.c", seconds=3.0)
    assert bar.status() == "ETA 0.0 s; running: t.a (1:05 min)"


def test_a_terminal_bar_redraws_the_running_claim_while_it_runs():
    pytest.importorskip("tqdm")
    clock, stream = _Clock(), _Tty()
    with Progress(
        2, "claims", stream=stream, tasks=["t.a", "t.b"], refresh=0.01, clock=clock
    ) as bar:
        bar.start("t.a")
        clock.t += 7
        for _ in range(500):  # the refresh thread redraws without any update from the claim
            if "running: t.a (7.0 s)" in stream.getvalue():
                break
            threading.Event().wait(0.01)
        assert "running: t.a (7.0 s)" in stream.getvalue()
        bar.finish("t.a", note="t.a ... holds (7.0 s)")
    assert "[1/2] t.a ... holds (7.0 s)\n" in stream.getvalue()


@pytest.mark.parametrize("tqdm_installed", [True, False])
def test_off_a_terminal_or_without_tqdm_each_claim_is_one_plain_line(monkeypatch, tqdm_installed):
    import verify.runtime.progress as module

    monkeypatch.setattr(module, "_have_tqdm", lambda: tqdm_installed)
    stream = io.StringIO() if tqdm_installed else _Tty()  # no tqdm: plain even on a terminal
    with Progress(2, "claims", stream=stream, tasks=["t.a", "t.b"]) as bar:
        bar.start("t.a")
        bar.finish("t.a", note="t.a ... holds (1.0 s)")
        bar.start("t.b")
        bar.finish("t.b", note="t.b ... fails (2.0 s)")
    text = stream.getvalue()
    assert "\r" not in text and "\x1b" not in text
    assert text.splitlines() == ["[1/2] t.a ... holds (1.0 s)", "[2/2] t.b ... fails (2.0 s)"]


def test_with_two_jobs_both_running_groups_are_named(monkeypatch):
    import verify.claims.base as base

    started, running_at_each_end = [], []

    def pool(payloads, jobs, on_result):  # a pool of `jobs` workers that ends tasks in order
        for k, (claims, *_rest) in enumerate(payloads):
            running_at_each_end.append(len(started) - k)
            on_result(k, [{"id": c.id} for c in claims])
        return True

    claims = [
        base.Claim(id=f"{ns}.c{k}", statement="s", source="x", setting="y", run=print)
        for ns in ("theory", "learned", "spde")
        for k in range(2)
    ]
    monkeypatch.setattr(base, "_map_on_pool", pool)
    base._run_parallel(
        claims,
        list(range(6)),
        base.RunContext(stream=None),
        2,
        {"spde.c0": 9.0},
        lambda i, obj: None,
        lambda group: started.append([claims[i].id for i in group]),
    )
    assert started[0] == ["spde.c0", "spde.c1"]  # a namespace per task, longest first
    assert [g[0].split(".")[0] for g in started] == ["spde", "theory", "learned"]
    assert running_at_each_end == [2, 2, 1]  # two running until the queue is empty


def test_short_sweeps_stay_quiet_off_a_tty():
    stream = io.StringIO()
    assert sum(progress(range(50), desc="fast", stream=stream)) == 1225
    assert stream.getvalue() == ""


def test_progress_can_be_silenced():
    assert list(progress(range(3), stream=None)) == [0, 1, 2]
