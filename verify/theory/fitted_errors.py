r"""Synthetic score-error models fitted to a learned score's error field.

For a score model ``s_theta`` (a trained network, or any callable ``(x (n, d), t) -> (n, d)``)
and the exact score ``s = grad log p_t`` of the toolkit's target, the error is
``e = s_theta - s``. :class:`FittedAffineError` replaces it by the closest error of the
affine family of arXiv 2506.11378 §3's analysis (a scale and an offset error),

    s_tilde(x, t) = (1 + a(t)) s(x, t) + b(t),

with ``(a(t), b(t))`` the weighted least-squares fit of ``e`` on the regressors ``[s, 1]``
under ``p_t``:

    (a, b) = argmin int p_t(x) |e(x, t) - a s(x, t) - b|^2 dx,

by quadrature on 801 points over ``mean(p_t) +- 8 sd(p_t)`` (1-D targets). ``kind="scale"``
fits ``a`` alone (``b = 0``: ``a = <w e s> / <w s s>``), ``kind="offset"`` ``b`` alone
(``a = 0``: ``b = <w e> / <w>``). The model is a :class:`verify.errors.ScoreError` with
``affine_parts(t, dim) = (1 + a(t), 0, b(t))``, so for Gaussian data the exact chain laws of
``verify.solvers.chain_laws`` apply to it.
"""

from __future__ import annotations

import numpy as np

from verify.errors import ScoreError

__all__ = ["FittedAffineError", "FIT_KINDS"]

FIT_KINDS = ("affine", "scale", "offset")


class FittedAffineError(ScoreError):
    """``s_tilde = (1 + a(t)) s + b(t)`` fitted to ``model - s`` under ``p_t`` (module doc).

    Parameters
    ----------
    model : callable ``(x (n, 1), t) -> (n, 1)``, the score whose error is fitted.
    sde : the forward SDE (``marginal`` and ``score`` of ``data`` are used).
    data : the 1-D target (``Gaussian`` or ``GaussianMixture``).
    kind : ``"affine"`` (both coefficients), ``"scale"`` or ``"offset"``.
    """

    def __init__(self, model, sde, data, kind: str = "affine"):
        if kind not in FIT_KINDS:
            raise ValueError(f"kind must be one of {FIT_KINDS}, got {kind!r}")
        if not callable(model):
            raise TypeError("model must be a callable (x, t) -> (n, 1)")
        if getattr(data, "dim", 1) != 1:
            raise ValueError("FittedAffineError fits 1-D targets only")
        super().__init__(sde.score(data))
        self.model, self.sde_model, self.data, self.kind = model, sde, data, kind
        self.coef: dict[float, tuple[float, float]] = {}

    @property
    def exact(self):
        """The exact score ``grad log p_t`` the error is measured against."""
        return self.score

    def parts(self, t) -> tuple[float, float]:
        """``(a(t), b(t))``, fitted on first use at each ``t`` and cached."""
        t = float(t)
        if t not in self.coef:
            pt = self.sde_model.marginal(self.data, t)
            m, sd = float(pt.mean[0]), float(np.sqrt(pt.cov[0, 0]))
            x = np.linspace(m - 8 * sd, m + 8 * sd, 801)[:, None]
            w = np.exp(pt.log_prob(x))
            s = self.score(x, t)[:, 0]
            e = self.model(x, t)[:, 0] - s
            if self.kind == "scale":
                a, b = float(np.sum(w * e * s) / np.sum(w * s * s)), 0.0
            elif self.kind == "offset":
                a, b = 0.0, float(np.sum(w * e) / np.sum(w))
            else:
                X = np.stack([s, np.ones_like(s)], axis=1) * np.sqrt(w)[:, None]
                a, b = np.linalg.lstsq(X, e * np.sqrt(w), rcond=None)[0]
            self.coef[t] = (float(a), float(b))
        return self.coef[t]

    def __call__(self, x, t):
        a, b = self.parts(t)
        return (1 + a) * self.score(np.asarray(x, dtype=np.float64), t) + b

    def error(self, x, t):
        a, b = self.parts(t)
        return a * self.score(np.asarray(x, dtype=np.float64), t) + b

    def affine_parts(self, t, dim: int):
        if dim != 1:
            raise ValueError("FittedAffineError is 1-D")
        a, b = self.parts(t)
        return 1.0 + a, 0.0, np.array([b])
