"""The reverse family of a linear forward SDE, validated once.

For the forward SDE ``dX = f(t) X dt + g(t) dW`` with marginals ``p_t`` and a score model
``s(x, t) ~ grad log p_t(x)``, the reverse family with stochasticity ``gamma(t) >= 0`` runs
in reverse time ``tau = T - t`` (Song et al. 2021, §4 and App. D; arXiv 2506.11378, §2):

    dY = [ -f(t) Y + (1 + gamma(t))/2 g2(t) s(Y, t) ] dtau + sqrt(gamma(t) g2(t)) dW.

``gamma = 0`` is the probability-flow ODE, ``gamma = 1`` the reverse SDE (Anderson 1982).
Its law ``q`` solves the Fokker-Planck equation ``dq/dtau = -div(b q) + D lap q`` with the
drift ``b`` above and diffusion ``D = gamma g2 / 2``. With the exact score and ``Y_0 ~ p_T``
every member has the marginals ``p_{T - tau}`` (docs/theory.md, "The reverse family").

``ReverseFamily`` is the one place that knows this drift and validates ``gamma``: the
particle samplers, the exact chain laws, the Fokker-Planck solver and the common-noise SPDE
sampler all read ``gamma_at``, ``drift_coefficients`` and ``drift`` from it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from numbers import Real
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import ArrayLike

    from analytic import LinearSDE

    from .types import Gamma

__all__ = ["ReverseFamily", "validate_gamma"]


def validate_gamma(gamma: Gamma) -> Gamma:
    """``gamma`` as given if it is a finite number ``>= 0`` or a callable; else ``ValueError``.

    Numbers are returned as ``float``. Strings, booleans, arrays and ``None`` are rejected
    (``TypeError``): ``gamma="1"`` is a mistake, not a number.
    """
    if callable(gamma):
        return gamma
    if isinstance(gamma, bool) or not isinstance(gamma, Real):
        raise TypeError(
            f"gamma must be a number >= 0 or a callable of forward time t, got {gamma!r} "
            f"({type(gamma).__name__})"
        )
    g = float(gamma)
    if not (math.isfinite(g) and g >= 0.0):
        raise ValueError(f"gamma must be finite and >= 0, got {gamma!r}")
    return g


class ReverseFamily:
    """The reverse family ``(sde, score, gamma)`` (module docstring).

    Parameters
    ----------
    sde : a linear forward SDE from ``analytic``.
    score : callable ``(x (n, d), t) -> (n, d)``, or ``None`` when only the coefficients are
        needed (exact laws, which use the score's affine parts instead).
    gamma : number ``>= 0`` or callable of forward time ``t``.
    """

    def __init__(self, sde: LinearSDE, score: Callable | None = None, gamma: Gamma = 1.0) -> None:
        self.sde = sde
        self.score = score
        self.gamma = validate_gamma(gamma)

    @property
    def constant_gamma(self) -> bool:
        """True when ``gamma`` is a number (not a function of time)."""
        return not callable(self.gamma)

    def gamma_at(self, t: ArrayLike) -> np.ndarray:
        """``gamma(t)`` at the forward times ``t`` (an array of their shape), validated.

        A callable is evaluated point by point; a value that is not finite and ``>= 0``
        raises ``ValueError`` naming the time.
        """
        t = np.asarray(t, dtype=np.float64)
        if not callable(self.gamma):
            return np.full(t.shape, self.gamma)
        flat = t.reshape(-1)
        vals = np.empty(flat.shape)
        for i, ti in enumerate(flat):
            v = self.gamma(float(ti))
            if isinstance(v, bool) or not isinstance(v, Real | np.floating | np.integer):
                raise TypeError(f"gamma(t={ti:g}) returned {v!r}, not a number")
            vals[i] = float(v)
            if not (math.isfinite(vals[i]) and vals[i] >= 0.0):
                raise ValueError(f"gamma must be finite and >= 0; gamma(t={ti:g}) = {v!r}")
        return vals.reshape(t.shape)

    def drift_coefficients(
        self, t: ArrayLike
    ) -> tuple[float | np.ndarray, float | np.ndarray, float | np.ndarray]:
        """``(f(t), w(t), D(t))`` with drift ``-f y + w s(y, t)`` and diffusion ``D lap``:

        ``w = (1 + gamma)/2 g2``, ``D = gamma g2 / 2`` (the noise variance rate is ``2 D``).
        Vectorised over ``t``.
        """
        t = np.asarray(t, dtype=np.float64)
        g = self.gamma_at(t)
        f = np.asarray(self.sde.f(t), dtype=np.float64) * np.ones_like(t)
        g2 = np.asarray(self.sde.g2(t), dtype=np.float64) * np.ones_like(t)
        return f[()], (0.5 * (1.0 + g) * g2)[()], (0.5 * g * g2)[()]

    def drift(self, y: np.ndarray, t: float) -> np.ndarray:
        """``b(y, t) = -f(t) y + (1 + gamma(t))/2 g2(t) s(y, t)`` for rows of ``y``."""
        if self.score is None:
            raise ValueError("this ReverseFamily has no score; pass score= to evaluate the drift")
        f, w, _ = self.drift_coefficients(float(t))
        return w * np.asarray(self.score(y, float(t)), dtype=np.float64) - f * y

    def diffusion(self, t: ArrayLike) -> np.ndarray:
        """``sqrt(gamma(t) g2(t))``, the coefficient of ``dW``."""
        _, _, D = self.drift_coefficients(t)
        return np.sqrt(2.0 * np.asarray(D))[()]

    def __repr__(self) -> str:
        g = self.gamma if self.constant_gamma else getattr(self.gamma, "__name__", "callable")
        return f"ReverseFamily({self.sde!r}, gamma={g})"
