"""Progress on stderr: a tqdm bar on a terminal, plain lines elsewhere.

* **terminal** (``stream.isatty()`` and tqdm installed, the ``report`` extra): a tqdm bar per
  :class:`Progress`; inner bars (parameter sweeps) stack below the outer one and vanish when
  done. A bar that runs named tasks (claims, samplers: :meth:`Progress.start`) names the
  running one(s) and an ETA, and a refresh thread redraws it every ``refresh`` seconds, so its
  clock advances while a long claim runs.
* **not a terminal** (CI logs, pipes) **or no tqdm**: plain lines, never a carriage return. A
  bar without ``max_lines`` prints one line per update that carries a note
  (``[3/12] theory.xyz ... holds (1.2 s)``); a bar with ``max_lines=k`` (sweeps) prints at most
  about ``k`` lines, indented by its depth, none for a sweep shorter than ``line_interval``.

The ETA is ``(seconds expected of the tasks not started + what remains of the running ones) /
jobs``; a task's expected seconds come from ``expected`` (the CLI passes the times recorded in
the previous run's ``results.json`` in the output directory) and, for a task without one, the
mean of the known times (recorded and finished). With no time known there is no ETA.
``stream=None`` turns a bar off; stdout stays clean for ``--json``.
"""

from __future__ import annotations

import math
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TextIO

__all__ = ["Progress", "progress", "DEFAULT_STREAM", "format_seconds"]

DEFAULT_STREAM: Any = object()
"""Sentinel meaning "``sys.stderr`` at the time the bar is made"."""

_DEPTH: dict[int, int] = {}  # open plain bars per stream (for indentation)


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _have_tqdm() -> bool:
    try:
        import tqdm  # noqa: F401
    except ImportError:
        return False
    return True


def format_seconds(s: float) -> str:
    """``12.3 s``, ``4:05 min`` or ``1:02:03 h``."""
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(s), 60)
    return f"{m}:{s:02d} min" if m < 60 else f"{m // 60}:{m % 60:02d}:{s:02d} h"


