"""Exact mathematics of linear forward SDEs and Gaussian / Gaussian-mixture laws.

Pure mathematics: no solvers, no I/O, randomness only through ``sample(n, rng)``.
``analytic`` never imports ``verify``.
"""

from .covariance import Covariance
from .divergence import kl, kl_mp
from .gaussian import Gaussian
from .mixture import GaussianMixture
from .sde import EDM, OU, VE, VP, LinearSDE, SubVP, derive_transition
from .spectral import DenseBasis, HartleyBasis, IdentityBasis, SpectralCovariance
from .wasserstein import w2, w2_mp

__all__ = [
    "Covariance",
    "EDM",
    "Gaussian",
    "GaussianMixture",
    "LinearSDE",
    "OU",
    "SubVP",
    "VE",
    "VP",
    "DenseBasis",
    "HartleyBasis",
    "IdentityBasis",
    "SpectralCovariance",
    "derive_transition",
    "kl",
    "kl_mp",
    "w2",
    "w2_mp",
]
