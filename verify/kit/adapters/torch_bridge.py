r"""torch plumbing of the conformance kit: the exact denoiser as a torch callable and probing of
``torch.randn_like``.

For a Gaussian target ``N(m, Sigma)`` with ``Sigma = V diag(lam) V^T`` the EDM denoiser is
``D(x, sigma) = m + V diag(lam / (lam + sigma^2)) V^T (x - m)`` (Karras et al. 2022 §2; the
formula of ``verify.kit.conformance.gaussian_denoiser``), evaluated row by row for a per-row
``sigma`` of shape ``(n,)`` (k-diffusion passes ``sigmas[i] * s_in``), in float64 (computed by
NumPy on the tensor's memory).

Samplers that take no ``noise_sampler`` (k-diffusion ``sample_euler`` / ``sample_heun`` /
``sample_dpm_2`` with churn) draw ``torch.randn_like(x)``; :func:`randn_from` replaces
``torch.randn_like`` by the kit's noise source for the duration of one call (a context manager;
not thread-safe: it patches the ``torch`` module attribute).
"""

from __future__ import annotations

import contextlib

import numpy as np

__all__ = ["torch_denoiser", "randn_from", "single_thread", "to_numpy", "to_torch"]


def to_torch(x):
    """``x`` as a float64 CPU tensor (no copy for a float64 C-contiguous array)."""
    import torch

    if isinstance(x, torch.Tensor):
        return x.detach().to(dtype=torch.float64)
    return torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64))


def to_numpy(x) -> np.ndarray:
    """``x`` (tensor, array or number) as a float64 NumPy array."""
    if hasattr(x, "detach"):
        return x.detach().cpu().numpy().astype(np.float64, copy=False)
    return np.asarray(x, dtype=np.float64)


def torch_denoiser(data, numpy_model):
    """``model(x, sigma, **extra) -> D(x, sigma)`` on torch float64 tensors.

    ``data`` a ``Gaussian`` (closed form in its eigenbasis, per-row sigma) or anything else
    (then ``numpy_model(x, sigma)`` is called on NumPy copies, e.g. a mixture's Tweedie
    denoiser).
    """
    import torch

    from analytic import Gaussian

    if not isinstance(data, Gaussian):

        def model_np(x, sigma, **extra):
            return to_torch(numpy_model(to_numpy(x), to_numpy(sigma))).to(x.dtype)

        return model_np
    lam, V = np.linalg.eigh(np.atleast_2d(data.cov))
    m = np.asarray(data.mean, dtype=np.float64)

    def model(x, sigma, **extra):
        # NumPy on the tensors' memory: a 2 x 2 torch matmul costs milliseconds on a busy
        # machine (thread pool wake-ups); NumPy costs microseconds.
        xd = x.detach().numpy() if x.dtype == torch.float64 else to_numpy(x)
        s = to_numpy(sigma).reshape(-1)
        if s.size == 1:
            s = np.full(xd.shape[0], float(s[0]))
        if s.size != xd.shape[0]:
            raise ValueError(f"model got sigma of shape {s.shape} for {xd.shape[0]} rows")
        fac = lam / (lam + s[:, None] ** 2)
        out = m + (((xd - m) @ V) * fac) @ V.T
        return torch.from_numpy(out).to(x.dtype)

    return model


@contextlib.contextmanager
def randn_from(source):
    """Within the block, ``torch.randn_like(x)`` returns ``source.draw(x.shape)`` as a tensor."""
    import torch

    real = torch.randn_like

    def fake(x, *args, **kwargs):
        dtype = kwargs.get("dtype") or x.dtype
        return torch.from_numpy(source.draw(tuple(x.shape))).to(dtype)

    torch.randn_like = fake
    try:
        yield
    finally:
        torch.randn_like = real


@contextlib.contextmanager
def single_thread():
    """Within the block torch uses one intra-op thread (tiny tensors: thread hand-offs cost
    more than the arithmetic)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(n)
