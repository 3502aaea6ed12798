r"""Optional torch backend: small learned score networks and learned start laws.

Importing :mod:`verify` never imports torch, and neither does importing ``verify.torch``: its
names load on first use, and only the training and torch-model names import torch (install
the extra with ``pip install torch==2.13.0`` for the CPU wheel, then
``pip install -e .[torch]``). A cached network is evaluated in NumPy without torch.

* :mod:`verify.torch.nets` -- :class:`ScoreNet` (MLP with a Fourier time embedding; an
  epsilon parameterisation or EDM preconditioning) and :class:`MixtureDensity`.
* :mod:`verify.torch.train` -- :func:`train_score` (denoising score matching, deterministic
  given a seed, cached checkpoints), :func:`save_checkpoint`, :func:`load_checkpoint`,
  :func:`to_numpy_score`.
* :mod:`verify.torch.cache` (no torch) -- :class:`TrainConfig`, :class:`StartLawConfig`,
  :func:`cache_dir`, :func:`cached_score`, :func:`cached_start_law`.
* :mod:`verify.torch.models` -- :func:`load_score` (a cached network as a
  :class:`NumpyScore`, trained with torch only when missing).
* :mod:`verify.torch.numpy_net` (no torch) -- :class:`NumpyScoreNet`, :class:`NumpyScore`:
  the network in float64 NumPy, with its exact input divergence.
* :mod:`verify.torch.adapter` -- :class:`TorchScore` (a torch network as the NumPy score
  callable ``(x (n, d), t) -> (n, d)``, with its autograd divergence).
* :mod:`verify.torch.error_profiles` (no torch) -- :func:`error_field`, :func:`error_profile`.
* :mod:`verify.torch.flow` -- :func:`train_start_law`: a Gaussian-mixture density fitted by
  maximum likelihood to samples of ``p_T`` (the learned start law of arXiv 2603.00772 §3),
  returned as an exact :class:`analytic.GaussianMixture` and cached.
"""

from __future__ import annotations

import importlib

_HOME = {
    "ScoreNet": "nets",
    "MixtureDensity": "nets",
    "train_score": "train",
    "save_checkpoint": "train",
    "load_checkpoint": "train",
    "to_numpy_score": "train",
    "TrainConfig": "cache",
    "StartLawConfig": "cache",
    "cache_dir": "cache",
    "cached_score": "cache",
    "cached_start_law": "cache",
    "load_score": "models",
    "NumpyScore": "numpy_net",
    "NumpyScoreNet": "numpy_net",
    "TorchScore": "adapter",
    "error_field": "error_profiles",
    "error_profile": "error_profiles",
    "train_start_law": "flow",
}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name in _HOME:
        value = getattr(importlib.import_module(f"verify.torch.{_HOME[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'verify.torch' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_HOME))
