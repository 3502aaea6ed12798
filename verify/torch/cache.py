r"""Configurations, cache keys and cache lookups of the torch backend, without importing torch.

A trained score network is cached as ``score-<key>.pt`` (the torch ``state_dict``),
``score-<key>.json`` (constructor arguments, configuration, target, final loss) and
``score-<key>.npz`` (the same weights as NumPy arrays); a learned start law as
``start-<key>.json``. The key is a SHA-256 of (configuration, target, SDE fingerprint, torch
version); the torch version is read from the installed package's metadata when torch is not
imported yet, so :func:`cached_score` and :func:`cached_start_law` find a cached model without
importing torch (the claims then evaluate it with :class:`verify.torch.numpy_net.NumpyScore`).
The cache directory is ``$DIFFUSION_VERIFY_CACHE`` or ``~/.cache/diffusion-verify``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = [
    "PRECONDS",
    "TrainConfig",
    "StartLawConfig",
    "cache_dir",
    "describe_target",
    "describe_sde",
    "torch_version",
    "score_key",
    "start_key",
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
    """The cache key of a trained score network and the metadata it hashes."""
    meta = {
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


def start_key(cfg: StartLawConfig, data, sde, t: float) -> str:
    """The cache key of a learned start law fitted to ``p_t``."""
    meta = {
        "config": dataclasses.asdict(cfg),
        "target": describe_target(data),
        "sde": describe_sde(sde),
        "t": round(float(t), 12),
        "torch": torch_version(),
    }
    return hashlib.sha256(json.dumps(meta, sort_keys=True).encode()).hexdigest()[:20]


def _score_path(config, data, sde, root) -> Path:
    dim = int(getattr(data, "dim", 0) or np.asarray(data).shape[1])
    key, _ = score_key(config, data, sde, dim)
    return Path(root if root is not None else cache_dir()) / f"score-{key}"


def write_numpy_weights(state: dict, path) -> Path:
    """Write ``{name: array}`` weights to ``<path>.npz`` (atomically); returns the path."""
    path = Path(path).with_suffix(".npz")
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez(tmp, **{k: np.asarray(v) for k, v in state.items()})
    os.replace(tmp, path)
    return path


def cached_score(sde, data, config: TrainConfig | None = None, *, root=None):
    """The cached network for ``(sde, data, config)`` as a
    :class:`~verify.torch.numpy_net.NumpyScore`, or ``None`` if it is not cached (as NumPy
    weights). Never imports torch; an unreadable entry gives ``None`` with a warning."""
    from verify.torch.numpy_net import NumpyScore, NumpyScoreNet

    cfg = TrainConfig() if config is None else config
    path = _score_path(cfg, data, sde, root)
    npz, meta = path.with_suffix(".npz"), path.with_suffix(".json")
    if not (npz.exists() and meta.exists()):
        return None
    try:
        info = json.loads(meta.read_text())
        with np.load(npz) as f:
            weights = {k: f[k] for k in f.files}
        net = NumpyScoreNet(weights, info["net"])
    except (OSError, ValueError, KeyError) as exc:
        warnings.warn(f"ignoring unreadable cached weights {npz}: {exc}", stacklevel=2)
        return None
    final = info.get("meta", {}).get("final_loss", float("nan"))
    return NumpyScore(net, sde, {"from_cache": True, "final_loss": final, "path": str(npz)})


def cached_start_law(sde, data, t: float, config: StartLawConfig | None = None, *, root=None):
    """``(law, losses)`` of a cached start law (:func:`verify.torch.train_start_law`), or
    ``None``; never imports torch."""
    from analytic import GaussianMixture

    cfg = StartLawConfig() if config is None else config
    path = (
        Path(root if root is not None else cache_dir())
        / f"start-{start_key(cfg, data, sde, t)}.json"
    )
    if not path.exists():
        return None
    try:
        info = json.loads(path.read_text())
        law = GaussianMixture(info["weights"], info["means"], info["covs"])
        return law, [float(v) for v in info["losses"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        warnings.warn(f"ignoring unreadable cached start law {path}: {exc}", stacklevel=2)
        return None
