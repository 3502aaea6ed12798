r"""Synthetic score-error models fitted to a learned score's error field.

For a score model ``s_theta`` (a trained network, or any callable ``(x (n, d), t) -> (n, d)``)
and the exact score ``s = grad log p_t`` of the toolkit's target, the error is
``e = s_theta - s``. :class:`FittedAffineError` replaces it by the closest error of the
affine family of arXiv 2506.11378 §3's analysis (a scale and an offset error),

    s_tilde(x, t) = (1 + a(t)) s(x, t) + b(t),

with ``(a(t), b(t))`` the weighted least-squares fit of ``e`` on the regressors ``[s, 1]``
under ``p_t``:

    (a, b) = argmin int p_t(x) |e(x, t) - a s(x, t) - b|^2 dx,

by quadrature on ``n_points`` (default 801) points over ``mean(p_t) +- 8 sd(p_t)`` (1-D
targets). ``kind="scale"``
fits ``a`` alone (``b = 0``: ``a = <w e s> / <w s s>``), ``kind="offset"`` ``b`` alone
(``a = 0``: ``b = <w e> / <w>``). The model is a :class:`verify.errors.ScoreError` with
``affine_parts(t, dim) = (1 + a(t), 0, b(t))``, so for Gaussian data the exact chain laws of
``verify.solvers.chain_laws`` apply to it.
"""

from __future__ import annotations

import numpy as np

from verify.errors import ScoreError

__all__ = ["FittedAffineError", "AffineResidual", "FIT_KINDS"]

FIT_KINDS = ("affine", "scale", "offset")


class FittedAffineError(ScoreError):
    """``s_tilde = (1 + a(t)) s + b(t)`` fitted to ``model - s`` under ``p_t`` (module doc).

    Parameters
    ----------
    model : callable ``(x (n, 1), t) -> (n, 1)``, the score whose error is fitted.
    sde : the forward SDE (``marginal`` and ``score`` of ``data`` are used).
    data : the 1-D target (``Gaussian`` or ``GaussianMixture``).
    kind : ``"affine"`` (both coefficients), ``"scale"`` or ``"offset"``.
    moments : optional dict shared by fits of the same ``model`` (see :meth:`weighted_error`).
    n_points : quadrature points of the fit (default 801).
    """

    def __init__(self, model, sde, data, kind: str = "affine", *, moments=None, n_points=801):
        if kind not in FIT_KINDS:
            raise ValueError(f"kind must be one of {FIT_KINDS}, got {kind!r}")
        if not callable(model):
            raise TypeError("model must be a callable (x, t) -> (n, 1)")
        if getattr(data, "dim", 1) != 1:
            raise ValueError("FittedAffineError fits 1-D targets only")
        super().__init__(sde.score(data))
        self.model, self.sde_model, self.data, self.kind = model, sde, data, kind
        self.coef: dict[float, tuple[float, float]] = {}
        self.moments = {} if moments is None else moments
        if int(n_points) < 3:
            raise ValueError(f"n_points must be >= 3, got {n_points!r}")
        self.n_points = int(n_points)

    @property
    def exact(self):
        """The exact score ``grad log p_t`` the error is measured against."""
        return self.score

    def parts(self, t) -> tuple[float, float]:
        """``(a(t), b(t))``, fitted on first use at each ``t`` and cached."""
        t = float(t)
        if t not in self.coef:
            w, s, e = self.weighted_error(t)
            if self.kind == "scale":
                a, b = float(np.sum(w * e * s) / np.sum(w * s * s)), 0.0
            elif self.kind == "offset":
                a, b = 0.0, float(np.sum(w * e) / np.sum(w))
            else:  # weighted normal equations of the regressors [s, 1] (2 x 2, solved exactly)
                sw, ss, s1 = np.sum(w), np.sum(w * s * s), np.sum(w * s)
                es, e1 = np.sum(w * e * s), np.sum(w * e)
                det = ss * sw - s1 * s1
                a, b = (es * sw - s1 * e1) / det, (ss * e1 - s1 * es) / det
            self.coef[t] = (float(a), float(b))
        return self.coef[t]

    def weighted_error(self, t: float):
        """``(w, s, e)`` on the fit points at ``t``: the density ``p_t``, the exact score
        and the error ``model - s``; cached in ``moments`` (a dict that several fits of the
        same model may share, so the model is evaluated once per time)."""
        t = float(t)
        if t not in self.moments:
            pt = self.sde_model.marginal(self.data, t)
            m, sd = float(pt.mean[0]), float(np.sqrt(pt.cov[0, 0]))
            x = np.linspace(m - 8 * sd, m + 8 * sd, self.n_points)[:, None]
            s = self.score(x, t)[:, 0]
            self.moments[t] = (np.exp(pt.log_prob(x)), s, self.model(x, t)[:, 0] - s)
        return self.moments[t]

    def __call__(self, x, t):
        a, b = self.parts(t)
        return (1 + a) * self.score(np.asarray(x, dtype=np.float64), t) + b

    def derivative(self, score_dx):
        """``(x, t) -> d s_tilde/dx = (1 + a(t)) ds/dx`` given the exact score's derivative."""

        def dx(x, t):
            a, _ = self.parts(t)
            return (1.0 + a) * np.asarray(score_dx(x, t), dtype=np.float64)

        return dx

    def error(self, x, t):
        a, b = self.parts(t)
        return a * self.score(np.asarray(x, dtype=np.float64), t) + b

    def affine_parts(self, t, dim: int):
        if dim != 1:
            raise ValueError("FittedAffineError is 1-D")
        a, b = self.parts(t)
        return 1.0 + a, 0.0, np.array([b])


