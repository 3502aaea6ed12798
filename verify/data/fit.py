r"""Fitting Gaussian models to image data, and the bootstrap of the fit.

**Eigen decomposition** (:func:`fit_pca`): the sample mean $\hat m$ and the sample covariance
$\hat\Sigma = \frac{1}{n-1}\sum_j (x_j - \hat m)(x_j - \hat m)^\top$, diagonalised by
``numpy.linalg.eigh`` (eigenvalues sorted largest first); the dequantisation variance
$\Delta^2/12$ (:mod:`verify.data.images`) is added to every eigenvalue.

**Stationary model** (:func:`fit_stationary`): a translation-invariant law on the periodic
$H \times W$ grid whose colour channels are decorrelated by the orthonormal $3 \times 3$
matrix $V$ of the pixels' colour covariance: $x = \bar m + \mathcal{H}^{-1}(z)\, V^\top$ with
independent Hartley coefficients $z_{k,c} \sim N(\mu_{k,c}, P_c(k))$, mean only in $k = 0$.
The power spectrum is the periodogram averaged over patches,
$P_c(k) = \frac{1}{n-1}\sum_j |F(y_j)_{k,c}|^2$ with $y_j = (x_j - \bar m) V$ and $F$ the
unitary 2-D DFT; it is symmetric, $P(k) = P(-k)$, so the covariance is diagonal in the
Hartley basis (:class:`analytic.HartleyBasis`). The patches are not periodic: their edges
add power along the axes $k_1 = 0$ and $k_2 = 0$ (a limitation of the periodic model).

**Bootstrap** (:func:`bootstrap_spectra`): the patches are split into contiguous blocks (rows
of windows of one image; neighbouring windows overlap, so single patches are not independent
draws) and blocks are resampled with replacement. Each replicate's eigenvalues are the
variances of the coefficients in the *fitted* eigenbasis, $\lambda_i^* = u_i^\top
\hat\Sigma^* u_i$: by first-order perturbation theory of symmetric eigenvalues this equals
the replicate's own eigenvalue up to $O(\|\hat\Sigma^* - \hat\Sigma\|^2 / \mathrm{gap})$, and
it costs $O(n d)$ per replicate instead of an $O(d^3)$ decomposition. With all blocks once it
reproduces the fitted eigenvalues (a test checks this). :func:`kl_bootstrap` then states how
much the exact KL of a reference sampler moves across replicates.
"""

from __future__ import annotations

import numpy as np

from analytic import EDM, Gaussian
from analytic.spectral import IdentityBasis

__all__ = [
    "BlockSums",
    "fit_pca",
    "fit_stationary",
    "bootstrap_spectra",
    "kl_bootstrap",
    "REFERENCE",
]

REFERENCE = {
    "sde": "EDM(sigma_max=80)",
    "method": "euler",
    "gamma": 0.0,
    "grid": "karras(rho=7, sigma_min=0.002, sigma_max=80, append_zero=True)",
    "init": "N(0, 80^2 I)",
    "kl": "KL(output law || data model)",
    "n_steps": [5, 10, 20, 50],
}
"""The sampler whose exact output KL the bootstrap reports (Karras et al. 2022's Euler)."""


class BlockSums:
    """Per-block sums of the coefficients and of their squares in a fixed eigenbasis:
    ``count (B,)``, ``z (B, d)``, ``z2 (B, d)``; ``mask`` marks the coefficients that may
    carry a mean (all for a PCA model, the ``k = 0`` ones for a stationary model)."""

    def __init__(self, count, z, z2, mask):
        self.count = np.asarray(count, dtype=np.float64)
        self.z, self.z2 = np.asarray(z), np.asarray(z2)
        self.mask = np.asarray(mask, dtype=bool)

    def spectrum(self, idx=None, floor: float = 0.0):
        """``(mean shift, eigenvalues)`` from the blocks ``idx`` (all if ``None``)."""
        if idx is None:
            idx = np.arange(len(self.count))
        w = np.bincount(idx, minlength=len(self.count)).astype(np.float64)
        n = float(w @ self.count)
        mz = np.where(self.mask, (w @ self.z) / n, 0.0)
        lam = (w @ self.z2 - n * mz * mz) / (n - 1.0)
        return mz, np.maximum(lam, 0.0) + floor


def _split(x: np.ndarray, n_blocks: int):
    return [b for b in np.array_split(x, n_blocks) if len(b)]


def fit_pca(groups, floor: float, blocks_per_group: int = 16):
    """Mean, eigenvalues (largest first, plus ``floor``), eigenvectors (columns) and the
    :class:`BlockSums` of ``groups`` (a list of ``(n_g, d)`` sample arrays, e.g. the patches
    of each image)."""
    n = sum(len(g) for g in groups)
    d = groups[0].shape[1]
    mean = sum(g.sum(axis=0) for g in groups) / n
    S = np.zeros((d, d))
    for g in groups:
        c = g - mean
        S += c.T @ c
    S /= n - 1.0
    lam, U = np.linalg.eigh(S)
    lam, U = lam[::-1], np.ascontiguousarray(U[:, ::-1])
    count, z, z2 = [], [], []
    for g in groups:
        for b in _split(g, blocks_per_group):
            c = (b - mean) @ U
            count.append(len(b))
            z.append(c.sum(axis=0))
            z2.append((c * c).sum(axis=0))
    sums = BlockSums(count, np.array(z), np.array(z2), np.ones(d, dtype=bool))
    return mean, np.maximum(lam, 0.0) + floor, U, sums


