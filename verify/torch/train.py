r"""Denoising score matching for :class:`~verify.torch.nets.ScoreNet`, with cached checkpoints.

Loss (Vincent 2011; Song et al. 2021, eq. 7): for ``t ~ U(t_min, T)`` (or uniform in
``log sigma(t)``, ``t_sampling="log-sigma"``), ``x_0`` from the training set and
``x_t = alpha_t x_0 + sqrt(sigma2_t) z``,

    L(theta) = E lambda(t) | s_theta(x_t, t) + z / sqrt(sigma2_t) |^2 ,

whose minimiser is the exact score ``grad log p_t`` (of the empirical training law). The
weights (``weighting``):

* ``"default"``: ``lambda = sigma2_t`` for ``precond="eps"`` (the epsilon loss
  ``|F - z|^2`` of Ho et al. 2020) and ``lambda = sigma2_t^2 / (alpha_t^2 c_out^2)`` for
  ``precond="edm"`` (Karras et al. 2022 eq. 8: ``|D - x_0|^2 / c_out^2``);
* ``"likelihood"``: ``lambda = g2(t) / mean g2`` (Song, Durkan, Murray, Ermon 2021, Thm 1:
  the weight that makes the loss the score term of the KL bound of arXiv 2206.05173 §2).

Training is deterministic given ``config.seed``: the initial weights come from
``torch.manual_seed(seed)`` and every batch (indices into the training set, times, noise)
from ``numpy.random.default_rng(seed)``; on CPU with a fixed thread count the result is
bit-reproducible.

Checkpoints are a ``state_dict`` (``.pt``), the same weights as NumPy arrays (``.npz``) and a
JSON manifest of the model's constructor arguments, the training configuration, a description
of the target and the checksums of all of it (:mod:`verify.torch.entries`). :func:`train_score`
keys its cache by a SHA-256 of (configuration, target, SDE fingerprint, torch version) and
loads a cached model from the verified ``.npz`` (never unpickling anything); the cache
directory is ``$DIFFUSION_VERIFY_CACHE`` or ``~/.cache/diffusion-verify``. A missing entry is
trained; one that does not verify is ignored with one warning naming the file and retrained,
never an error.
"""

from __future__ import annotations

import io
import math
import pickle
import time
import warnings
from pathlib import Path

import numpy as np
import torch

from verify.torch.cache import (
    TrainConfig,
    cache_dir,
    describe_sde,
    describe_target,
    read_score_entry,
    score_key,
    write_score_entry,
)
from verify.torch.entries import CacheEntryError, read_entry, read_payload, warn_ignored
from verify.torch.nets import ScoreNet

__all__ = [
    "TrainConfig",
    "train_score",
    "save_checkpoint",
    "load_checkpoint",
    "to_numpy_score",
    "cache_dir",
    "describe_target",
    "describe_sde",
]


def _numpy_state(model: ScoreNet) -> dict:
    return {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()}


def to_numpy_score(model: ScoreNet, sde):
    """The network as a :class:`~verify.torch.numpy_net.NumpyScore` (float64 NumPy
    evaluation of its weights), carrying the model's ``train_info``."""
    from verify.torch.numpy_net import NumpyScore, NumpyScoreNet

    net = NumpyScoreNet(_numpy_state(model), {**_net_kwargs(model)})
    return NumpyScore(net, sde, getattr(model, "train_info", {}))


def _net_kwargs(model: ScoreNet) -> dict:
    return {
        "dim": model.dim,
        "hidden": model.mlp[0].out_features,
        "depth": (len(model.mlp) - 1) // 2,
        "n_freq": model.embed.freqs.numel(),
        "precond": model.precond,
        "sigma_data": model.sigma_data,
    }


def _pt_bytes(model: ScoreNet) -> bytes:
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()


def save_checkpoint(model: ScoreNet, path, meta: dict | None = None, *, config=None) -> Path:
    """Write ``<path>.pt`` (state_dict), ``<path>.npz`` (the same weights for NumPy
    evaluation without torch) and the manifest ``<path>.json`` (constructor args, ``meta``,
    ``config`` and the checksums of everything, :mod:`verify.torch.entries`).

    Every file is written to a temporary name and renamed, the manifest last, so a crash or
    a concurrent reader never sees a half-written checkpoint. Returns the ``.pt`` path.
    """
    path = Path(path).with_suffix("")
    fields = {"meta": meta or {}}
    write_score_entry(
        path, config or {}, _numpy_state(model), _net_kwargs(model), fields, _pt_bytes(model)
    )
    return path.with_suffix(".pt")


def _model_from_weights(weights: dict, net: dict, device: str) -> ScoreNet:
    model = ScoreNet(**net)
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in weights.items()})
    return model.to(device).eval()


def load_checkpoint(path, device: str = "cpu") -> ScoreNet:
    """Rebuild the :class:`ScoreNet` saved by :func:`save_checkpoint` (eval mode).

    The manifest's checksum and the ``.pt`` file's are verified first and the state_dict is
    loaded weights-only (no code runs). Raises ``OSError`` for a missing manifest and
    :class:`~verify.torch.entries.CacheEntryError` (a ``ValueError``) for one that does not
    verify.
    """
    path = Path(path).with_suffix("")
    manifest = read_entry(path, "score")
    if manifest is None:
        raise FileNotFoundError(f"no checkpoint manifest {path.with_suffix('.json')}")
    data = read_payload(path, ".pt", manifest)
    try:
        model = ScoreNet(**manifest["net"])
        state = torch.load(io.BytesIO(data), map_location=device, weights_only=True)
        model.load_state_dict(state)
    except (KeyError, TypeError, RuntimeError, ValueError, pickle.UnpicklingError) as exc:
        pt = path.with_suffix(".pt")
        raise CacheEntryError(pt, f"not this network's weights ({exc})") from None
    model.to(device).eval()
    model.checkpoint_meta = manifest.get("meta", {})
    return model


