r"""A trained network as the NumPy score callable, and its error field against the exact score.

:class:`TorchScore` wraps a :class:`~verify.torch.nets.ScoreNet` so that every NumPy
sampler, the exact-law code's callers and the Fokker-Planck solver can use it: it takes
``x`` of shape ``(n, d)`` float64 and a scalar (or per-row ``(n,)``) forward time ``t``,
evaluates the network in chunks under ``torch.no_grad()`` and returns float64 ``(n, d)``.

:meth:`TorchScore.value_and_divergence` adds the input divergence ``sum_i ds_i/dx_i`` by
automatic differentiation. The error field ``e = s_theta - grad log p_t`` and its profile
(:func:`error_field`, :func:`error_profile`) live in :mod:`verify.torch.error_profiles` and are
re-exported here. A cached network is usually evaluated without torch, by
:class:`verify.torch.numpy_net.NumpyScore` (same numbers to float32 round-off).
"""

from __future__ import annotations

import numpy as np
import torch

from verify.torch.error_profiles import error_field, error_profile  # noqa: F401 (re-export)

__all__ = ["TorchScore", "error_field", "error_profile"]  # the last two re-exported


class TorchScore:
    """``s_theta`` as a callable ``(x (n, d), t) -> (n, d)`` float64 (module docstring).

    ``model``: a :class:`ScoreNet`; ``sde``: the forward SDE it was trained for (its
    ``alpha``/``sigma2`` are evaluated in float64 and passed to the network); ``device``;
    ``chunk``: rows per forward pass; ``threads``: torch CPU threads during a call (restored
    afterwards; 1 by default, see :class:`~verify.torch.train.TrainConfig`).
    """

    def __init__(self, model, sde, device: str = "cpu", chunk: int = 65536, threads: int = 1):
        self.model = model.to(device).eval()
        self.sde = sde
        self.device = device
        self.chunk = int(chunk)
        self.dim = int(model.dim)
        self.threads = int(threads)

    def __call__(self, x, t) -> np.ndarray:
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
        a = np.asarray(self.sde.alpha(t), dtype=np.float64)[:, None]
        s2 = np.asarray(self.sde.sigma2(t), dtype=np.float64)[:, None]
        out = np.empty_like(x)
        old = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            self._forward(x, a, s2, out)
        finally:
            torch.set_num_threads(old)
        return out

    def divergence(self, x, t) -> np.ndarray:
        """``div_x s_theta(x, t) = sum_i d s_i / d x_i`` by automatic differentiation (float32
        network, float64 result), ``(n,)``; in 1-D the derivative ``ds/dx`` (the divergence of
        the probability-flow drift needs it: docs/claims/learned.md#stochasticity-tradeoff)."""
        return self.value_and_divergence(x, t)[1]

    def value_and_divergence(self, x, t) -> tuple[np.ndarray, np.ndarray]:
        """``(s_theta(x, t) (n, d), div_x s_theta(x, t) (n,))`` from one forward pass."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != self.dim:
            raise ValueError(f"x must have shape (n, {self.dim}), got {x.shape}")
        t = np.full(x.shape[0], float(t)) if np.ndim(t) == 0 else np.asarray(t, np.float64)
        a = np.asarray(self.sde.alpha(t), dtype=np.float64)[:, None]
        s2 = np.asarray(self.sde.sigma2(t), dtype=np.float64)[:, None]
        out = np.empty(x.shape[0])
        val = np.empty_like(x)
        old = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            for lo in range(0, x.shape[0], self.chunk):
                sl = slice(lo, lo + self.chunk)
                xt = torch.as_tensor(x[sl], dtype=torch.float32, device=self.device)
                xt.requires_grad_(True)
                at = torch.as_tensor(a[sl], dtype=torch.float32, device=self.device)
                st = torch.as_tensor(s2[sl], dtype=torch.float32, device=self.device)
                s = self.model(xt, at, st)
                div = torch.zeros(xt.shape[0], dtype=torch.float32, device=self.device)
                for i in range(self.dim):
                    g = torch.autograd.grad(s[:, i].sum(), xt, retain_graph=i < self.dim - 1)[0]
                    div = div + g[:, i]
                out[sl] = div.detach().double().cpu().numpy()
                val[sl] = s.detach().double().cpu().numpy()
        finally:
            torch.set_num_threads(old)
        return val, out

    def _forward(self, x, a, s2, out) -> None:
        def f32(v):
            return torch.as_tensor(v, dtype=torch.float32, device=self.device)

        with torch.no_grad():
            for lo in range(0, x.shape[0], self.chunk):
                hi = lo + self.chunk
                s = self.model(f32(x[lo:hi]), f32(a[lo:hi]), f32(s2[lo:hi]))
                out[lo:hi] = s.double().cpu().numpy()
