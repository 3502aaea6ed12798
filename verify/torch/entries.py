r"""Verified cache entries: a checksum of the content and of the configuration, atomic writes.

An entry is a manifest ``<stem>.json`` and the payload files beside it (``<stem>.npz``, ...).
The manifest is one JSON object

    {"format": 2, "kind": ..., "config": C, "config_sha256": H(C),
     "files": {suffix: H(file bytes)}, <fields>..., "sha256": H(manifest without "sha256")}

with ``H`` the SHA-256 of the bytes or of the canonical JSON (sorted keys, no whitespace,
no NaN). :func:`read_entry` returns the manifest only if its own checksum matches, its kind
and format are the expected ones and ``config_sha256`` is the checksum of the configuration
the caller asks for; :func:`read_payload` returns a payload's bytes only if their checksum is
the manifest's. Anything else raises :class:`CacheEntryError`, naming the file; callers then
ignore the entry (:func:`warn_ignored`: one warning per file and state of the file) and rebuild
it. A payload is hashed from the bytes it is then parsed from, so a file replaced between the
check and the parse cannot slip through.

:func:`write_entry` writes every payload first and the manifest last, each to a unique
temporary name in the same directory and then ``os.replace``-d into place, so a reader (another
run sharing the cache) sees either the old entry, no entry, or the whole new one, never a
half-written file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import tempfile
import warnings
from pathlib import Path

__all__ = [
    "FORMAT",
    "CacheEntryError",
    "sha256_hex",
    "canonical_json",
    "config_sha256",
    "atomic_write",
    "write_entry",
    "read_entry",
    "read_payload",
    "finite_number",
    "warn_ignored",
]

FORMAT = 2
"""Version of the entry layout (it also enters the cache keys, so older entries are not read)."""
MAX_MANIFEST_BYTES = 8 * 2**20
MAX_PAYLOAD_BYTES = 1 << 30
_RESERVED = ("format", "kind", "config", "config_sha256", "files", "sha256")


class CacheEntryError(ValueError):
    """A cache entry that does not verify; ``path`` is the offending file."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = Path(path), reason


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def canonical_json(obj) -> bytes:
    """Sorted keys, no whitespace, NaN and inf rejected (``ValueError``)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), allow_nan=False).encode()


def config_sha256(config) -> str:
    """Checksum of the configuration that made an entry."""
    return sha256_hex(canonical_json(config))


def _write_bytes(f, data: bytes) -> None:
    f.write(data)


def atomic_write(path, data: bytes) -> Path:
    """Write ``data`` to a unique temporary file beside ``path``, then ``os.replace`` it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            _write_bytes(f, data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return path


def write_entry(stem, kind: str, config, fields: dict, payloads: dict | None = None) -> Path:
    """Write the payloads (``{suffix: bytes}``), then the manifest; returns the manifest path.

    ``config`` is what made the entry (its checksum is checked on reading); ``fields`` the
    entry's own JSON content (finite numbers only: a NaN raises ``ValueError``)."""
    stem = Path(stem)
    clash = sorted(set(fields) & set(_RESERVED))
    if clash:
        raise ValueError(f"reserved manifest fields {clash}")
    files = {}
    for suffix, data in (payloads or {}).items():
        atomic_write(stem.with_suffix(suffix), data)
        files[suffix] = sha256_hex(data)
    manifest = {
        **fields,
        "format": FORMAT,
        "kind": kind,
        "config": config,
        "config_sha256": config_sha256(config),
        "files": files,
    }
    manifest["sha256"] = sha256_hex(canonical_json(manifest))
    text = json.dumps(manifest, indent=1, sort_keys=True, allow_nan=False)
    return atomic_write(stem.with_suffix(".json"), text.encode())


def _read_bytes(path: Path, limit: int) -> bytes:
    with open(path, "rb") as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise CacheEntryError(path, f"larger than {limit} bytes")
    return data


def _no_constants(name):
    raise ValueError(f"non-number {name}")


def read_entry(stem, kind: str, config=None) -> dict | None:
    """The verified manifest of ``<stem>.json``, ``None`` if there is none.

    ``config``: the configuration the caller wants (``None``: any). Raises
    :class:`CacheEntryError` for a manifest that does not verify."""
    path = Path(stem).with_suffix(".json")
    try:
        raw = _read_bytes(path, MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CacheEntryError(path, f"unreadable ({exc})") from None
    try:
        manifest = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (ValueError, RecursionError) as exc:
        raise CacheEntryError(path, f"not a JSON manifest ({exc})") from None
    if not isinstance(manifest, dict):
        raise CacheEntryError(path, f"not a JSON object but {type(manifest).__name__}")
    if manifest.get("format") != FORMAT or manifest.get("kind") != kind:
        raise CacheEntryError(
            path,
            f"not a format-{FORMAT} {kind!r} entry (format {manifest.get('format')!r}, "
            f"kind {manifest.get('kind')!r})",
        )
    claimed = manifest.pop("sha256", None)
    try:
        actual = sha256_hex(canonical_json(manifest))
    except (TypeError, ValueError) as exc:  # pragma: no cover - parse_constant rejects NaN
        raise CacheEntryError(path, f"not canonical JSON ({exc})") from None
    if claimed != actual:
        raise CacheEntryError(path, "its content does not match its checksum (edited?)")
    if not isinstance(manifest.get("files"), dict) or not all(
        isinstance(v, str) for v in manifest["files"].values()
    ):
        raise CacheEntryError(path, "'files' is not a map of checksums")
    if manifest.get("config_sha256") != config_sha256(manifest.get("config")):
        raise CacheEntryError(path, "its configuration does not match its checksum")
    if config is not None and manifest["config_sha256"] != config_sha256(config):
        raise CacheEntryError(path, "made by another configuration than the one asked for")
    return manifest


def read_payload(stem, suffix: str, manifest: dict) -> bytes:
    """The bytes of ``<stem><suffix>`` if their checksum is the manifest's."""
    path = Path(stem).with_suffix(suffix)
    want = manifest["files"].get(suffix)
    if want is None:
        raise CacheEntryError(path, f"the manifest lists no {suffix} file")
    try:
        data = _read_bytes(path, MAX_PAYLOAD_BYTES)
    except FileNotFoundError:
        raise CacheEntryError(path, "missing (the manifest lists it)") from None
    except OSError as exc:
        raise CacheEntryError(path, f"unreadable ({exc})") from None
    if sha256_hex(data) != want:
        raise CacheEntryError(path, "content does not match its checksum (truncated or edited?)")
    return data


def finite_number(value, path, name: str) -> float:
    """``float(value)`` for a finite JSON number (not a bool), else :class:`CacheEntryError`."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise CacheEntryError(path, f"{name} is not a finite number: {value!r}")
    return float(value)


_WARNED: set = set()


def warn_ignored(exc: CacheEntryError, what: str = "cache entry", stacklevel: int = 3) -> None:
    """One ``UserWarning`` naming the file, once per file and state (size, mtime) of it."""
    try:
        st = os.stat(exc.path)
        state = (st.st_size, st.st_mtime_ns)
    except OSError:
        state = None
    key = (str(exc.path), state, exc.reason)
    if key in _WARNED:
        return
    _WARNED.add(key)
    warnings.warn(
        f"ignoring unreadable {what} {exc.path}: {exc.reason}; rebuilding it",
        stacklevel=stacklevel,
    )
