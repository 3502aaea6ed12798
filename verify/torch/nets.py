r"""Networks: a score MLP with time embedding, and a Gaussian-mixture density model.

:class:`ScoreNet` maps ``(x, alpha_t, sigma2_t)`` to the score ``s_theta(x, t)`` of the
marginal ``p_t`` of a linear forward SDE ``X_t = alpha_t X_0 + sqrt(sigma2_t) Z``. It never
needs the SDE itself: callers pass ``alpha_t`` and ``sigma2_t`` (shape ``(n, 1)``). The noise
level fed to the time embedding is the VE-equivalent ``sigma = sqrt(sigma2_t) / alpha_t``
(``c_noise = log(sigma) / 4``, Karras et al. 2022, Table 1), embedded by Fourier features.
Two parameterisations (``precond``):

* ``"eps"`` (Ho et al. 2020; Song et al. 2021, §3.3): ``s = -F(c_in x, c_noise) / sqrt(sigma2_t)``
  with ``c_in = 1 / sqrt(alpha_t^2 sigma_data^2 + sigma2_t)``; ``F`` predicts the noise ``Z``.
* ``"edm"`` (Karras et al. 2022, §5 and Table 1): in the scaled variable ``y = x / alpha_t``
  the denoiser is ``D(y, sigma) = c_skip y + c_out F(c_in y, c_noise)`` with
  ``c_skip = sd^2/(sigma^2+sd^2)``, ``c_out = sigma sd / sqrt(sigma^2+sd^2)``,
  ``c_in = 1/sqrt(sigma^2+sd^2)``, and by Tweedie's formula
  ``s(x, t) = (alpha_t D(x/alpha_t, sigma) - x) / sigma2_t
  = (-y / (sigma^2 + sd^2) + sd F / (sigma sqrt(sigma^2 + sd^2))) / alpha_t`` (the second form
  avoids the float32 cancellation in ``D - y`` at small ``sigma``).

:class:`MixtureDensity` is a K-component Gaussian mixture with diagonal covariances whose
parameters are trained by maximum likelihood (the learned start law of arXiv 2603.00772 §3).
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["ScoreNet", "MixtureDensity", "PRECONDS"]

PRECONDS = ("eps", "edm")


class _FourierEmbedding(nn.Module):
    """``[c, sin(2 pi f_j c), cos(2 pi f_j c)]`` for fixed frequencies ``f_j = 2^j / 4``."""

    def __init__(self, n_freq: int):
        super().__init__()
        self.register_buffer("freqs", 2.0 ** torch.arange(n_freq, dtype=torch.float32) / 4.0)

    @property
    def width(self) -> int:
        return 1 + 2 * self.freqs.numel()

    def forward(self, c: torch.Tensor) -> torch.Tensor:
        arg = 2 * math.pi * c * self.freqs
        return torch.cat([c, torch.sin(arg), torch.cos(arg)], dim=-1)


class ScoreNet(nn.Module):
    """Score MLP ``s_theta(x, t)`` for ``dim``-dimensional data (module docstring).

    ``hidden`` units in each of ``depth`` SiLU layers; ``n_freq`` Fourier frequencies of the
    time embedding; ``precond`` in :data:`PRECONDS`; ``sigma_data`` the data scale used by
    the preconditioning (about the data's standard deviation).
    """

    def __init__(
        self,
        dim: int,
        hidden: int = 64,
        depth: int = 3,
        n_freq: int = 6,
        precond: str = "eps",
        sigma_data: float = 1.0,
    ):
        super().__init__()
        if precond not in PRECONDS:
            raise ValueError(f"precond must be one of {PRECONDS}, got {precond!r}")
        if dim < 1 or hidden < 1 or depth < 1:
            raise ValueError(f"dim, hidden and depth must be >= 1, got {dim}, {hidden}, {depth}")
        if not sigma_data > 0:
            raise ValueError(f"sigma_data must be positive, got {sigma_data!r}")
        self.dim, self.precond, self.sigma_data = int(dim), precond, float(sigma_data)
        self.embed = _FourierEmbedding(n_freq)
        layers: list[nn.Module] = []
        width = dim + self.embed.width
        for _ in range(depth):
            layers += [nn.Linear(width, hidden), nn.SiLU()]
            width = hidden
        layers.append(nn.Linear(width, dim))
        self.mlp = nn.Sequential(*layers)

    def raw(self, x_in: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        """The unpreconditioned network ``F(x_in, c_noise)``."""
        return self.mlp(torch.cat([x_in, self.embed(c_noise)], dim=-1))

    def forward(self, x: torch.Tensor, alpha: torch.Tensor, sigma2: torch.Tensor) -> torch.Tensor:
        """The score at ``x`` (n, d) for marginal coefficients ``alpha``, ``sigma2`` (n, 1)."""
        return self.parts(x, alpha, sigma2)[0]

    def parts(self, x, alpha, sigma2):
        """``(score, F, c_noise-dependent coefficients)`` used by the training losses.

        ``"eps"``: returns ``(s, F, None)``; ``"edm"``: ``(s, F, (y, sigma, c_skip, c_out))``.
        """
        sigma = torch.sqrt(sigma2) / alpha
        c_noise = torch.log(sigma) / 4.0
        sd2 = self.sigma_data**2
        if self.precond == "eps":
            c_in = 1.0 / torch.sqrt(alpha**2 * sd2 + sigma2)
            F = self.raw(c_in * x, c_noise)
            return -F / torch.sqrt(sigma2), F, None
        y = x / alpha
        denom = sigma**2 + sd2
        c_skip = sd2 / denom
        c_out = sigma * self.sigma_data / torch.sqrt(denom)
        F = self.raw(y / torch.sqrt(denom), c_noise)
        # s = (alpha D - x) / sigma2 with D - y = -sigma^2 y / denom + c_out F, written
        # without the cancellation of D - y in float32 at small sigma:
        s = (-y / denom + F * (self.sigma_data / (sigma * torch.sqrt(denom)))) / alpha
        return s, F, (y, sigma, c_skip, c_out)


class MixtureDensity(nn.Module):
    """``sum_k w_k N(mu_k, diag(exp(2 log_std_k)))`` with trainable logits, means, log-stds."""

    def __init__(self, dim: int, n_components: int, init_means=None, init_std: float = 1.0):
        super().__init__()
        if dim < 1 or n_components < 1:
            raise ValueError(f"dim and n_components must be >= 1, got {dim}, {n_components}")
        self.logits = nn.Parameter(torch.zeros(n_components))
        means = (
            torch.zeros(n_components, dim)
            if init_means is None
            else torch.as_tensor(init_means, dtype=torch.float32).reshape(n_components, dim)
        )
        self.means = nn.Parameter(means.clone())
        self.log_std = nn.Parameter(torch.full((n_components, dim), math.log(init_std)))

    def log_prob(self, x: torch.Tensor) -> torch.Tensor:
        """``log p(x)`` for ``x`` (n, d) by a log-sum-exp over components."""
        z = (x[:, None, :] - self.means[None]) / torch.exp(self.log_std)[None]
        comp = (
            -0.5 * (z**2).sum(-1)
            - self.log_std.sum(-1)[None]
            - 0.5 * x.shape[1] * math.log(2 * math.pi)
        )
        return torch.logsumexp(comp + torch.log_softmax(self.logits, 0)[None], dim=1)
