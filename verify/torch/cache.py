r"""Configurations, cache keys and cache lookups of the torch backend, without importing torch.

A trained score network is cached as ``score-<key>.npz`` (the weights as NumPy arrays),
``score-<key>.pt`` (the torch ``state_dict``) and the manifest ``score-<key>.json``
(constructor arguments, configuration, target, final loss, and the checksums of the
configuration, of the manifest and of both weight files); a learned start law as the
manifest ``start-<key>.json`` (its numbers and their checksums). Entries are verified on
reading and written atomically (:mod:`verify.torch.entries`): one that does not verify
(truncated, edited, a plain ``.npy``, wrong names, shapes or types, a non-number, another
configuration) is ignored with one warning naming the file, and rebuilt.
The key is a SHA-256 of (configuration, target, SDE fingerprint, torch
version); the torch version is read from the installed package's metadata when torch is not
imported yet, so :func:`cached_score` and :func:`cached_start_law` find a cached model without
importing torch (the claims then evaluate it with :class:`verify.torch.numpy_net.NumpyScore`).
The cache directory is ``$DIFFUSION_VERIFY_CACHE`` or ``~/.cache/diffusion-verify``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from verify.torch.entries import (
    FORMAT,
    CacheEntryError,
    atomic_write,
    finite_number,
    read_entry,
    read_payload,
    warn_ignored,
    write_entry,
)

__all__ = [
    "PRECONDS",
    "TrainConfig",
    "StartLawConfig",
    "cache_dir",
    "describe_target",
    "describe_sde",
    "torch_version",
    "score_key",
    "score_stem",
    "start_key",
    "start_key_meta",
    "start_stem",
    "weight_shapes",
    "parse_weights",
    "read_score_entry",
    "write_score_entry",
    "write_start_law_entry",
    "cached_score",
    "cached_start_law",
    "write_numpy_weights",
]

PRECONDS = ("eps", "edm")


def torch_version() -> str:
    """``torch.__version__`` if torch is imported, else the installed distribution's version."""
    if "torch" in sys.modules:
        return str(sys.modules["torch"].__version__)
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("torch")
    except PackageNotFoundError:
        return "none"


_WEIGHTINGS = ("default", "likelihood")
_T_SAMPLING = ("uniform", "log-sigma")


