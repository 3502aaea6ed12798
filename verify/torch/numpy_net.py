r"""A trained :class:`~verify.torch.nets.ScoreNet` evaluated in NumPy (float64), without torch.

The claims evaluate cached networks thousands of times on small batches; this module does it
from the saved weights (``<checkpoint>.npz``), so a run with every model cached never imports
torch. The forward pass is the one of :class:`~verify.torch.nets.ScoreNet` (docs in
``verify/torch/nets.py``): for ``x`` ``(n, d)`` and marginal coefficients ``alpha_t``,
``sigma2_t``, ``sigma = sqrt(sigma2_t) / alpha_t`` and ``c_noise = log(sigma) / 4``,

* ``"eps"``: ``s = -F(c_in x, c_noise) / sqrt(sigma2_t)``,
  ``c_in = 1 / sqrt(alpha_t^2 sd^2 + sigma2_t)``;
* ``"edm"``: with ``y = x / alpha_t`` and ``D = sigma^2 + sd^2``,
  ``s = (-y / D + F(y / sqrt D, c_noise) sd / (sigma sqrt D)) / alpha_t``,

``F`` the MLP (``Linear``, ``SiLU``)* ``Linear`` on ``[x_in, c, sin(2 pi f c), cos(2 pi f c)]``.
The MLP runs in float32, as the torch model does (the preconditioning around it in float64),
so outputs agree with the torch model to float32 round-off (tested).
:meth:`NumpyScoreNet.value_and_divergence` adds the exact input divergence ``sum_i ds_i/dx_i``
by forward-mode differentiation of the MLP
(``SiLU'(h) = sigma(h) (1 + h (1 - sigma(h)))``), the quantity the probability-flow
characteristics need (docs/claims/learned.md#stochasticity-tradeoff).
"""

from __future__ import annotations

import numpy as np

__all__ = ["NumpyScoreNet", "NumpyScore"]


class NumpyScoreNet:
    """The score MLP from its weights: ``weights`` maps the torch ``state_dict`` names
    (``embed.freqs``, ``mlp.<k>.weight``, ``mlp.<k>.bias``) to arrays; ``net`` the constructor
    arguments (``dim``, ``precond``, ``sigma_data``, ...)."""

    def __init__(self, weights: dict, net: dict):
        self.dim = int(net["dim"])
        self.precond = str(net["precond"])
        self.sigma_data = float(net["sigma_data"])
        if self.precond not in ("eps", "edm"):
            raise ValueError(f"unknown precond {self.precond!r}")
        self.freqs = np.asarray(weights["embed.freqs"], dtype=np.float32)
        idx = sorted({int(k.split(".")[1]) for k in weights if k.startswith("mlp.")})
        self.layers = [
            (
                np.ascontiguousarray(np.asarray(weights[f"mlp.{i}.weight"], np.float32).T),
                np.asarray(weights[f"mlp.{i}.bias"], dtype=np.float32),
            )
            for i in idx
        ]

    def _features(self, x_in, c):
        x_in, c = x_in.astype(np.float32), c.astype(np.float32)
        arg = np.float32(2 * np.pi) * c * self.freqs[None, :]
        return np.concatenate([x_in, c, np.sin(arg), np.cos(arg)], axis=1)

    def _mlp(self, z, tangents=None):
        """``F(z)`` and, given tangents ``dz`` (list of ``(n, width)``), ``dF`` for each."""
        *hidden, (W_out, b_out) = self.layers
        for W, b in hidden:
            h = z @ W
            h += b
            with np.errstate(over="ignore"):  # e^-h = inf gives the right sigmoid 0
                sg = np.exp(-h)  # sigmoid(h) = 1 / (1 + e^-h), in place (float32)
            sg += 1.0
            np.reciprocal(sg, out=sg)
            z = h * sg
            if tangents is not None:
                slope = 1.0 - sg  # SiLU'(h) = sg (1 + h (1 - sg))
                slope *= h
                slope += 1.0
                slope *= sg
                tangents = [(dz @ W) * slope for dz in tangents]
        out = z @ W_out + b_out
        if tangents is not None:
            tangents = [dz @ W_out for dz in tangents]
        return out, tangents

    def _coefficients(self, alpha, sigma2):
        sigma = np.sqrt(sigma2) / alpha
        return sigma, np.log(sigma) / 4.0

    def __call__(self, x, alpha, sigma2):
        """The score at ``x`` ``(n, d)`` for ``alpha``, ``sigma2`` ``(n, 1)``."""
        return self.value_and_divergence(x, alpha, sigma2, divergence=False)[0]

    def value_and_divergence(self, x, alpha, sigma2, divergence: bool = True):
        """``(s (n, d), div_x s (n,))`` (the divergence is ``None`` if not requested)."""
        x = np.asarray(x, dtype=np.float64)
        alpha = np.asarray(alpha, dtype=np.float64).reshape(-1, 1)
        sigma2 = np.asarray(sigma2, dtype=np.float64).reshape(-1, 1)
        sigma, c = self._coefficients(alpha, sigma2)
        sd = self.sigma_data
        d = self.dim
        if self.precond == "eps":
            scale_in = 1.0 / np.sqrt(alpha**2 * sd * sd + sigma2)
            z = self._features(scale_in * x, c)
        else:
            y = x / alpha
            denom = sigma**2 + sd * sd
            scale_in = 1.0 / (alpha * np.sqrt(denom))  # d(x_in)/dx
            z = self._features(y / np.sqrt(denom), c)
        tangents = None
        if divergence:
            tangents = []
            for i in range(d):
                dz = np.zeros_like(z)
                dz[:, i] = scale_in[:, 0]
                tangents.append(dz)
        F, dF = self._mlp(z, tangents)
        F = F.astype(np.float64)
        dF = None if dF is None else [v.astype(np.float64) for v in dF]
        if self.precond == "eps":
            s = -F / np.sqrt(sigma2)
            div = (
                None if dF is None else -sum(dF[i][:, i] for i in range(d)) / np.sqrt(sigma2[:, 0])
            )
        else:
            k = sd / (sigma * np.sqrt(denom))
            s = (-y / denom + F * k) / alpha
            if dF is None:
                div = None
            else:
                lin = -d / (denom[:, 0] * alpha[:, 0] ** 2)
                div = lin + sum(dF[i][:, i] for i in range(d)) * (k / alpha)[:, 0]
        return s, div


