"""Parameter sweeps: run ``fn(task)`` for a list of tasks, locally or on a cluster.

Three executors share one contract, ``executor.map(fn, tasks, on_done=None) -> list``:
results come back **in task order** and are **identical whichever executor ran them**.

* :class:`LocalExecutor`: in this process, one task after the other (the default);
* :class:`PoolExecutor`: ``concurrent.futures.ProcessPoolExecutor`` with the ``spawn``
  start method (``--jobs N``);
* :class:`DaskExecutor`: a ``dask.distributed`` cluster (``--scheduler ADDR``); dask is
  imported only here, and the workers need ``diffusion-verify`` installed.

Reproducibility rule: **a task carries its own seed.** Never draw from a generator shared
between tasks, and never seed from the worker, the process id or the order of completion.
Build each task with ``task_seed(base_seed, *keys)`` (keys: the task's parameters, e.g.
``("gamma", 0.5, n_steps)``) and make the generator inside ``fn`` with
``numpy.random.default_rng(task["seed"])``. Keys are turned into integers with
``zlib.crc32`` (not ``hash()``, which changes between processes), so seeds are stable
across runs, processes and machines.

``fn`` must be a picklable top-level function (defined at module level, not a lambda or
a closure) and tasks must be picklable values (numbers, strings, tuples, dicts, arrays).
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import zlib
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import numpy as np

__all__ = [
    "Executor",
    "LocalExecutor",
    "PoolExecutor",
    "DaskExecutor",
    "ExecutorError",
    "SchedulerUnreachable",
    "make_executor",
    "task_seed",
    "stable_int",
    "CONNECT_TIMEOUT",
]

CONNECT_TIMEOUT = 10.0
PROBE_TIMEOUT = 3.0
"""Seconds a TCP probe of the scheduler address may take before giving up."""
"""Seconds to wait for a Dask scheduler before giving up."""


class ExecutorError(RuntimeError):
    """An executor cannot be set up (a user error: the CLI prints one line, exits 2)."""


class SchedulerUnreachable(ExecutorError):
    """The Dask scheduler at the given address does not answer."""


def stable_int(key: Any) -> int:
    """A non-negative integer for ``key``, identical in every process and run.

    Non-negative integers map to themselves; strings (and everything else, through
    ``repr``) to their ``zlib.crc32`` checksum.
    """
    if isinstance(key, np.generic):
        key = key.item()
    if isinstance(key, bool):
        return int(key)
    if isinstance(key, int) and key >= 0:
        return key
    text = key if isinstance(key, str) else repr(key)
    return zlib.crc32(text.encode("utf-8"))


def task_seed(base_seed: int, *keys: Any) -> int:
    """A 64-bit seed for one task, derived from the base seed and the task's keys.

    ``numpy.random.default_rng(task_seed(0, "gamma", 0.5))`` is the same generator in
    every process; different keys give independent streams (``SeedSequence`` mixing).
    """
    if not isinstance(base_seed, int | np.integer) or base_seed < 0:
        raise ValueError(f"base_seed must be a non-negative integer, got {base_seed!r}")
    seq = np.random.SeedSequence([int(base_seed), *(stable_int(k) for k in keys)])
    return int(seq.generate_state(1, dtype=np.uint64)[0])


def check_picklable(fn: Callable) -> None:
    try:
        pickle.dumps(fn)
    except Exception as exc:  # PicklingError, AttributeError, TypeError
        name = getattr(fn, "__qualname__", repr(fn))
        raise TypeError(
            f"sweep function {name!r} cannot be pickled ({exc}); define it as a "
            "top-level function of an importable module (no lambda, no closure)"
        ) from exc


class Executor:
    """Runs ``fn(task)`` for each task; subclasses decide where. Use as a context manager."""

    name = "executor"

    def map(
        self,
        fn: Callable[[Any], Any],
        tasks: Iterable,
        on_done: Callable[[int], None] | None = None,
        on_result: Callable[[int, Any], None] | None = None,
    ) -> list:
        """Return ``[fn(t) for t in tasks]`` (task order); call ``on_done(i)`` (and
        ``on_result(i, result)``) as tasks finish."""
        raise NotImplementedError

    def describe(self) -> str:
        """A short description for report metadata, e.g. ``"process pool (4 workers)"``."""
        return self.name

    def close(self) -> None:
        """Release workers or connections (idempotent)."""

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class LocalExecutor(Executor):
    """Run tasks one after the other in this process."""

    name = "local"

    def map(self, fn, tasks, on_done=None, on_result=None):
        """Return ``[fn(t) for t in tasks]``."""
        results = []
        for i, task in enumerate(tasks):
            results.append(fn(task))
            if on_result is not None:
                on_result(i, results[-1])
            if on_done is not None:
                on_done(i)
        return results


class PoolExecutor(Executor):
    """Run tasks in ``jobs`` worker processes (spawn start method; pool reused across maps)."""

    name = "pool"

    def __init__(self, jobs: int) -> None:
        if not isinstance(jobs, int) or jobs < 1:
            raise ValueError(f"jobs must be a positive integer, got {jobs!r}")
        self.jobs = jobs
        self._pool: ProcessPoolExecutor | None = None

    def describe(self) -> str:
        """``"process pool (N workers)"``."""
        return f"process pool ({self.jobs} workers)"

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            ctx = multiprocessing.get_context("spawn")
            self._pool = ProcessPoolExecutor(max_workers=self.jobs, mp_context=ctx)
        return self._pool

    def map(self, fn, tasks, on_done=None, on_result=None):
        """Submit every task to the pool; gather results in task order."""
        tasks = list(tasks)
        if not tasks:
            return []
        check_picklable(fn)
        pool = self._ensure_pool()
        futures = {pool.submit(fn, task): i for i, task in enumerate(tasks)}
        results: list = [None] * len(tasks)
        try:
            for fut in as_completed(futures):
                i = futures[fut]
                results[i] = fut.result()
                if on_result is not None:
                    on_result(i, results[i])
                if on_done is not None:
                    on_done(i)
        except BrokenProcessPool:
            self._pool = None
            raise
        except BaseException:
            for fut in futures:
                fut.cancel()
            raise
        return results

    def close(self) -> None:
        """Shut the worker processes down."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor(Executor):
    """Run tasks on a ``dask.distributed`` cluster given by its scheduler address.

    Raises :class:`SchedulerUnreachable` if the scheduler does not answer within
    ``timeout`` seconds (default :data:`CONNECT_TIMEOUT`), and :class:`ExecutorError`
    if dask.distributed is not installed.
    """

    name = "dask"

    def __init__(self, address: str, timeout: float | None = None) -> None:
        try:
            from distributed import Client
        except ImportError as exc:
            raise ExecutorError(
                '--scheduler needs dask.distributed (pip install -e ".[dask]"); '
                "run without --scheduler to run locally"
            ) from exc
        self.address = address
        timeout = CONNECT_TIMEOUT if timeout is None else timeout
        _probe_address(address, min(timeout, PROBE_TIMEOUT))
        try:
            self.client = _quiet_client(Client)(
                address, timeout=f"{timeout}s", set_as_default=False
            )
        except Exception as exc:  # anything but a scheduler answering: refused, timeout, garbage
            detail = str(exc).strip().splitlines()[0][:80] if str(exc).strip() else ""
            raise SchedulerUnreachable(
                f"no Dask scheduler answered at {address!r} within {timeout:g} s "
                f"({type(exc).__name__}{': ' + detail if detail else ''}); run without "
                "--scheduler to run locally"
            ) from exc

    def describe(self) -> str:
        """``"dask (ADDRESS, N workers)"``."""
        try:
            n = len(self.client.scheduler_info(n_workers=-1).get("workers", {}))
        except Exception:  # pragma: no cover - informational only
            n = "?"
        return f"dask ({self.address}, {n} workers)"

    def map(self, fn, tasks, on_done=None, on_result=None):
        """Submit every task to the cluster; gather results in task order."""
        from distributed import as_completed as dask_as_completed

        tasks = list(tasks)
        if not tasks:
            return []
        futures = self.client.map(fn, tasks, pure=False)
        index = {fut.key: i for i, fut in enumerate(futures)}
        try:
            for fut in dask_as_completed(futures, loop=self.client.loop):
                if fut.status == "error":
                    fut.result()  # re-raises the task's exception here
                if on_result is not None:
                    on_result(index[fut.key], fut.result())
                if on_done is not None:
                    on_done(index[fut.key])
            return self.client.gather(futures)
        except BaseException:
            self.client.cancel(futures)
            raise

    def close(self) -> None:
        """Close the client connection (the cluster keeps running)."""
        client = getattr(self, "client", None)
        if client is not None:
            client.close()
            self.client = None


