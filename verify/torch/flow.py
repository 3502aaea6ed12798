r"""A learned start law: a Gaussian-mixture density fitted to ``p_T`` by maximum likelihood.

Paper 2 (Fassina et al., arXiv 2603.00772, v1 §3) and paper 4's auxiliary model
(Franzese et al., arXiv 2206.05173, §2) replace the classical prior by a law
``p_phi`` fitted to the noised data, minimising

    KL(p_T || p_phi) = const - E_{X ~ p_T} log p_phi(X),   X = alpha_T X_0 + sqrt(sigma2_T) Z,

with fresh noise ``Z`` in every minibatch (the "dynamic" variant of the authors' public code
for arXiv 2603.00772). The model is a small mixture density
(:class:`~verify.torch.nets.MixtureDensity`, diagonal covariances, in place of a normalizing
flow) trained with Adam on
a fixed set of ``n_train`` data points, means initialised by k-means++ seeds
(:func:`verify.theory.start_laws.kmeans_plusplus`) on one noised copy of them; it is returned as
an exact :class:`analytic.GaussianMixture`, so its log-density, score and samples are NumPy
float64 and ``KL(p_T || p_phi)`` can be computed by quadrature or Monte Carlo.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch

from analytic import GaussianMixture
from verify.theory.start_laws import kmeans_plusplus
from verify.torch.cache import (
    StartLawConfig,
    cached_start_law,
    start_stem,
    write_start_law_entry,
)
from verify.torch.nets import MixtureDensity

__all__ = ["StartLawConfig", "train_start_law"]


def train_start_law(
    sde,
    data,
    t: float | None = None,
    config: StartLawConfig | None = None,
    *,
    cache: bool = True,
    root=None,
):
    """Fit ``p_phi`` to ``p_t`` (default ``t = sde.T``) by maximum likelihood (module docstring).

    Returns ``(law, losses)``: the fitted :class:`GaussianMixture` and the training
    negative log-likelihoods (nats per point). Deterministic given ``config.seed``. The fit is
    cached as a checksummed JSON manifest (``start-<key>.json`` in
    :func:`verify.torch.cache_dir` or ``root``; :mod:`verify.torch.entries`), keyed by the
    configuration, the target, the SDE, ``t`` and the torch version; ``cache=False`` always
    trains and writes nothing; an entry that does not verify is refitted after one warning.
    """
    cfg = StartLawConfig() if config is None else config
    t = float(sde.T if t is None else t)
    if cache:
        found = cached_start_law(sde, data, t, cfg, root=root)
        if found is not None:
            return found
    law, losses = _fit_start_law(sde, data, t, cfg)
    if cache:
        stem, key_meta = start_stem(cfg, data, sde, t, root)
        try:
            write_start_law_entry(stem, key_meta, law, losses)
        except (OSError, ValueError) as exc:
            warnings.warn(f"could not cache the start law at {stem}: {exc}", stacklevel=2)
    return law, losses


def _fit_start_law(sde, data, t: float, cfg: StartLawConfig):
    rng = np.random.default_rng([cfg.seed, 2])
    x0 = data.sample(cfg.n_train, rng) if not isinstance(data, np.ndarray) else data
    x0 = np.asarray(x0, dtype=np.float64)
    a, s2 = float(sde.alpha(t)), float(sde.sigma2(t))
    dim = x0.shape[1]
    noised = a * x0 + math.sqrt(s2) * rng.standard_normal(x0.shape)
    init = noised[kmeans_plusplus(noised, cfg.n_components, rng)]
    scale = float(np.sqrt(a**2 * x0.var(axis=0).mean() + s2))
    old = torch.get_num_threads()
    torch.set_num_threads(int(cfg.threads))
    try:
        torch.manual_seed(cfg.seed)
        model = MixtureDensity(dim, cfg.n_components, init, init_std=scale / 2)
        opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
        sched = torch.optim.lr_scheduler.LambdaLR(
            opt, lambda i: 0.5 * (1 + math.cos(math.pi * min(i, cfg.n_iters) / cfg.n_iters))
        )
        losses = []
        for _ in range(cfg.n_iters):
            idx = rng.integers(0, x0.shape[0], cfg.batch)
            x = a * x0[idx] + math.sqrt(s2) * rng.standard_normal((cfg.batch, dim))
            loss = -model.log_prob(torch.as_tensor(x, dtype=torch.float32)).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
    finally:
        torch.set_num_threads(old)
    with torch.no_grad():
        w = torch.softmax(model.logits, 0).double().numpy()
        means = model.means.double().numpy()
        var = torch.exp(2 * model.log_std).double().numpy()
    w = w / w.sum()
    return GaussianMixture(w, means, var), losses