def _sample_times(sde, cfg: TrainConfig, n: int, rng: np.random.Generator) -> np.ndarray:
    T = float(sde.T)
    if cfg.t_sampling == "uniform":
        return rng.uniform(cfg.t_min, T, n)
    lo, hi = np.log(sde.sigma(np.array([cfg.t_min, T])))
    return np.clip(sde.t_of_sigma(np.exp(rng.uniform(lo, hi, n))), cfg.t_min, T)


def _fit(model: ScoreNet, sde, x_train: np.ndarray, cfg: TrainConfig, device: str, log):
    rng = np.random.default_rng([cfg.seed, 1])
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda i: 0.5 * (1 + math.cos(math.pi * min(i, cfg.n_iters) / cfg.n_iters))
    )
    g2_mean = float(np.mean(sde.g2(np.linspace(cfg.t_min, float(sde.T), 257))))
    losses = []
    model.train()
    for it in range(cfg.n_iters):
        idx = rng.integers(0, x_train.shape[0], cfg.batch)
        t = _sample_times(sde, cfg, cfg.batch, rng)
        z = rng.standard_normal((cfg.batch, x_train.shape[1]))
        a = sde.alpha(t)[:, None]
        s2 = sde.sigma2(t)[:, None]
        x0 = x_train[idx]
        xt = a * x0 + np.sqrt(s2) * z
        tt = [torch.as_tensor(v, dtype=torch.float32, device=device) for v in (xt, a, s2, z, x0)]
        xt_, a_, s2_, z_, x0_ = tt
        s, F, edm = model.parts(xt_, a_, s2_)
        if cfg.weighting == "likelihood":
            w = torch.as_tensor(sde.g2(t)[:, None] / g2_mean, dtype=torch.float32, device=device)
            loss = (w * (s + z_ / torch.sqrt(s2_)) ** 2).sum(-1).mean()
        elif edm is None:
            loss = ((F - z_) ** 2).sum(-1).mean()
        else:
            y, _, c_skip, c_out = edm
            loss = ((F - (x0_ - c_skip * y) / c_out) ** 2).sum(-1).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())
        if log is not None and (it + 1) % max(1, cfg.n_iters // 10) == 0:
            log(it + 1, float(np.mean(losses[-50:])))
    model.eval()
    return losses


def train_score(
    sde,
    data,
    config: TrainConfig | None = None,
    *,
    device: str = "cpu",
    cache: bool = True,
    root=None,
    log=None,
) -> ScoreNet:
    """Train (or load from the cache) a :class:`ScoreNet` for the marginals of ``data``.

    ``data``: a ``Gaussian``/``GaussianMixture`` (the training set is ``config.n_train``
    draws with ``rng = default_rng([seed, 0])``) or an ``(n, d)`` array used as the training
    set. ``cache=False`` always trains and writes nothing; ``root`` overrides
    :func:`cache_dir`. ``log(iteration, running_loss)`` is called 10 times. The returned
    model (eval mode) carries ``train_info``: ``{"key", "from_cache", "seconds",
    "final_loss", "path"}``.
    """
    cfg = TrainConfig() if config is None else config
    if isinstance(data, np.ndarray):
        x_train = np.asarray(data, dtype=np.float64)
        if x_train.ndim != 2:
            raise ValueError(f"data samples must be an (n, d) array, got shape {x_train.shape}")
    else:
        x_train = data.sample(cfg.n_train, np.random.default_rng([cfg.seed, 0]))
    dim = x_train.shape[1]
    key, meta = score_key(cfg, data, sde, dim)
    path = Path(root if root is not None else cache_dir()) / f"score-{key}"
    start = time.perf_counter()
    if cache:
        try:
            found = read_score_entry(path, meta)
        except CacheEntryError as exc:  # corrupt, edited or foreign entry: retrain
            warn_ignored(exc, "cached model")
            found = None
        if found is not None:
            weights, manifest = found
            model = _model_from_weights(weights, manifest["net"], device)
            model.checkpoint_meta = manifest["meta"]
            model.train_info = {
                "key": key,
                "from_cache": True,
                "seconds": time.perf_counter() - start,
                "final_loss": float(manifest["meta"]["final_loss"]),
                "path": str(path.with_suffix(".pt")),
            }
            return model
    old_threads = torch.get_num_threads()
    torch.set_num_threads(int(cfg.threads))
    try:
        torch.manual_seed(cfg.seed)
        model = ScoreNet(**cfg.net_kwargs(dim)).to(device)
        losses = _fit(model, sde, x_train, cfg, device, log)
    finally:
        torch.set_num_threads(old_threads)
    final = float(np.mean(losses[-min(100, len(losses)) :]))
    seconds = time.perf_counter() - start
    if cache:
        try:
            fields = {**meta, "final_loss": final, "seconds": seconds}
            save_checkpoint(model, path, fields, config=meta)
        except (OSError, ValueError) as exc:
            warnings.warn(f"could not cache the trained model at {path}: {exc}", stacklevel=2)
    model.train_info = {
        "key": key,
        "from_cache": False,
        "seconds": seconds,
        "final_loss": final,
        "path": str(path.with_suffix(".pt")) if cache else "",
    }
    return model
