r"""Gaussian models of real data, in spectral form, through one entry: :func:`gaussian_model`.

=====================  =======  ==========================================================
name                   d        model
=====================  =======  ==========================================================
``"digits"``           64       the 1797 8x8 digits scikit-learn ships; eigen decomposition
``"photo-patches-32"`` 3072     32x32x3 windows (stride 8) of scikit-learn's two sample
                                photographs; eigen decomposition
``"photo-patches-64"`` 12288    64x64x3 windows (stride 16) of the same photographs; the
                                stationary model (power spectrum, Hartley basis, by FFT)
``"power-law"``        ``d``    eigenvalues $\lambda_i = c\,i^{-\text{exponent}}$,
                                $i = 1..d$, mean $\frac1d\sum_i\lambda_i$ = ``variance``;
                                mean zero, the standard basis (for sweeps)
=====================  =======  ==========================================================

Every model is an ``analytic.Gaussian`` whose ``covariance`` is an
``analytic.SpectralCovariance`` (``.eigenvalues``, largest first for the fitted models, and
``.basis`` with ``to_eigen`` / ``from_eigen``), so marginals, scores, KL, $W_2$ and every
sampler's exact law cost $O(d)$ per time in the eigenbasis. ``model.metadata`` states where
the numbers come from, and, for the fitted models, the sampling error of the fit: how much
the exact KL of a reference sampler moves under a block bootstrap of the patches
(:mod:`verify.data.fit`). Fitted models are cached on disk (:mod:`verify.data.store`);
the data are read from the scikit-learn wheel (``pip install 'diffusion-verify[data]'``),
nothing is downloaded.
"""

from __future__ import annotations

import math

import numpy as np

from analytic import Gaussian
from analytic.spectral import DenseBasis, HartleyBasis, IdentityBasis

__all__ = ["MODELS", "gaussian_model", "power_law_eigenvalues"]

MODELS = ("digits", "photo-patches-32", "photo-patches-64", "power-law")
FIT_VERSION = 1
"""Enters the cache key: bump it when a fit changes."""

_MEMO: dict = {}


def power_law_eigenvalues(d: int, exponent: float, variance: float = 0.25) -> np.ndarray:
    """$\\lambda_i = c\\, i^{-\\text{exponent}}$, $i = 1..d$, with $c$ such that the mean
    eigenvalue (the per-coordinate variance) is ``variance``."""
    if isinstance(d, bool) or not isinstance(d, int | np.integer) or d < 1:
        raise ValueError(f"d must be a positive integer, got {d!r}")
    exponent, variance = float(exponent), float(variance)
    if not (math.isfinite(exponent) and exponent >= 0):
        raise ValueError(f"exponent must be finite and >= 0, got {exponent!r}")
    if not (math.isfinite(variance) and variance > 0):
        raise ValueError(f"variance must be finite and > 0, got {variance!r}")
    lam = np.arange(1, int(d) + 1, dtype=np.float64) ** -exponent
    lam *= variance / lam.mean()
    if not np.all(lam > 0):
        raise ValueError(f"exponent = {exponent:g} underflows the smallest eigenvalue at d = {d}")
    return lam


def _power_law(d=3072, exponent=1.0, variance=0.25):
    lam = power_law_eigenvalues(d, exponent, variance)
    model = Gaussian.from_spectrum(np.zeros(int(d)), lam, IdentityBasis(int(d)))
    model.metadata = {
        "name": "power-law",
        "d": int(d),
        "exponent": float(exponent),
        "variance": float(variance),
        "basis": "identity",
        "source": "parametric",
    }
    return model


def _fit_config(name: str) -> dict:
    from .images import sklearn_version

    return {"name": name, "fit_version": FIT_VERSION, "sklearn": sklearn_version()}


def _fitted(name: str, cache: bool):
    from .fit import fit_pca, fit_stationary, kl_bootstrap
    from .images import DIGITS_STEP, PHOTO_STEP, checksum, digits, patches, sample_images
    from .store import read_model, write_model

    config = _fit_config(name)
    if name == "digits":
        config.update(scaling="v/8 - 1", dequantisation="(1/8)^2/12", blocks=32)
    elif name == "photo-patches-32":
        config.update(size=32, stride=8, scaling="v/127.5 - 1", blocks_per_image=16)
    else:
        config.update(size=64, stride=16, scaling="v/127.5 - 1", blocks_per_image=16)
    config.update(replicates=50, seed=0)
    hit = read_model(config) if cache else None
    if hit is None:
        if name == "digits":
            x = digits()
            floor, groups, src = DIGITS_STEP**2 / 12, [x], "sklearn.datasets.load_digits"
            fp = checksum(x)
        else:
            ims = sample_images()
            size, stride = config["size"], config["stride"]
            groups = [patches(im, size, stride) for im in ims]
            floor, src = PHOTO_STEP**2 / 12, "sklearn.datasets.load_sample_images"
            fp = checksum(np.concatenate([im.reshape(-1) for im in ims]))
        n = sum(len(g) for g in groups)
        if name == "photo-patches-64":
            mean, lam, V, sums = fit_stationary(groups, (64, 64, 3), floor, 16)
            arrays = {"mean": mean, "eigenvalues": lam, "basis": V}
            coef = HartleyBasis((64, 64, 3), V).to_eigen(mean[None])[0]
        else:
            mean, lam, U, sums = fit_pca(groups, floor, 32 if name == "digits" else 16)
            arrays = {"mean": mean, "eigenvalues": lam, "basis": U}
            coef = mean @ U
        metadata = {
            "name": name,
            "d": int(len(lam)),
            "n_samples": int(n),
            "source": src,
            "data_sha256": fp,
            "dequantisation_variance": float(floor),
            "basis": "hartley x colour" if name == "photo-patches-64" else "eigenvectors",
            "trace": float(np.sum(lam)),
            "bootstrap": kl_bootstrap(coef, lam, sums, floor, config["replicates"], 0),
            **{k: v for k, v in config.items() if k not in ("name",)},
        }
        if cache:
            write_model(config, arrays, metadata)
    else:
        arrays, metadata = hit
    if name == "photo-patches-64":
        basis = HartleyBasis((64, 64, 3), arrays["basis"])
    else:
        basis = DenseBasis(arrays["basis"])
    model = Gaussian.from_spectrum(arrays["mean"], arrays["eigenvalues"], basis)
    model.metadata = metadata
    return model


def gaussian_model(name: str, *, cache: bool = True, **kw) -> Gaussian:
    """The Gaussian model ``name`` (module table) in spectral form, with ``.metadata``.

    ``"power-law"`` takes ``d`` (default 3072), ``exponent`` (default 1, the sorted spectrum
    of $1/|k|^2$ natural-image power) and ``variance`` (default 0.25); the fitted models take
    no parameters. ``cache=False`` refits without reading or writing the disk cache. Repeated
    calls in one process return the same object (treat it as read-only)."""
    if name not in MODELS:
        raise ValueError(f"unknown data model {name!r}; choose one of {', '.join(MODELS)}")
    if name == "power-law":
        return _power_law(**kw)
    if kw:
        raise TypeError(f"gaussian_model({name!r}) takes no parameters, got {sorted(kw)}")
    from verify.torch.cache import cache_dir

    key = (name, cache, str(cache_dir()))
    if key not in _MEMO:
        _MEMO[key] = _fitted(name, cache)
    return _MEMO[key]