def colour_basis(groups) -> np.ndarray:
    """The orthonormal eigenvectors (columns, largest variance first) of the 3x3 colour
    covariance of all pixels of ``groups`` (``(n, H*W*C)`` patches, channels last)."""
    C = None
    n, s = 0, 0.0
    for g in groups:
        px = g.reshape(-1, 3)
        s = s + px.sum(axis=0)
        n += len(px)
    m = s / n
    C = sum((g.reshape(-1, 3) - m).T @ (g.reshape(-1, 3) - m) for g in groups) / (n - 1.0)
    w, V = np.linalg.eigh(C)
    return np.ascontiguousarray(V[:, ::-1]), m


def fit_stationary(groups, shape, floor: float, blocks_per_group: int = 16):
    """Mean (constant per channel), power spectrum in Hartley order ``(k1, k2, c)``, the
    colour matrix ``V`` and the :class:`BlockSums` (coefficients ``|F|^2`` per patch)."""
    H, W, C = shape
    V, m_c = colour_basis(groups)
    count, z, z2 = [], [], []
    for g in groups:
        for b in _split(g, blocks_per_group):
            y = (b.reshape(-1, H, W, C) - m_c) @ V
            F = np.fft.fft2(y, axes=(1, 2), norm="ortho")
            h = (F.real - F.imag).reshape(len(b), -1)
            count.append(len(b))
            z.append(h.sum(axis=0))
            z2.append((F.real**2 + F.imag**2).reshape(len(b), -1).sum(axis=0))
    mask = np.zeros((H, W, C), dtype=bool)
    mask[0, 0, :] = True
    sums = BlockSums(count, np.array(z), np.array(z2), mask.reshape(-1))
    mz, lam = sums.spectrum(floor=floor)
    mean = np.tile(m_c, H * W)  # the mean shift mz (in DC only) is zero up to round-off
    return mean, lam, V, sums


def bootstrap_spectra(sums: BlockSums, floor: float, replicates: int, seed: int):
    """``replicates`` block-bootstrap ``(mean shift, eigenvalues)`` pairs (module docstring)."""
    rng = np.random.default_rng(seed)
    B = len(sums.count)
    for _ in range(int(replicates)):
        yield sums.spectrum(rng.integers(0, B, size=B), floor)


def _reference_kls(coef, lam, n_steps):
    """The reference sampler's exact KL (``REFERENCE``) for the law with mean coefficients
    ``coef`` and eigenvalues ``lam``: O(N d) per N, in the eigenbasis (the identity basis
    suffices: the start law is isotropic, so KL does not depend on the eigenvectors)."""
    from analytic import kl
    from verify.solvers import grids
    from verify.solvers.chain_laws import exact_law

    sde = EDM(80.0)
    data = Gaussian.from_spectrum(coef, lam, IdentityBasis(len(lam)))
    init = sde.prior(len(lam))
    out = []
    for n in n_steps:
        grid = grids.karras(sde, n, 0.002, 80.0, 7.0, append_zero=True)
        out.append(kl(exact_law(sde, data, init, grid, gamma=0.0, method="euler"), data))
    return out


def kl_bootstrap(coef, lam, sums: BlockSums, floor: float, replicates: int = 50, seed: int = 0):
    """How much the reference sampler's exact KL moves under the block bootstrap: for each
    ``N`` the fitted value, the bootstrap mean, standard deviation, relative standard
    deviation and 5 %/95 % quantiles (``REFERENCE`` describes the sampler)."""
    n_steps = REFERENCE["n_steps"]
    base = _reference_kls(coef, lam, n_steps)
    reps, lams = [], []
    for mz, lam_b in bootstrap_spectra(sums, floor, replicates, seed):
        reps.append(_reference_kls(coef + mz, lam_b, n_steps))
        lams.append(lam_b)
    reps = np.array(reps)
    sd = reps.std(axis=0, ddof=1)
    lam_rel = np.array(lams).std(axis=0, ddof=1) / lam
    return {
        "reference": REFERENCE,
        "replicates": int(replicates),
        "blocks": len(sums.count),
        "seed": int(seed),
        "kl": [float(v) for v in base],
        "kl_mean": [float(v) for v in reps.mean(axis=0)],
        "kl_sd": [float(v) for v in sd],
        "kl_rel_sd": [float(s / b) for s, b in zip(sd, base, strict=True)],
        "kl_q05": [float(v) for v in np.quantile(reps, 0.05, axis=0)],
        "kl_q95": [float(v) for v in np.quantile(reps, 0.95, axis=0)],
        "eigenvalue_rel_sd_median": float(np.median(lam_rel)),
        "eigenvalue_rel_sd_max": float(np.max(lam_rel)),
    }