@dataclass(frozen=True)
class TrainConfig:
    """Network and training hyper-parameters (all of them enter the cache key).

    ``n_train``: size of the fixed training set drawn once from the target (a finite set,
    as in practice); ``t_min``: smallest training time; ``threads``: torch CPU threads.
    """

    hidden: int = 64
    depth: int = 3
    n_freq: int = 6
    precond: str = "eps"
    sigma_data: float = 1.0
    n_iters: int = 2000
    batch: int = 256
    lr: float = 2e-3
    n_train: int = 5000
    t_min: float = 1e-3
    t_sampling: str = "uniform"
    weighting: str = "default"
    seed: int = 0
    threads: int = 1

    def __post_init__(self) -> None:
        if self.precond not in PRECONDS:
            raise ValueError(f"precond must be one of {PRECONDS}, got {self.precond!r}")
        if self.weighting not in _WEIGHTINGS:
            raise ValueError(f"weighting must be one of {_WEIGHTINGS}, got {self.weighting!r}")
        if self.t_sampling not in _T_SAMPLING:
            raise ValueError(f"t_sampling must be one of {_T_SAMPLING}, got {self.t_sampling!r}")
        for name in ("n_iters", "batch", "n_train", "hidden", "depth", "threads"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, got {getattr(self, name)!r}")
        if not (self.lr > 0 and self.t_min > 0):
            raise ValueError(f"lr and t_min must be positive, got {self.lr!r}, {self.t_min!r}")

    def net_kwargs(self, dim: int) -> dict:
        """Constructor arguments of the :class:`ScoreNet` this configuration trains."""
        return {
            "dim": int(dim),
            "hidden": self.hidden,
            "depth": self.depth,
            "n_freq": self.n_freq,
            "precond": self.precond,
            "sigma_data": self.sigma_data,
        }


def cache_dir() -> Path:
    """``$DIFFUSION_VERIFY_CACHE`` if set, else ``~/.cache/diffusion-verify``."""
    env = os.environ.get("DIFFUSION_VERIFY_CACHE")
    return Path(env) if env else Path.home() / ".cache" / "diffusion-verify"


def _floats(a) -> list:
    return np.round(np.asarray(a, dtype=np.float64), 12).tolist()


def describe_target(data) -> dict:
    """A JSON description of a ``Gaussian``/``GaussianMixture`` (or a sample array)."""
    if hasattr(data, "weights"):
        return {
            "kind": "GaussianMixture",
            "weights": _floats(data.weights),
            "means": _floats(data.means),
            "covs": _floats(data.covs),
        }
    if hasattr(data, "mean") and hasattr(data, "cov"):
        return {"kind": "Gaussian", "mean": _floats(data.mean), "cov": _floats(data.cov)}
    arr = np.ascontiguousarray(np.asarray(data, dtype=np.float64))
    return {"kind": "samples", "shape": list(arr.shape), "sha256": hashlib.sha256(arr).hexdigest()}


def describe_sde(sde) -> dict:
    """A fingerprint of a linear SDE: class, ``T`` and ``alpha``, ``sigma2`` at 9 times."""
    T = float(sde.T)
    ts = T * np.linspace(0.1, 1.0, 9)
    return {
        "class": type(sde).__name__,
        "T": T,
        "alpha": _floats(sde.alpha(ts)),
        "sigma2": _floats(sde.sigma2(ts)),
    }


def score_key(config: TrainConfig, data, sde, dim: int) -> tuple[str, dict]:
    """The cache key of a trained score network and the metadata it hashes (the configuration
    checksum of the entry)."""
    meta = {
        "format": FORMAT,
        "config": dataclasses.asdict(config),
        "net": config.net_kwargs(dim),
        "target": describe_target(data),
        "sde": describe_sde(sde),
        "torch": torch_version(),
    }
    blob = json.dumps(meta, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:20], meta


@dataclass(frozen=True)
class StartLawConfig:
    """``n_components`` of the mixture, Adam ``lr``, ``n_iters``, ``batch``, ``n_train``
    data points, ``seed`` and torch ``threads``."""

    n_components: int = 4
    n_iters: int = 600
    batch: int = 512
    lr: float = 2e-2
    n_train: int = 5000
    seed: int = 0
    threads: int = 1


def start_key_meta(cfg: StartLawConfig, data, sde, t: float) -> tuple[str, dict]:
    """The cache key of a learned start law fitted to ``p_t`` and the metadata it hashes."""
    meta = {
        "format": FORMAT,
        "config": dataclasses.asdict(cfg),
        "target": describe_target(data),
        "sde": describe_sde(sde),
        "t": round(float(t), 12),
        "torch": torch_version(),
    }
    return hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:20], meta


def start_key(cfg: StartLawConfig, data, sde, t: float) -> str:
    """The cache key of a learned start law fitted to ``p_t``."""
    return start_key_meta(cfg, data, sde, t)[0]


def _data_dim(data) -> int:
    return int(getattr(data, "dim", 0) or np.asarray(data).shape[1])


def score_stem(config: TrainConfig, data, sde, root=None) -> tuple[Path, dict]:
    """``(<cache>/score-<key>, key metadata)`` of the network for ``(config, data, sde)``."""
    key, meta = score_key(config, data, sde, _data_dim(data))
    return Path(root if root is not None else cache_dir()) / f"score-{key}", meta