class NumpyScore:
    """``s_theta`` as a callable ``(x (n, d), t) -> (n, d)`` float64, like
    :class:`verify.torch.TorchScore`, from a :class:`NumpyScoreNet` and its forward SDE
    (``alpha``/``sigma2`` at ``t``); ``t`` a scalar or per-row ``(n,)`` in ``(0, T]``."""

    def __init__(self, net: NumpyScoreNet, sde, info: dict | None = None):
        self.net, self.sde = net, sde
        self.dim = net.dim
        self.train_info = dict(info or {})

    def _coeffs(self, x, t):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got {x.shape}")
        t = np.asarray(t, dtype=np.float64)
        if t.ndim == 0:
            t = np.full(x.shape[0], float(t))
        if t.shape != (x.shape[0],):
            raise ValueError(f"t must be a scalar or shape ({x.shape[0]},), got {t.shape}")
        if np.any(t <= 0) or np.any(t > self.sde.T * (1 + 1e-12)):
            raise ValueError(f"t must lie in (0, T = {self.sde.T:g}]; got {t.min():g}..{t.max():g}")
        a = np.asarray(self.sde.alpha(t), dtype=np.float64).reshape(-1, 1)
        s2 = np.asarray(self.sde.sigma2(t), dtype=np.float64).reshape(-1, 1)
        return x, a, s2

    def __call__(self, x, t) -> np.ndarray:
        x, a, s2 = self._coeffs(x, t)
        return self.net.value_and_divergence(x, a, s2, divergence=False)[0]

    def value_and_divergence(self, x, t) -> tuple[np.ndarray, np.ndarray]:
        """``(s_theta(x, t) (n, d), div_x s_theta(x, t) (n,))``."""
        x, a, s2 = self._coeffs(x, t)
        return self.net.value_and_divergence(x, a, s2)

    def divergence(self, x, t) -> np.ndarray:
        """``div_x s_theta(x, t)``; in 1-D the derivative ``ds/dx``."""
        return self.value_and_divergence(x, t)[1]
