"""Where reports go: checked before any claim runs, written aside, swapped in whole.

``diffusion-verify report --out X`` must never lose a run to an unwritable ``X`` found at the
end, never leave a mix of two runs, and never let two runs write ``X`` at once:

* :func:`check_output_dir` runs first: ``X`` must be a directory or creatable, its parent
  writable (the new report is written beside ``X`` and renamed into place); a problem is a
  :class:`~verify.app.usage.UserError` (exit code 2, one line).
* :class:`ReportTarget` takes an exclusive ``flock`` on ``parent/.X.lock`` (released by the
  kernel even on SIGKILL; a second report to the same ``X`` refuses at once), writes
  everything into a fresh staging directory ``parent/.X.staging-*``, and on success swaps it
  with ``X`` in one atomic ``renameat2(RENAME_EXCHANGE)`` (Linux; elsewhere two renames,
  and a run that finds ``X`` missing next to a ``.X.previous-*`` restores it first). A run
  killed at any moment therefore leaves ``X`` as the previous complete report or the new
  complete one; staging directories of killed runs are removed by the next run.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import shutil
import tempfile
from pathlib import Path

from verify.app.usage import UserError

__all__ = ["check_output_dir", "is_report_dir", "ReportTarget", "exchange_dirs", "REPORT_FILES"]

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


REPORT_FILES = frozenset({"index.html", "report.md", "results.json", "figures", "docs"})
"""What a report directory holds; a directory with anything else is never replaced."""


def is_report_dir(path: Path) -> bool:
    """True if ``path`` is empty or holds only a previous diffusion-verify report."""
    names = {p.name for p in path.iterdir()}
    if not names:
        return True
    if not names <= REPORT_FILES or "results.json" not in names:
        return False
    try:
        meta = json.loads((path / "results.json").read_text(encoding="utf-8")).get("meta", {})
    except (OSError, ValueError, AttributeError):
        return False
    return isinstance(meta, dict) and meta.get("toolkit") == "diffusion-verify"


def check_output_dir(out, *, report: bool = False) -> Path:
    """``out`` as an absolute path, or :class:`UserError` if output cannot be written there.

    ``report=True``: ``out`` will be replaced as a whole, so it must also be new, empty or a
    previous report (never a directory holding other files).
    """
    if out is None or not str(out).strip():
        raise UserError("--out: empty path (give a directory, e.g. --out reports/latest)")
    # A symlink is resolved once, here: the lock, the staging directory and the swap then act
    # on the real directory (replacing the link itself would leave its target stale and let
    # a run through the link and one through the real path hold different locks).
    out = Path(os.path.realpath(Path(out).expanduser()))
    name_max = _name_max(out)
    for part in out.parts:
        # ``.NAME.staging-XXXXXXXX`` sits beside ``out``: its name must fit too.
        if len(os.fsencode(part)) + len(".staging-") + 10 > name_max:
            raise UserError(
                f"--out: the name {part[:40]!r}... is {len(part)} characters long; the file "
                f"system allows {name_max} (with room for the report's staging name)"
            )
    if out.exists() and not out.is_dir():
        raise UserError(f"--out {out}: exists and is not a directory")
    if out.exists() and not os.access(out, os.R_OK | os.W_OK | os.X_OK):
        raise UserError(f"--out {out}: directory is not writable")
    if report and out.exists() and not is_report_dir(out):
        raise UserError(
            f"--out {out}: not empty and not a diffusion-verify report (it would be replaced); "
            "choose a new or empty directory"
        )
    parent = out.parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UserError(f"--out {out}: {probe} is not a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise UserError(f"--out {out}: cannot create files in {probe} (permission denied)")
    return out


def _name_max(path: Path) -> int:
    """The longest file name the file system holding ``path`` allows (255 if unknown)."""
    probe = path.parent
    while probe != probe.parent:
        try:
            if probe.exists():
                break
        except OSError:  # the name itself may be too long to ask about
            pass
        probe = probe.parent
    try:
        return int(os.pathconf(probe, "PC_NAME_MAX"))
    except (OSError, ValueError, AttributeError):
        return 255


def exchange_dirs(a: Path, b: Path) -> bool:
    """Atomically exchange two directories (Linux ``renameat2``); False if unsupported."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    rc = fn(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP if hasattr(errno, "ENOTSUP") else -1):
        return False
    raise OSError(err, os.strerror(err), str(a), None, str(b))


class ReportTarget:
    """An exclusive, atomic writer of one report directory (module docstring).

    Use as a context manager: ``with ReportTarget(out) as target:`` write into
    ``target.staging``, then ``target.commit()``; leaving the block without ``commit``
    (an exception, Ctrl-C) removes the staging directory and keeps the previous report.
    """

    def __init__(self, out) -> None:
        self.out = check_output_dir(out, report=True)
        self.parent = self.out.parent
        self.staging: Path | None = None
        self._lock_fd: int | None = None
        self.committed = False

    # ------------------------------------------------------------------ lock
    def _lock(self) -> None:
        import fcntl

        self.parent.mkdir(parents=True, exist_ok=True)
        path = self.parent / f".{self.out.name}.lock"
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "?"
            os.close(fd)
            raise UserError(
                f"--out {self.out}: another report is being written there (pid {holder}); "
                "wait for it or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        self._lock_fd = fd

    def _unlock(self) -> None:
        if self._lock_fd is not None:
            os.close(self._lock_fd)  # releases the flock
            self._lock_fd = None

    # --------------------------------------------------------------- housekeeping
    def _recover(self) -> None:
        """Remove staging dirs of killed runs; restore ``out`` from an interrupted swap."""
        name = self.out.name
        previous = sorted(self.parent.glob(f".{name}.previous-*"))
        if not self.out.exists() and previous:
            os.rename(previous[-1], self.out)
            previous = previous[:-1]
        for stale in [*self.parent.glob(f".{name}.staging-*"), *previous]:
            shutil.rmtree(stale, ignore_errors=True)

    def __enter__(self) -> ReportTarget:
        self._lock()
        try:
            self._recover()
            self.staging = Path(
                tempfile.mkdtemp(prefix=f".{self.out.name}.staging-", dir=self.parent)
            )
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(self.staging, 0o777 & ~umask)  # mkdtemp makes 0700; a report is for sharing
        except BaseException:
            self._unlock()
            raise
        return self

    def commit(self) -> Path:
        """Swap the staging directory in as ``out``; returns ``out``."""
        if self.staging is None:
            raise RuntimeError("commit() outside the with-block")
        if not self.out.exists():
            os.rename(self.staging, self.out)
        elif exchange_dirs(self.staging, self.out):
            shutil.rmtree(self.staging, ignore_errors=True)  # now holds the previous report
        else:
            previous = Path(tempfile.mkdtemp(prefix=f".{self.out.name}.previous-", dir=self.parent))
            os.rmdir(previous)
            os.rename(self.out, previous)
            os.rename(self.staging, self.out)
            shutil.rmtree(previous, ignore_errors=True)
        self.staging = None
        self.committed = True
        return self.out

    def __exit__(self, *exc) -> None:
        try:
            if self.staging is not None:
                shutil.rmtree(self.staging, ignore_errors=True)
                self.staging = None
        finally:
            self._unlock()
