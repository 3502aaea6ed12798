"""Hypothesis strategies for SDEs, Gaussians and Gaussian mixtures (reusable by users).

Bounded and meaningful: dimensions 1..6, components 1..8, covariances with condition number
up to ``max_cond`` (``1e6`` for "ill-conditioned"), parameters of the SDE presets in the
ranges used in practice. Random matrices are built by NumPy from a hypothesis-drawn seed so
that shrinking stays cheap and examples are reproducible.

>>> from hypothesis import given
>>> from verify.kit.strategies import gaussians
>>> @given(gaussians(max_dim=3))
... def test_logpdf_finite(p): ...
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from analytic import EDM, OU, VE, VP, Gaussian, GaussianMixture, SubVP
from analytic.sde import LinearSDE

__all__ = [
    "sdes",
    "spd_matrices",
    "covariances",
    "gaussians",
    "mixtures",
    "near_equal_gaussian_pairs",
    "points",
]

_seeds = st.integers(min_value=0, max_value=2**32 - 1)


@st.composite
def sdes(
    draw: st.DrawFn,
    kinds: tuple[str, ...] = ("OU", "VP", "VE", "SubVP", "EDM"),
) -> LinearSDE:
    """A forward SDE preset with parameters in their usual ranges."""
    kind = draw(st.sampled_from(kinds))
    if kind == "OU":
        return OU(T=draw(st.floats(0.5, 5.0)))
    if kind == "VP":
        return VP(draw(st.floats(0.05, 0.5)), draw(st.floats(5.0, 25.0)))
    if kind == "SubVP":
        return SubVP(draw(st.floats(0.05, 0.5)), draw(st.floats(5.0, 25.0)))
    if kind == "VE":
        return VE(draw(st.floats(0.005, 0.1)), draw(st.floats(5.0, 100.0)))
    return EDM(draw(st.floats(1.0, 80.0)))


def _spd(rng, d, max_cond, scale):
    logc = rng.uniform(0, np.log(max_cond))
    ev = np.exp(rng.uniform(-0.5, 0.5, d) * logc)
    ev[0], ev[-1] = np.exp(-0.5 * logc), np.exp(0.5 * logc)
    q, r = np.linalg.qr(rng.standard_normal((d, d)))
    q *= np.sign(np.diag(r))
    m = (q * (scale * ev)) @ q.T
    return 0.5 * (m + m.T)


@st.composite
def spd_matrices(
    draw: st.DrawFn,
    dim: int,
    max_cond: float = 1e3,
    scale: float = (0.1, 10.0),
) -> np.ndarray:
    """A symmetric positive-definite ``(dim, dim)`` matrix with condition number <= max_cond."""
    rng = np.random.default_rng(draw(_seeds))
    s = draw(st.floats(*scale))
    return _spd(rng, dim, max_cond, s)


@st.composite
def covariances(
    draw: st.DrawFn,
    dim: int,
    kinds: tuple[str, ...] = ("iso", "diag", "full"),
    max_cond: float = 1e3,
) -> float | np.ndarray:
    """A covariance in one of the compact forms: a scalar, a diagonal or a full matrix."""
    kind = draw(st.sampled_from(kinds))
    if kind == "iso":
        return draw(st.floats(0.05, 20.0))
    if kind == "diag":
        rng = np.random.default_rng(draw(_seeds))
        lo = draw(st.floats(0.05, 5.0))
        return lo * np.exp(rng.uniform(0, np.log(max_cond), dim))
    return draw(spd_matrices(dim, max_cond=max_cond))


@st.composite
def gaussians(
    draw: st.DrawFn,
    min_dim: int = 1,
    max_dim: int = 6,
    kinds: tuple[str, ...] = ("iso", "diag", "full"),
    max_cond: float = 1e3,
) -> Gaussian:
    """A ``Gaussian`` with dimension in [min_dim, max_dim]."""
    d = draw(st.integers(min_dim, max_dim))
    rng = np.random.default_rng(draw(_seeds))
    mean = rng.normal(0, draw(st.floats(0.0, 5.0)), d)
    return Gaussian(mean, draw(covariances(d, kinds=kinds, max_cond=max_cond)))


@st.composite
def mixtures(
    draw: st.DrawFn,
    min_dim: int = 1,
    max_dim: int = 6,
    max_components: int = 8,
    kinds: tuple[str, ...] = ("iso", "diag", "full"),
    max_cond: float = 1e2,
) -> GaussianMixture:
    """A ``GaussianMixture`` with 1..max_components components of one covariance kind."""
    d = draw(st.integers(min_dim, max_dim))
    K = draw(st.integers(1, max_components))
    kind = draw(st.sampled_from(kinds))
    rng = np.random.default_rng(draw(_seeds))
    w = rng.dirichlet(np.ones(K))
    w = np.maximum(w, 1e-3)
    w /= w.sum()
    means = rng.normal(0, draw(st.floats(0.5, 4.0)), (K, d))
    if kind == "iso":
        covs = np.exp(rng.uniform(np.log(0.05), np.log(2.0), K))
    elif kind == "diag":
        covs = np.exp(rng.uniform(np.log(0.05), np.log(2.0), (K, d)))
    else:
        covs = np.stack([_spd(rng, d, max_cond, rng.uniform(0.1, 2.0)) for _ in range(K)])
    return GaussianMixture(w, means, covs, normalize=True)


@st.composite
def near_equal_gaussian_pairs(
    draw: st.DrawFn,
    max_dim: int = 6,
    max_cond: float = 1e3,
) -> tuple[Gaussian, Gaussian]:
    """``(p, q)`` with ``q`` a perturbation of ``p`` of relative size 1e-12..1e-1 (or equal)."""
    p = draw(gaussians(max_dim=max_dim, kinds=("full",), max_cond=max_cond))
    eps = draw(st.sampled_from([0.0, 1e-12, 1e-9, 1e-6, 1e-3, 1e-1]))
    rng = np.random.default_rng(draw(_seeds))
    d = p.dim
    e = rng.standard_normal((d, d))
    C = p.cov
    C2 = C + eps * 0.5 * (e @ C + C @ e.T) / np.sqrt(d)
    C2 = 0.5 * (C2 + C2.T)
    if np.linalg.eigvalsh(C2)[0] <= 0:
        C2 = C
    m2 = p.mean + eps * rng.standard_normal(d) * np.sqrt(np.diag(C))
    return p, Gaussian(m2, C2)


@st.composite
def points(
    draw: st.DrawFn,
    dim: int,
    n: int = 8,
    scale: float = 3.0,
) -> np.ndarray:
    """``n`` points in ``dim`` dimensions."""
    rng = np.random.default_rng(draw(_seeds))
    return rng.normal(0, scale, (n, dim))