class Progress:
    """A progress bar (terminal) or a sparse progress log (otherwise) on ``stream``.

    Parameters
    ----------
    total, desc : number of steps (if known) and label.
    stream : where to write; default ``sys.stderr``; ``None`` disables output.
    max_lines : plain mode only: ``None`` prints one line per ``update(note=...)``; an integer
        prints at most about that many lines, at most one per ``line_interval`` seconds.
    tasks, expected, jobs : the keys of the named tasks, expected seconds per key and the
        number run at once, for the ETA (see the module docstring).
    terminal : force the tqdm bar (``True``) or plain lines (``False``); default: a terminal
        stream and tqdm installed.
    clock : seconds since some origin (``time.monotonic``; a fake one in tests).
    """

    def __init__(
        self,
        total: int | None = None,
        desc: str = "",
        *,
        stream: Any = DEFAULT_STREAM,
        max_lines: int | None = None,
        min_interval: float = 0.1,
        line_interval: float = 1.0,
        tasks: Sequence[str] = (),
        expected: Mapping[str, float] | None = None,
        jobs: int = 1,
        terminal: bool | None = None,
        refresh: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = sys.stderr if stream is DEFAULT_STREAM else stream
        self.enabled = self.stream is not None
        if terminal is None:
            terminal = self.enabled and _isatty(self.stream) and _have_tqdm()
        self.tty = bool(self.enabled and terminal)
        self.total, self.desc, self.n = total, desc, 0
        self.max_lines, self.line_interval = max_lines, line_interval
        self.clock = clock
        self.start_time = self._last_line = clock()
        self._printed_n = 0
        self._closed = False
        self.pending = list(tasks)
        self.expected = {k: float(v) for k, v in (expected or {}).items() if v and v > 0}
        self.jobs = max(1, int(jobs))
        self.running: dict[str, tuple[list[str], float]] = {}  # label -> (keys, started)
        self.taken: dict[str, float] = {}  # finished key -> seconds
        self._bar: Any = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if not self.enabled:
            return
        if self.tty:
            from tqdm import tqdm

            self._bar = tqdm(
                total=total,
                desc=desc,
                file=self.stream,
                leave=False,
                dynamic_ncols=True,
                mininterval=min_interval,
                bar_format="{desc} {n_fmt}/{total_fmt} |{bar:16}| {elapsed}{postfix}",
            )
            if refresh and tasks:
                self._thread = threading.Thread(target=self._tick, args=(refresh,), daemon=True)
                self._thread.start()
        else:
            self.depth = _DEPTH.get(id(self.stream), 0)
            _DEPTH[id(self.stream)] = self.depth + 1

    # -- named tasks and the ETA -------------------------------------------------------
    def start(self, keys: str | Sequence[str], label: str | None = None) -> None:
        """Tasks ``keys`` (one key or several run together, shown as ``label``) began."""
        keys = [keys] if isinstance(keys, str) else list(keys)
        self.pending = [k for k in self.pending if k not in keys]
        self.running[label or ", ".join(keys)] = (keys, self.clock())
        self._redraw()

    def finish(self, key: str, note: str = "", seconds: float | None = None) -> None:
        """Task ``key`` ended (``seconds`` taken, if known); advances the bar by one."""
        for label, (keys, started) in list(self.running.items()):  # a copy (refresh thread)
            if key in keys:
                keys.remove(key)
                if not keys:
                    del self.running[label]
                if seconds is None:
                    seconds = self.clock() - started
        self.pending = [k for k in self.pending if k != key]
        if seconds is not None:
            self.taken[key] = float(seconds)
        self.update(1, note=note)

    def eta(self) -> float | None:
        """Seconds left: expected seconds of the pending and running tasks over ``jobs``."""
        known = [*self.expected.values(), *self.taken.values()]
        if not known:
            return None
        mean = sum(known) / len(known)
        left = sum(self.expected.get(k, mean) for k in self.pending)
        now = self.clock()
        for keys, started in list(self.running.values()):
            left += max(0.0, sum(self.expected.get(k, mean) for k in keys) - (now - started))
        return left / self.jobs

    def status(self) -> str:
        """``ETA 1:05 min; running: theory.x (3.0 s), learned (2 claims, 9.1 s)``."""
        eta = self.eta()
        parts = [] if eta is None else [f"ETA {format_seconds(eta)}"]
        now = self.clock()
        items = list(self.running.items())  # a copy: the refresh thread reads, the caller writes
        running = [f"{label} ({format_seconds(now - t)})" for label, (_, t) in items]
        if running:
            parts.append("running: " + ", ".join(running))
        return "; ".join(parts)

    # -- the bar ----------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        """Seconds since the bar was made."""
        return self.clock() - self.start_time

    def set_description(self, desc: str) -> None:
        """Change the label."""
        self.desc = desc
        if self._bar is not None:
            self._bar.set_description_str(desc)

    def update(self, n: int = 1, note: str = "") -> None:
        """Advance by ``n`` steps; ``note`` is logged as a permanent line if given."""
        self.n += n
        if not self.enabled or self._closed:
            return
        if self.tty:
            if note and self.max_lines is None:
                self.write(f"{self._counter()} {note}")
            self._bar.update(n)
            self._redraw()
        elif self.max_lines is None:
            if note:
                self._line(f"{self._counter()} {note}")
        elif self._due() and self.clock() - self._last_line >= self.line_interval:
            self._line(f"{self._counter()} {note or self.desc} ({format_seconds(self.elapsed)})")

    def write(self, message: str) -> None:
        """Print a permanent line without garbling the bar(s)."""
        if not self.enabled:
            return
        if self.tty:
            from tqdm import tqdm

            tqdm.write(message, file=self.stream)
        else:
            self.stream.write(message + "\n")
            self.stream.flush()

    def echo(self, text: str, file: Any = None) -> None:
        """``print(text, file=file)`` (default stdout) with the terminal bars cleared around it."""
        file = sys.stdout if file is None else file
        if self._bar is None:
            print(text, file=file, flush=True)
            return
        with self._bar.external_write_mode(file=file):
            print(text, file=file, flush=True)

    def close(self) -> None:
        """Finish the bar (a terminal bar is removed; a top-level one leaves a summary)."""
        if self._closed or not self.enabled:
            self._closed = True
            return
        self._closed = True
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.tty:
            self._bar.close()
            if self.max_lines is None:
                total = f"{self.n} " if self.total is None else f"{self.n}/{self.total} "
                self.write(f"{self.desc}: {total}done in {format_seconds(self.elapsed)}")
            return
        _DEPTH[id(self.stream)] = self.depth
        if self.max_lines is not None and self._printed_n != self.n and self.n:
            if self._printed_n or self.elapsed >= self.line_interval:
                self._line(f"{self._counter()} {self.desc} ({format_seconds(self.elapsed)})")

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- private ----------------------------------------------------------------------
    def _tick(self, every: float) -> None:
        while not self._stop.wait(every):
            self._redraw()

    def _redraw(self) -> None:
        if self._bar is not None and not self._closed:
            self._bar.set_postfix_str(self.status(), refresh=True)

    def _counter(self) -> str:
        return f"[{self.n}/{'?' if self.total is None else self.total}]"

    def _due(self) -> bool:
        if self.total:
            step = max(1, math.ceil(self.total / max(1, self.max_lines or 1)))
            return self.n % step == 0 or self.n >= self.total
        return self.n & (self.n - 1) == 0  # powers of two when the total is unknown

    def _line(self, text: str) -> None:
        self._printed_n, self._last_line = self.n, self.clock()
        self.stream.write("  " * self.depth + text + "\n")
        self.stream.flush()


def progress(
    iterable: Iterable,
    desc: str = "",
    total: int | None = None,
    *,
    stream: Any = DEFAULT_STREAM,
    max_lines: int | None = 10,
    line_interval: float = 1.0,
) -> Iterator:
    """Yield from ``iterable`` while showing a (nested-safe) progress bar on stderr."""
    if total is None:
        try:
            total = len(iterable)  # type: ignore[arg-type]
        except TypeError:
            total = None
    with Progress(
        total, desc, stream=stream, max_lines=max_lines, line_interval=line_interval
    ) as bar:
        for item in iterable:
            yield item
            bar.update()
