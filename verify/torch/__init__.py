r"""Optional torch backend: small learned score networks and learned start laws.

Importing :mod:`verify` never imports torch; importing ``verify.torch`` does (install the
extra with ``pip install torch==2.13.0`` for the CPU wheel, then ``pip install -e .[torch]``).

* :mod:`verify.torch.nets` -- :class:`ScoreNet` (MLP with a Fourier time embedding; an
  epsilon parameterisation or EDM preconditioning) and :class:`MixtureDensity`.
* :mod:`verify.torch.train` -- :class:`TrainConfig`, :func:`train_score` (denoising score
  matching, deterministic given a seed, cached checkpoints), :func:`save_checkpoint`,
  :func:`load_checkpoint`.
* :mod:`verify.torch.adapter` -- :class:`TorchScore` (a network as the NumPy score callable
  ``(x (n, d), t) -> (n, d)`` float64), :func:`error_field`, :func:`error_profile`.
* :mod:`verify.torch.flow` -- :func:`train_start_law`: a Gaussian-mixture density fitted by
  maximum likelihood to samples of ``p_T`` (paper 2's learned start law, notes §2.2),
  returned as an exact :class:`analytic.GaussianMixture`.
"""

from __future__ import annotations

from verify.torch.adapter import TorchScore, error_field, error_profile
from verify.torch.flow import StartLawConfig, train_start_law
from verify.torch.nets import MixtureDensity, ScoreNet
from verify.torch.train import (
    TrainConfig,
    cache_dir,
    load_checkpoint,
    save_checkpoint,
    train_score,
)

__all__ = [
    "ScoreNet",
    "MixtureDensity",
    "TrainConfig",
    "train_score",
    "save_checkpoint",
    "load_checkpoint",
    "cache_dir",
    "TorchScore",
    "error_field",
    "error_profile",
    "StartLawConfig",
    "train_start_law",
]
