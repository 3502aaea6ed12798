r"""The on-disk cache of fitted Gaussian data models.

A fitted model is one verified entry (:mod:`verify.torch.entries`, which imports no torch):
the manifest ``model-<key>.json`` (configuration, metadata, checksums) and the arrays in
``model-<key>.npz`` (``mean``, ``eigenvalues`` and, for a dense eigenbasis, ``basis``),
written atomically, payload first and manifest last. The key is a SHA-256 of the
configuration (model name, patch size, stride, the data set's checksum, the scikit-learn
version, the format version). An entry that does not verify (edited, truncated, another
configuration) is ignored with one warning naming the file, and rebuilt. The directory is
``$DIFFUSION_VERIFY_CACHE`` or ``~/.cache/diffusion-verify`` (the torch backend's).
"""

from __future__ import annotations

import io
import zipfile

import numpy as np

from verify.torch.cache import cache_dir
from verify.torch.entries import (
    CacheEntryError,
    config_sha256,
    read_entry,
    read_payload,
    warn_ignored,
    write_entry,
)

__all__ = ["KIND", "model_stem", "read_model", "write_model"]

KIND = "gaussian-model"
ARRAYS = ("mean", "eigenvalues", "basis")


def model_stem(config: dict):
    """``<cache>/models/model-<first 16 hex of SHA-256(config)>``."""
    return cache_dir() / "models" / f"model-{config_sha256(config)[:16]}"


def write_model(config: dict, arrays: dict, metadata: dict):
    """Write the arrays (``mean``, ``eigenvalues``, optional ``basis``) and the metadata."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v, dtype=np.float64) for k, v in arrays.items()})
    return write_entry(
        model_stem(config), KIND, config, {"metadata": metadata}, {".npz": buf.getvalue()}
    )


def read_model(config: dict):
    """``(arrays, metadata)`` of the verified entry for ``config``, or ``None`` (missing, or
    ignored with a warning because it does not verify)."""
    stem = model_stem(config)
    try:
        manifest = read_entry(stem, KIND, config)
        if manifest is None:
            return None
        data = read_payload(stem, ".npz", manifest)
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as z:
                arrays = {k: np.array(z[k], dtype=np.float64) for k in z.files}
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise CacheEntryError(stem.with_suffix(".npz"), f"not an npz archive ({exc})") from None
        if not {"mean", "eigenvalues"} <= set(arrays) or not set(arrays) <= set(ARRAYS):
            raise CacheEntryError(stem.with_suffix(".npz"), f"wrong arrays {sorted(arrays)}")
        if not all(np.all(np.isfinite(a)) for a in arrays.values()):
            raise CacheEntryError(stem.with_suffix(".npz"), "non-finite numbers")
        metadata = manifest.get("metadata")
        if not isinstance(metadata, dict):
            raise CacheEntryError(stem.with_suffix(".json"), "no metadata object")
        return arrays, metadata
    except CacheEntryError as exc:
        warn_ignored(exc)
        return None