def _quiet_client(Client):
    """A ``Client`` that, when its constructor fails, closes itself at once.

    Otherwise the half-built client's ``__del__`` waits ``2 timeout`` seconds at exit and
    prints an "Exception ignored" traceback.
    """

    class QuietClient(Client):
        def __init__(self, *args, **kwargs):
            try:
                super().__init__(*args, **kwargs)
            except BaseException:
                self.status = "closed"  # close() (and __del__) return at once
                raise

    return QuietClient


def _probe_address(address: str, timeout: float) -> None:
    """Fail fast if nothing listens at a ``tcp://host:port`` scheduler address.

    A refused or unroutable address raises :class:`SchedulerUnreachable` within ``timeout``
    seconds, before dask.distributed starts its own (slower, noisier) retry loop. Other
    address forms (``inproc://``, ``tls://``, ...) are left to dask.
    """
    import socket
    from urllib.parse import urlsplit

    text = address if "://" in address else f"tcp://{address}"
    parts = urlsplit(text)
    if parts.scheme != "tcp":
        return
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise SchedulerUnreachable(
            f"scheduler address {address!r} is not of the form tcp://HOST:PORT"
        )
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise SchedulerUnreachable(
            f"cannot reach Dask scheduler at {address!r}: {exc.strerror or type(exc).__name__} "
            f"(checked for {timeout:g} s); run without --scheduler to run locally"
        ) from None


def make_executor(jobs: int | None = None, scheduler: str | None = None) -> Executor:
    """The executor for ``--jobs``/``--scheduler``: local, a process pool or Dask.

    ``jobs=None`` or ``1``: local; ``jobs=0``: one worker per CPU; ``scheduler``: Dask
    (cannot be combined with ``jobs``).
    """
    if scheduler:
        if jobs not in (None, 1):
            raise ValueError("give either --jobs or --scheduler, not both")
        return DaskExecutor(scheduler)
    if jobs is None or jobs == 1:
        return LocalExecutor()
    if not isinstance(jobs, int) or jobs < 0:
        raise ValueError(f"--jobs must be a non-negative integer, got {jobs!r}")
    if jobs == 0:
        jobs = os.cpu_count() or 1
    return PoolExecutor(jobs) if jobs > 1 else LocalExecutor()