class AffineResidual(ScoreError):
    r"""The non-affine part of a model's error: ``s_res = s + (e - a(t) s - b(t))``.

    ``e = model - s`` is split as ``e = (a s + b) + r`` by a :class:`FittedAffineError`
    ``fit`` (kind ``"affine"``); this score keeps only the residual ``r``, so
    ``s_res = model - a s - b``. With ``model_dx`` and ``score_dx`` the derivatives of the
    model and of the exact score, :meth:`derivative` is ``model' - a s'``.
    """

    def __init__(self, fit: FittedAffineError):
        if not isinstance(fit, FittedAffineError) or fit.kind != "affine":
            raise TypeError("fit must be a FittedAffineError of kind 'affine'")
        super().__init__(fit.score)
        self.fit = fit

    def error(self, x, t):
        x = np.asarray(x, dtype=np.float64)
        a, b = self.fit.parts(t)
        s = self.score(x, t)
        return self.fit.model(x, t) - s - a * s - b

    def __call__(self, x, t):
        x = np.asarray(x, dtype=np.float64)
        a, b = self.fit.parts(t)
        return self.fit.model(x, t) - a * self.score(x, t) - b

    def value_and_derivative(self, model_vd, score_dx):
        """``(x, t) -> (s_res (n, 1), s_res' (n,))`` from one call of ``model_vd(x, t) ->
        (model, model')`` (e.g. ``TorchScore.value_and_divergence``)."""

        def vd(x, t):
            x = np.asarray(x, dtype=np.float64)
            a, b = self.fit.parts(t)
            v, dv = model_vd(x, t)
            s, ds = self.score(x, t), np.asarray(score_dx(x, t), dtype=np.float64)
            return np.asarray(v) - a * s - b, np.asarray(dv) - a * ds

        return vd

    def derivative(self, model_dx, score_dx):
        """``(x, t) -> model'(x, t) - a(t) s'(x, t)``."""

        def dx(x, t):
            a, _ = self.fit.parts(t)
            return np.asarray(model_dx(x, t), dtype=np.float64) - a * np.asarray(
                score_dx(x, t), dtype=np.float64
            )

        return dx
