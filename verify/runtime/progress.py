"""Progress reporting on stderr, without a tqdm dependency.

Two modes, chosen by ``stream.isatty()``:

* **terminal**: one line, redrawn in place with ``\\r``: ``desc [n/total] ####---- 12.3 s``.
  Bars nest: while an inner bar (a parameter sweep) is open, the line shows the whole
  stack, ``claims [3/12] ... | sweep [5/40] ...``, and the outer bar comes back when the
  inner one closes. Permanent lines (one per finished claim) are printed above the bar.
* **not a terminal** (CI logs, pipes): plain lines. A bar without ``max_lines`` prints one
  line per update that carries a note (``[3/12] theory.xyz ... holds (1.2 s)``); a bar with
  ``max_lines=k`` (sweeps) prints at most about ``k`` lines, indented by its depth.

``stream=None`` turns a bar off. Progress always goes to stderr by default so that stdout
stays clean for ``--json``.
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

__all__ = ["Progress", "progress", "DEFAULT_STREAM"]

DEFAULT_STREAM: Any = object()
"""Sentinel meaning "``sys.stderr`` at the time the bar is made"."""

_ACTIVE: list[Progress] = []
_CLEAR = "\r\x1b[2K"


def _isatty(stream: TextIO) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def _fmt_seconds(s: float) -> str:
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(s), 60)
    return f"{m}:{s:02d} min" if m < 60 else f"{m // 60}:{m % 60:02d}:{s:02d} h"


class Progress:
    """A progress bar (terminal) or sparse progress log (non-terminal) on ``stream``.

    Parameters
    ----------
    total : int or None
        Number of steps, if known.
    desc : str
        Label shown in the bar and in plain lines.
    stream : text stream or None
        Where to write; default ``sys.stderr``; ``None`` disables output.
    max_lines : int or None
        Non-terminal mode only: ``None`` prints one line per ``update(note=...)``;
        an integer prints at most about that many lines over the whole run, at most one
        per ``line_interval`` seconds (a sweep shorter than that prints nothing).
    min_interval : float
        Terminal mode: seconds between redraws.
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
    ) -> None:
        self.stream = sys.stderr if stream is DEFAULT_STREAM else stream
        self.enabled = self.stream is not None
        self.tty = self.enabled and _isatty(self.stream)
        self.total = total
        self.desc = desc
        self.n = 0
        self.max_lines = max_lines
        self.min_interval = min_interval
        self.line_interval = line_interval
        self.start = time.monotonic()
        self._last_line = self.start
        self._last_draw = 0.0
        self._last_printed_n = 0
        self._closed = False
        self.depth = sum(1 for b in _ACTIVE if b.stream is self.stream)
        if self.enabled:
            _ACTIVE.append(self)
            if self.tty:
                self._draw(force=True)

    # -- public -----------------------------------------------------------------------
    @property
    def elapsed(self) -> float:
        """Seconds since the bar was made."""
        return time.monotonic() - self.start

    def set_description(self, desc: str) -> None:
        """Change the label (redraws on a terminal)."""
        self.desc = desc
        if self.tty:
            self._draw(force=True)

    def update(self, n: int = 1, note: str = "") -> None:
        """Advance by ``n`` steps; ``note`` is logged as a permanent line if given."""
        self.n += n
        if not self.enabled or self._closed:
            return
        if self.tty:
            if note and self.max_lines is None:
                self.write(f"{self._counter()} {note}")
            else:
                self._draw(force=self.total is not None and self.n >= self.total)
            return
        if self.max_lines is None:
            if note:
                self._print_line(f"{self._counter()} {note}")
        elif self._due() and time.monotonic() - self._last_line >= self.line_interval:
            self._print_line(
                f"{self._counter()} {note or self.desc} ({_fmt_seconds(self.elapsed)})"
            )

    def write(self, message: str) -> None:
        """Print a permanent line without garbling the bar(s)."""
        if not self.enabled:
            return
        if self.tty:
            self.stream.write(_CLEAR + message + "\n")
            self._draw(force=True)
        else:
            self.stream.write(message + "\n")
            self.stream.flush()

    def close(self) -> None:
        """Finish the bar: an inner terminal bar hands the line back to the outer one."""
        if self._closed or not self.enabled:
            self._closed = True
            return
        self._closed = True
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        if self.tty:
            others = [b for b in _ACTIVE if b.stream is self.stream and b.tty]
            if others:
                others[-1]._draw(force=True)
            else:
                self.stream.write(_CLEAR)
                if self.max_lines is None:
                    total = f"{self.n} " if self.total is None else f"{self.n}/{self.total} "
                    self.stream.write(f"{self.desc}: {total}done in {_fmt_seconds(self.elapsed)}\n")
                self.stream.flush()
        elif (
            self.max_lines is not None
            and self._last_printed_n != self.n
            and self.n
            and (self._last_printed_n or self.elapsed >= self.line_interval)
        ):
            self._print_line(f"{self._counter()} {self.desc} ({_fmt_seconds(self.elapsed)})")

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- private ----------------------------------------------------------------------
    def _counter(self) -> str:
        total = "?" if self.total is None else str(self.total)
        return f"[{self.n}/{total}]"

    def _due(self) -> bool:
        if self.total:
            step = max(1, math.ceil(self.total / max(1, self.max_lines or 1)))
            return self.n % step == 0 or self.n >= self.total
        return self.n & (self.n - 1) == 0  # powers of two when the total is unknown

    def _print_line(self, text: str) -> None:
        self._last_printed_n = self.n
        self._last_line = time.monotonic()
        self.stream.write("  " * self.depth + text + "\n")
        self.stream.flush()

    def _segment(self) -> str:
        head = f"{self.desc} {self._counter()}".strip()
        if self.total:
            width = 16
            filled = min(width, int(width * self.n / self.total))
            head += " " + "#" * filled + "-" * (width - filled)
        return f"{head} {_fmt_seconds(self.elapsed)}"

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        bars = [b for b in _ACTIVE if b.stream is self.stream and b.tty]
        line = " | ".join(b._segment() for b in bars)
        width = shutil.get_terminal_size((100, 20)).columns - 1
        if len(line) > width:
            line = line[: max(0, width - 3)] + "..."
        self.stream.write(_CLEAR + line)
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
