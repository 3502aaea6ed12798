r"""W2 contraction of reverse flows under log-concavity (displacement convexity).

Paper 3 (Seo, arXiv 2602.08579) argues robustness to score errors from "geometric stability
and displacement convexity". The standard result it rests on (docs/claims/spde.md#convexity-
stability): if ``-log p_t`` is ``kappa_t``-convex (``-Hess log p_t >= kappa_t I``) the reverse
drift ``b(y, t) = -f(t) y + w(t) grad log p_t(y)``, ``w = (1 + gamma)/2 g2``, is one-sided
Lipschitz,

    <b(y) - b(y'), y - y'> <= -kappa_eff(t) |y - y'|^2,   kappa_eff = f + w kappa_t,

so two solutions driven by the same noise (synchronous coupling; a common-noise score error
is the same for both) satisfy ``|Y_tau - Y'_tau| <= |Y_0 - Y'_0| exp(-int_0^tau kappa_eff)``
and hence

    W2(q_tau, q'_tau) <= W2(q_0, q'_0) exp(-int_0^tau kappa_eff(T - u) du).

For Gaussian data ``kappa_t = 1 / lambda_max(alpha_t^2 Sigma + sigma2_t I)`` and the bound is
attained by two laws that differ by an offset along the top eigenvector (both flows are the
same affine map). The bound holds for any ``kappa_t`` (also negative, without convexity); only
``kappa_eff > 0`` makes it a contraction.

* :func:`kappa_gaussian`, :func:`kappa_1d`: ``kappa_t`` exactly / by minimising the exact
  ``-(log p_t)''`` of a 1-D mixture (:func:`neg_log_hessian_mixture_1d`) on a grid;
* :func:`contraction_factor`: ``exp(-int kappa_eff)`` at the nodes of a grid (composite
  Simpson rule on a refined grid);
* :func:`gaussian_w2_pair`: ``W2`` between the exact laws of the continuous reverse family
  from two Gaussian start laws (``verify.solvers.chain_laws.exact_law``, rung 2).
"""

from __future__ import annotations

import numpy as np

from verify.solvers.reverse import ReverseFamily

__all__ = [
    "kappa_gaussian",
    "kappa_1d",
    "neg_log_hessian_mixture_1d",
    "contraction_factor",
    "gaussian_w2_pair",
    "quantiles_1d",
    "flow_pair_factors",
]


def kappa_gaussian(sde, data, t) -> np.ndarray:
    """``1 / lambda_max(alpha_t^2 Sigma + sigma2_t I)`` for Gaussian ``data`` at times ``t``."""
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    lam = float(np.max(np.linalg.eigvalsh(np.atleast_2d(data.cov))))
    a = np.asarray(sde.alpha(t), dtype=np.float64)
    s2 = np.asarray(sde.sigma2(t), dtype=np.float64)
    return 1.0 / (a * a * lam + s2)


def neg_log_hessian_mixture_1d(data, sde, t, x) -> np.ndarray:
    r"""``-(log p_t)''(x)`` of a 1-D Gaussian mixture's marginal, exactly, on a grid of times
    ``t`` (``(m,)``) and points ``x`` (``(n,)``): shape ``(m, n)``.

    With ``S_k = alpha_t^2 v_k + sigma2_t``, ``u_k = (alpha_t mu_k - x) / S_k`` and the
    responsibilities ``pi_k(x)``, the score is ``s = sum_k pi_k u_k`` and, since
    ``pi_k' = pi_k (u_k - s)`` and ``u_k' = -1/S_k``,

        -(log p_t)'' = E_pi[1 / S_k] - Var_pi(u_k).
    """
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    w = np.asarray(data.weights, dtype=np.float64)
    mu = np.asarray(data.means, dtype=np.float64).reshape(-1)
    v = np.asarray(data.covs, dtype=np.float64).reshape(len(w), -1)[:, 0]
    a = np.asarray(sde.alpha(t), dtype=np.float64).reshape(-1, 1, 1)
    s2 = np.asarray(sde.sigma2(t), dtype=np.float64).reshape(-1, 1, 1)
    S = a * a * v + s2  # (m, 1, K)
    u = (a * mu - x[None, :, None]) / S  # (m, n, K)
    logit = np.log(w) - 0.5 * np.log(2 * np.pi * S) - 0.5 * u * u * S
    logit -= logit.max(axis=2, keepdims=True)
    pi = np.exp(logit)
    pi /= pi.sum(axis=2, keepdims=True)
    eu = (pi * u).sum(axis=2)
    return (pi / S).sum(axis=2) - ((pi * u * u).sum(axis=2) - eu * eu)


def kappa_1d(sde, data, t, n_grid: int = 4001, width: float = 8.0) -> np.ndarray:
    """``inf_x -(log p_t)''(x)`` of a 1-D Gaussian mixture's marginal at the times ``t``.

    :func:`neg_log_hessian_mixture_1d` on ``n_grid`` points over ``mean +- width sd`` of the
    widest marginal (the tails tend to the widest component's ``1/S_k``, inside the grid),
    with a parabolic refinement through the three grid points around the minimum."""
    t = np.atleast_1d(np.asarray(t, dtype=np.float64))
    p_wide = sde.marginal(data, float(t.max()))
    m = float(p_wide.mean[0])
    sd = max(float(np.sqrt(p_wide.cov[0, 0])), float(np.sqrt(data.cov[0, 0])))
    xs = np.linspace(m - width * sd, m + width * sd, int(n_grid))
    v = neg_log_hessian_mixture_1d(data, sde, t, xs)
    i = np.clip(np.argmin(v, axis=1), 1, xs.size - 2)
    rows = np.arange(t.size)
    f0, f1, f2 = v[rows, i - 1], v[rows, i], v[rows, i + 1]
    curv = f0 - 2 * f1 + f2
    shift = np.where(curv > 0, 0.5 * (f0 - f2) / np.where(curv > 0, curv, 1.0), 0.0)
    refined = f1 - 0.25 * (f0 - f2) * shift
    return np.minimum(v.min(axis=1), refined)