def weight_shapes(net: dict) -> dict:
    """The ``state_dict`` names and shapes of a :class:`~verify.torch.nets.ScoreNet` with
    constructor arguments ``net`` (``embed.freqs``, then ``mlp.<2k>.weight``/``.bias``)."""
    dim, hidden, depth, n_freq = (int(net[k]) for k in ("dim", "hidden", "depth", "n_freq"))
    shapes = {"embed.freqs": (n_freq,)}
    width = dim + 1 + 2 * n_freq
    for k in range(depth):
        shapes[f"mlp.{2 * k}.weight"] = (hidden, width)
        shapes[f"mlp.{2 * k}.bias"] = (hidden,)
        width = hidden
    shapes[f"mlp.{2 * depth}.weight"] = (dim, width)
    shapes[f"mlp.{2 * depth}.bias"] = (dim,)
    return shapes


def npz_bytes(state: dict) -> bytes:
    """``{name: array}`` as the bytes of an ``.npz`` archive."""
    buf = io.BytesIO()
    np.savez(buf, **{k: np.asarray(v) for k, v in state.items()})
    return buf.getvalue()


def parse_weights(data: bytes, path, net: dict) -> dict:
    """The weights in the ``.npz`` bytes ``data``, checked against :func:`weight_shapes`
    (names, shapes, real floating dtype, finite values); no pickles are loaded.
    Raises :class:`~verify.torch.entries.CacheEntryError`."""
    try:
        archive = np.load(io.BytesIO(data), allow_pickle=False)
    except (OSError, ValueError, EOFError) as exc:
        raise CacheEntryError(path, f"not a NumPy archive ({exc})") from None
    if not isinstance(archive, np.lib.npyio.NpzFile):
        raise CacheEntryError(path, f"a plain {type(archive).__name__} where an .npz is expected")
    want = weight_shapes(net)
    try:
        with archive:
            weights = {k: archive[k] for k in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise CacheEntryError(path, f"unreadable archive member ({exc})") from None
    if set(weights) != set(want):
        raise CacheEntryError(
            path, f"weights {sorted(weights)} are not the network's {sorted(want)}"
        )
    for k, shape in want.items():
        w = weights[k]
        if w.dtype.kind != "f":
            raise CacheEntryError(path, f"{k} has dtype {w.dtype}, not a real float")
        if w.shape != shape:
            raise CacheEntryError(path, f"{k} has shape {w.shape}, expected {shape}")
        if not np.all(np.isfinite(w)):
            raise CacheEntryError(path, f"{k} has non-finite values")
    return weights


def write_score_entry(stem, key_meta: dict, state: dict, net: dict, fields: dict, pt=None):
    """Write a score network's entry: ``.npz`` weights, optional ``.pt`` bytes, manifest."""
    payloads = {".npz": npz_bytes(state)}
    if pt is not None:
        payloads[".pt"] = pt
    return write_entry(stem, "score", key_meta, {"net": net, **fields}, payloads)


def read_score_entry(stem, key_meta: dict | None):
    """``(weights, manifest)`` of a verified score entry, ``None`` if there is none; raises
    :class:`~verify.torch.entries.CacheEntryError` if it does not verify."""
    manifest = read_entry(stem, "score", key_meta)
    if manifest is None:
        return None
    path = Path(stem).with_suffix(".json")
    net = manifest.get("net")
    if not isinstance(net, dict):
        raise CacheEntryError(path, "no network description")
    if key_meta is not None and net != key_meta["net"]:
        raise CacheEntryError(path, f"network {net} is not the configuration's {key_meta['net']}")
    try:
        weight_shapes(net)
        if net.get("precond") not in PRECONDS:
            raise ValueError(f"precond {net.get('precond')!r}")
        finite_number(net.get("sigma_data"), path, "sigma_data")
    except (KeyError, TypeError, ValueError) as exc:
        raise CacheEntryError(path, f"bad network description ({exc})") from None
    meta = manifest.get("meta")
    if not isinstance(meta, dict):
        raise CacheEntryError(path, "no training metadata")
    finite_number(meta.get("final_loss"), path, "final_loss")
    if ".pt" in manifest["files"]:  # the torch copy is checked too: the entry verifies whole
        read_payload(stem, ".pt", manifest)
    npz = read_payload(stem, ".npz", manifest)
    weights = parse_weights(npz, Path(stem).with_suffix(".npz"), net)
    return weights, manifest


def write_numpy_weights(state: dict, path) -> Path:
    """Write ``{name: array}`` weights to ``<path>.npz`` (atomically); returns the path."""
    path = Path(path).with_suffix(".npz")
    return atomic_write(path, npz_bytes(state))


def cached_score(sde, data, config: TrainConfig | None = None, *, root=None):
    """The cached network for ``(sde, data, config)`` as a
    :class:`~verify.torch.numpy_net.NumpyScore`, or ``None`` if it is not cached. Never
    imports torch; an entry that does not verify (checksums of its content and its
    configuration, names, shapes and types of the weights) gives ``None`` with one warning
    naming the file."""
    from verify.torch.numpy_net import NumpyScore, NumpyScoreNet

    cfg = TrainConfig() if config is None else config
    stem, key_meta = score_stem(cfg, data, sde, root)
    try:
        found = read_score_entry(stem, key_meta)
    except CacheEntryError as exc:
        warn_ignored(exc, "cached weights")
        return None
    if found is None:
        return None
    weights, manifest = found
    net = NumpyScoreNet(weights, manifest["net"])
    info = {
        "from_cache": True,
        "final_loss": float(manifest["meta"]["final_loss"]),
        "path": str(stem.with_suffix(".npz")),
    }
    return NumpyScore(net, sde, info)


def start_stem(cfg: StartLawConfig, data, sde, t: float, root=None) -> tuple[Path, dict]:
    """``(<cache>/start-<key>, key metadata)`` of a learned start law."""
    key, meta = start_key_meta(cfg, data, sde, t)
    return Path(root if root is not None else cache_dir()) / f"start-{key}", meta


def write_start_law_entry(stem, key_meta: dict, law, losses) -> Path:
    """Write a learned start law's manifest (its numbers are the entry's content)."""
    fields = {
        "weights": law.weights.tolist(),
        "means": law.means.tolist(),
        "covs": law.covs.tolist(),
        "losses": [float(v) for v in losses],
    }
    return write_entry(stem, "start-law", key_meta, fields)


def cached_start_law(sde, data, t: float, config: StartLawConfig | None = None, *, root=None):
    """``(law, losses)`` of a cached start law (:func:`verify.torch.train_start_law`), or
    ``None``; never imports torch. An entry that does not verify (checksums, the number of
    components and the dimension, finite losses, a valid mixture) gives ``None`` with one
    warning naming the file."""
    from analytic import GaussianMixture

    cfg = StartLawConfig() if config is None else config
    stem, key_meta = start_stem(cfg, data, sde, t, root)
    path = stem.with_suffix(".json")
    try:
        info = read_entry(stem, "start-law", key_meta)
        if info is None:
            return None
        losses = info.get("losses")
        if not isinstance(losses, list) or len(losses) != cfg.n_iters:
            raise CacheEntryError(path, f"losses are not a list of {cfg.n_iters} numbers")
        losses = [finite_number(v, path, "a loss") for v in losses]
        try:
            law = GaussianMixture(info.get("weights"), info.get("means"), info.get("covs"))
        except (TypeError, ValueError) as exc:
            raise CacheEntryError(path, f"not a Gaussian mixture ({exc})") from None
        if law.n_components != cfg.n_components or law.dim != _data_dim(data):
            raise CacheEntryError(
                path,
                f"a mixture of {law.n_components} components in d={law.dim}, expected "
                f"{cfg.n_components} in d={_data_dim(data)}",
            )
    except CacheEntryError as exc:
        warn_ignored(exc, "cached start law")
        return None
    return law, losses