def contraction_factor(sde, gamma: float, kappa, nodes, refine: int = 8) -> np.ndarray:
    """``exp(-int_{nodes[0]}^{t} kappa_eff(s) ds)`` at each node ``t`` (forward times
    decreasing from ``nodes[0]``), ``kappa_eff = f + (1 + gamma)/2 g2 kappa``; ``kappa`` a
    callable of an array of forward times. Composite Simpson on ``refine`` (even) sub-intervals
    per node interval."""
    nodes = np.asarray(nodes, dtype=np.float64).reshape(-1)
    if nodes.size < 2 or not np.all(np.diff(nodes) < 0):
        raise ValueError("nodes must be strictly decreasing forward times")
    refine = max(2, int(refine) + int(refine) % 2)
    fam = ReverseFamily(sde, None, gamma)
    out = [0.0]
    for t0, t1 in zip(nodes[:-1], nodes[1:], strict=True):
        s = np.linspace(t0, t1, refine + 1)
        f, w, _ = fam.drift_coefficients(s)
        k = np.asarray(f) + np.asarray(w) * np.asarray(kappa(s), dtype=np.float64)
        wts = np.ones(refine + 1)
        wts[1:-1:2], wts[2:-1:2] = 4.0, 2.0
        out.append(out[-1] + (t0 - t1) / (3.0 * refine) * float(wts @ k))
    return np.exp(-np.array(out))


def gaussian_w2_pair(sde, data, init1, init2, nodes, gamma: float) -> np.ndarray:
    """``W2(q_t, q'_t)`` at the nodes for the continuous-time reverse family (exact score)
    from the Gaussian start laws ``init1``, ``init2`` at ``nodes[0]`` (exact laws, rung 2)."""
    from verify.solvers.chain_laws import exact_law
    from verify.theory.gaussian_paths import w2_gaussian_batch

    nodes = np.asarray(nodes, dtype=np.float64)
    _, a = exact_law(sde, data, init1, nodes, gamma=gamma, method=None, trajectory=True)
    _, b = exact_law(sde, data, init2, nodes, gamma=gamma, method=None, trajectory=True)
    out = []
    for la, lb in zip(a.laws, b.laws, strict=True):
        w2 = w2_gaussian_batch(la.mean[None], la.cov[None], lb.mean, lb.cov)[0]
        out.append(np.sqrt(max(w2, 0.0)))
    return np.array(out)


def quantiles_1d(p, u, n_grid: int = 40001, width: float = 10.0) -> np.ndarray:
    """Quantiles ``F^{-1}(u)`` of a 1-D ``Gaussian``/``GaussianMixture`` (components' normal
    CDFs summed on a fine grid over ``mean +- width sd``, inverted by monotone linear
    interpolation; accurate to ``O(grid step^2)`` where the density is smooth)."""
    from scipy.special import ndtr

    u = np.asarray(u, dtype=np.float64)
    if np.any((u <= 0) | (u >= 1)):
        raise ValueError("u must lie in (0, 1)")
    m, sd = float(p.mean[0]), float(np.sqrt(p.cov[0, 0]))
    xs = np.linspace(m - width * sd, m + width * sd, int(n_grid))
    if hasattr(p, "weights"):
        mus, sds = p.means[:, 0], np.sqrt(p.covs.reshape(len(p.weights), -1)[:, 0])
        F = ndtr((xs[:, None] - mus[None]) / sds[None]) @ p.weights
    else:
        F = ndtr((xs - m) / sd)
    return np.interp(u, F, xs)


def flow_pair_factors(sde, score, x, delta: float, nodes, substeps: int = 4) -> dict:
    """Characteristics of the probability-flow ODE from ``x`` and ``x + delta`` (1-D).

    Returns ``factor`` ``(n_nodes, n)``: ``|Phi_t(x + delta) - Phi_t(x)| / delta`` at every node;
    ``w2_ratio`` ``(n_nodes,)``: ``W2(q_t, q'_t) / W2(q_0, q'_0)`` when ``x`` are the quantiles
    at equispaced levels of ``q_0`` and ``q'_0`` is ``q_0`` shifted by ``delta`` (the flow is
    increasing in 1-D, so the quantile coupling is the synchronous one and
    ``W2^2 = mean_i (Phi(x_i + delta) - Phi(x_i))^2``); ``err`` the largest change of
    ``factor`` when the RK4 step is halved (its error estimate)."""
    from verify.solvers.density_1d import pf_ode_flow

    x = np.asarray(x, dtype=np.float64).reshape(-1)
    pts = np.concatenate([x, x + delta])
    runs = {}
    for s in (substeps, 2 * substeps):
        y = pf_ode_flow(sde, score, pts, nodes, s, record=True)
        runs[s] = np.abs(y[:, x.size :] - y[:, : x.size]) / abs(delta)
    fac = runs[2 * substeps]
    return {
        "factor": fac,
        "w2_ratio": np.sqrt(np.mean(fac**2, axis=1)),
        "err": float(np.max(np.abs(fac - runs[substeps]))),
    }
