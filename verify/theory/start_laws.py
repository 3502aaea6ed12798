r"""Start laws for the reverse chain and the KL bound split into its terms (arXiv 2603.00772).

Paper 2 (Fassina, Cardoso, Le Corff, Romary, "Initialization-aware score-based diffusion
sampling", arXiv 2603.00772, v1 §3; the bound is reconstructed, see
docs/claims/initialization.md#kl-bound-terms) starts the variance-exploding (VE) reverse
chain not at the classical prior ``pi_infty = N(0, sigma_T^2 I)`` but at a law ``p_theta``
*learned* from noised data ``x_0 + sigma_T z``, so that the initialization term of the bound

    KL(p_data || p_hat) <= KL(p_T || p_init)                             (initialization)
        + 1/2 sum_k int_{t_{k+1}}^{t_k} g(t)^2 E|s(X_{t_k}, t_k) - grad log p_t(X_t)|^2 dt

is small even for a small ``sigma_T`` and the chain needs few steps. Paper 4 (Franzese et al.,
"How much is enough?", arXiv 2206.05173, §2; docs/claims/horizon.md) uses the same idea with an
"auxiliary model" fitted to ``p_T``. This module provides the start laws and the bound.

Start laws (``start_law(kind, ...)``):

* ``"prior"``:  the SDE prior ``sde.prior(d)`` = ``N(0, sigma2(T) I)`` (``N(0, sigma_T^2 I)``
  for VE/EDM, ``N(0, I)``-like for VP);
* ``"moment"``: the Gaussian with the sample mean and covariance of samples of ``p_T``;
* ``"gmm"``:    a Gaussian mixture fitted to samples of ``p_T`` by EM (``fit_gmm``);
* ``"exact"``:  ``p_T = sde.marginal(data, T)`` (Gaussian or GMM data): the ideal learned law.

A normalizing flow (torch backend) can be added as another ``kind`` returning an object
with ``log_prob`` and ``sample``.

EM (``fit_gmm``; Dempster, Laird, Rubin 1977; Bishop, PRML §9.2). Full covariances, all
points and components at once. A Gaussian log-density is linear in the features
``phi(x) = [x_i x_j (i <= j), x_i, 1]``:

    log w_k + log N(x; mu_k, S_k) = phi(x) . W_k,   W_k = [-P_ii/2, -P_ij (i < j), P mu, c_k],

``P = S_k^{-1}``, ``c_k = log w_k + log det P / 2 - d/2 log 2 pi - mu^T P mu / 2``, so the
E-step is one matrix product ``phi(X) W`` ``(n, K)`` and a max-shifted softmax, and the
M-step is one product ``R^T phi(X)`` ``(K, p)`` giving ``N_k``, ``sum r x`` and
``sum r x x^T``; then ``S_k = sum r x x^T / N_k - mu_k mu_k^T + reg I``. The data are
centred first, which keeps that subtraction benign (relative error ~ eps |mu|^2 / |S|).
The feature width ``d(d+1)/2 + d + 1`` limits this to small ``d`` (``d <= 16``). Start:
k-means++ seeding (Arthur and Vassilvitskii 2007, greedy variant as scikit-learn) and hard
assignment to the nearest seed; ``n_init`` restarts, the fit with the highest mean
log-likelihood wins. Stops when the mean log-likelihood changes by less than ``tol``.

The bound (``kl_bound_terms``; Girsanov form, Chen et al. 2023, arXiv 2209.11215). For Gaussian
data ``N(m_0, Sigma)`` and an affine score error, ``grad log p_t(x) = -P_t x + c_t`` with
``P_t = (alpha^2 Sigma + sigma2 I)^{-1}``, ``c_t = P_t alpha m_0``, and the used score is
``s~(x, t) = -P~_t x + c~_t`` (``P~ = K P - A``, ``c~ = K c + b`` from
``verify.errors.*.affine_parts``). On a step ``[t_{k+1}, t_k]`` the forward process has
``X_{t_k} = a X_t + sqrt(v) Z`` (``(a, v) = sde.transition(t, t_k)``), so with
``M = P_t - a P~_{t_k}`` the integrand is the exact Gaussian expectation

    E|s~(X_{t_k}, t_k) - grad log p_t(X_t)|^2 = |M m_t + c~_{t_k} - c_t|^2 + tr(M S_t M^T)
                                                + v ||P~_{t_k}||_F^2,

integrated over each step by Gauss-Legendre quadrature (the integrand is smooth on a step;
``n_quad`` = 16 nodes gives ~1e-12 relative). The terms reported:

* ``init``   = ``KL(p_T || p_init)`` (exact for Gaussians, rung 1);
* ``score``  = ``1/2 int_{t_min}^{T} g^2 E_{p_t}|s~ - grad log p_t|^2 dt`` (continuous time,
  no freezing: the score-error term alone);
* ``disc``   = the frozen-step integral with the exact score (``E_disc``: the discretization
  term alone);
* ``path``   = the frozen-step integral with the erroneous score (the whole bracket);
* ``bound``  = ``init + path``; ``true_kl`` = ``KL(p_{t_min} || law of the chain)`` (rung 2,
  ``verify.solvers.chain_laws``). The bound is proved for the chain whose interpolation freezes
  the score on each step with ``gamma = 1`` and an exact linear part: ``method="exponential"``
  (for VE/EDM this is also ``"ddpm"``). Other methods (the VE ancestral step of the authors'
  code, ``"ancestral"``) are compared with it, not bounded by it. Errors whose ``K`` and ``A``
  are scalars are integrated in the eigenbasis of ``Sigma`` (every matrix diagonal there, all
  steps and nodes at once); others with full matrices.

Gaussian divergences for the start error: :func:`expected_kl_gaussian_mle` /
:func:`expected_kl_mle_to_truth` (the expected KL of a moment-matched fit, both directions,
Wishart closed forms), :func:`chi2_gaussian` and :func:`log_ratio_variance` (the two factors
of the Cauchy-Schwarz bound in docs/claims/initialization.md#start-error-carried).

Targets of the authors' toy experiments (their code, cited in docs/claims/initialization.md):
:func:`grid_gmm` (25-mode 2-D GMM, an
``analytic.GaussianMixture`` with full covariances, whose exact log-density and noised score
use the fused feature path of ``analytic.mixture``), and :func:`student_t_mixture` (heavy
tails; with ``eig_floor`` for ``d = 100``, a stated deviation from the recipe) as a
:class:`StudentTMixture` whose noised score is a scale-mixture quadrature.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg
from scipy.special import digamma

from analytic import Gaussian, GaussianMixture, kl
from analytic.covariance import Covariance

__all__ = [
    "START_KINDS",
    "GMMFit",
    "expected_kl_gaussian_mle",
    "expected_kl_mle_to_truth",
    "chi2_gaussian",
    "log_ratio_variance",
    "BoundTerms",
    "start_law",
    "moment_matched",
    "fit_gmm",
    "kmeans_plusplus",
    "kl_bound_terms",
    "score_error_integral",
    "grid_gmm",
    "gmm_score_and_laplacian",
    "pf_ode_log_likelihood",
    "pf_ode_flow",
    "PFFlow",
    "StudentTMixture",
    "student_t_mixture",
]

START_KINDS = ("prior", "moment", "gmm", "exact")
_LOG_2PI = float(np.log(2.0 * np.pi))


# ------------------------------------------------------------------------- start laws
def moment_matched(samples) -> Gaussian:
    """``N(mean, cov)`` of the samples (maximum likelihood Gaussian; ``cov`` with 1/n)."""
    x = _points(samples, "samples")
    if x.shape[0] < x.shape[1] + 1:
        raise ValueError(f"samples: need more than d = {x.shape[1]} points, got {x.shape[0]}")
    m = x.mean(axis=0)
    xc = x - m
    cov = xc.T @ xc / x.shape[0]
    return Gaussian(m, 0.5 * (cov + cov.T))


def expected_kl_gaussian_mle(d: int, n: int) -> float:
    r"""``E KL(p || p_hat)``, ``p = N(m, S)`` in ``d`` dims, ``p_hat`` its ML fit to ``n`` draws.

    ``S_hat = W/n``, ``W ~ Wishart_d(n - 1, S)``, ``m_hat ~ N(m, S/n)`` independent, so with
    ``E[W^{-1}] = S^{-1}/(n - d - 2)`` and
    ``E log det(S^{-1} W) = sum_{i=1}^d psi((n-i)/2) + d log 2``:

        E KL = 1/2 [ d (n + 1)/(n - d - 2) - d + sum_{i=1}^d psi((n - i)/2) + d log(2/n) ].

    Independent of ``m``, ``S``; ~ ``d(d + 3)/(4n)`` for large ``n``.
    """
    if n <= d + 2:
        raise ValueError(f"n must exceed d + 2 = {d + 2}, got n = {n}")
    i = np.arange(1, d + 1)
    return 0.5 * (
        d * (n + 1) / (n - d - 2) - d + float(np.sum(digamma((n - i) / 2.0))) + d * np.log(2.0 / n)
    )


def expected_kl_mle_to_truth(d: int, n: int) -> float:
    r"""``E KL(p_hat || p)`` (the other direction of :func:`expected_kl_gaussian_mle`).

    With ``n S_hat = W ~ Wishart_d(n - 1, S)`` and ``m_hat ~ N(m, S/n)`` independent,
    ``E tr(S^{-1} S_hat) = d (n - 1)/n``, ``E (m_hat - m)^T S^{-1} (m_hat - m) = d/n`` and
    ``E log det(S^{-1} S_hat) = sum_{i=1}^d psi((n - i)/2) + d log(2/n)``, so

        E KL(p_hat || p) = 1/2 [ -sum_{i=1}^d psi((n - i)/2) - d log(2/n) ]  ~  d(d + 3)/(4n).
    """
    if n <= d:
        raise ValueError(f"n must exceed d = {d}, got n = {n}")
    i = np.arange(1, d + 1)
    return 0.5 * (-float(np.sum(digamma((n - i) / 2.0))) - d * np.log(2.0 / n))


def _gauss_parts(p: Gaussian):
    C = np.asarray(p.cov, dtype=np.float64)
    return np.asarray(p.mean, dtype=np.float64), C, np.linalg.inv(C)


def chi2_gaussian(q: Gaussian, p: Gaussian) -> float:
    r"""``chi^2(q || p) = int q^2/p - 1`` for Gaussians ``q = N(a, A)``, ``p = N(b, B)``.

    ``int q^2/p = det(A)^{-1} det(B)^{1/2} det(M)^{-1/2} exp(h^T M^{-1} h/2 - k/2)`` with
    ``M = 2 A^{-1} - B^{-1}``, ``h = 2 A^{-1} a - B^{-1} b``, ``k = 2 a^T A^{-1} a -
    b^T B^{-1} b`` (complete the square); ``inf`` unless ``M`` is positive definite.
    """
    a, A, Ai = _gauss_parts(q)
    b, B, Bi = _gauss_parts(p)
    M = 2.0 * Ai - Bi
    lam = np.linalg.eigvalsh(0.5 * (M + M.T))
    if lam.min() <= 0:
        return float("inf")
    h = 2.0 * Ai @ a - Bi @ b
    k = 2.0 * a @ Ai @ a - b @ Bi @ b
    log_int = (
        -np.linalg.slogdet(A)[1]
        + 0.5 * np.linalg.slogdet(B)[1]
        - 0.5 * float(np.sum(np.log(lam)))
        + 0.5 * h @ np.linalg.solve(M, h)
        - 0.5 * k
    )
    return float(np.expm1(log_int))


def log_ratio_variance(p1: Gaussian, p2: Gaussian, under: Gaussian) -> float:
    r"""``Var_{Y ~ under}[log p1(Y) - log p2(Y)]`` for Gaussians.

    ``log p1 - log p2 = y^T A y / 2 + b^T y + const`` with ``A = P2 - P1``, ``b = P1 m1 -
    P2 m2`` (``P`` the precisions); for ``Y ~ N(mu, S)``:
    ``Var = tr((A S)^2)/2 + (A mu + b)^T S (A mu + b)``.
    """
    m1, _, P1 = _gauss_parts(p1)
    m2, _, P2 = _gauss_parts(p2)
    mu, S, _ = _gauss_parts(under)
    A = P2 - P1
    b = P1 @ m1 - P2 @ m2
    AS = A @ S
    g = A @ mu + b
    return float(0.5 * np.sum(AS * AS.T) + g @ S @ g)


def start_law(
    kind: str,
    sde,
    *,
    t: float | None = None,
    data=None,
    samples=None,
    n_components: int = 25,
    rng: np.random.Generator | None = None,
    **em_kwargs,
):
    """The start law of the reverse chain at forward time ``t`` (default ``sde.T``).

    ``kind`` is one of :data:`START_KINDS` (module docstring). ``"prior"`` needs the dimension
    from ``data`` or ``samples``; ``"moment"`` and ``"gmm"`` need ``samples`` of ``p_t`` (for
    ``"gmm"`` also ``rng``); ``"exact"`` needs ``data`` (a ``Gaussian`` or ``GaussianMixture``).
    ``"gmm"`` returns the fitted ``GaussianMixture`` (use :func:`fit_gmm` for diagnostics).
    """
    t = float(sde.T) if t is None else float(t)
    if kind == "prior":
        dim = data.dim if data is not None else _points(samples, "samples").shape[1]
        return Gaussian(np.zeros(dim), float(sde.sigma2(t)))
    if kind == "exact":
        if data is None:
            raise ValueError("kind='exact' needs data= (a Gaussian or GaussianMixture)")
        return sde.marginal(data, t)
    if kind == "moment":
        if samples is None:
            raise ValueError("kind='moment' needs samples= of p_t")
        return moment_matched(samples)
    if kind == "gmm":
        if samples is None or rng is None:
            raise ValueError("kind='gmm' needs samples= of p_t and rng=")
        return fit_gmm(samples, n_components, rng, **em_kwargs).law
    raise ValueError(f"unknown start kind {kind!r}; use one of {START_KINDS}")


# ------------------------------------------------------------------------------- EM
@dataclass
class GMMFit:
    """Result of :func:`fit_gmm`.

    ``law`` the fitted mixture; ``log_likelihood`` the mean log-likelihood per point of the
    best restart; ``n_iter`` its EM iterations; ``converged`` whether it met ``tol``;
    ``restarts`` the final mean log-likelihood of every restart; ``history`` the mean
    log-likelihood after each iteration of the best restart.
    """

    law: GaussianMixture
    log_likelihood: float
    n_iter: int
    converged: bool
    restarts: list[float]
    history: list[float]


def _points(x, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be an (n, d) array, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{name} contains NaN or inf")
    return x


def kmeans_plusplus(x: np.ndarray, k: int, rng: np.random.Generator, n_trials: int | None = None):
    """k-means++ seeds (greedy variant, ``2 + log k`` trials per seed, as scikit-learn).

    Returns the indices of the ``k`` chosen points. Each new seed is drawn with probability
    proportional to the squared distance to the nearest seed chosen so far.
    """
    n = x.shape[0]
    if not 1 <= k <= n:
        raise ValueError(f"n_components must be in [1, n = {n}], got {k}")
    trials = n_trials or 2 + int(np.log(k))
    sq = np.einsum("ij,ij->i", x, x)
    idx = [int(rng.integers(n))]
    d2 = np.maximum(sq + sq[idx[0]] - 2.0 * x @ x[idx[0]], 0.0)
    for _ in range(1, k):
        pot = d2.sum()
        cand = np.searchsorted(np.cumsum(d2), rng.random(trials) * pot)
        cand = np.minimum(cand, n - 1)
        dc = np.maximum(sq[None, :] + sq[cand, None] - 2.0 * x[cand] @ x.T, 0.0)
        dc = np.minimum(dc, d2[None, :])
        best = int(np.argmin(dc.sum(axis=1)))
        idx.append(int(cand[best]))
        d2 = dc[best]
    return np.asarray(idx)


def _features(x: np.ndarray) -> np.ndarray:
    """``phi(x) = [x_i x_j (i <= j), x_i, 1]``, shape ``(n, d(d+1)/2 + d + 1)``."""
    n, d = x.shape
    iu, ju = np.triu_indices(d)
    return np.hstack([x[:, iu] * x[:, ju], x, np.ones((n, 1))])


def _logit_weights(w, mu, prec):
    """``W`` with ``phi(x) @ W = log w_k + log N(x; mu_k, prec_k^{-1})`` (``prec`` = precisions)."""
    K, d = mu.shape
    iu, ju = np.triu_indices(d)
    quad = -0.5 * prec[:, iu, ju] * np.where(iu == ju, 1.0, 2.0)[None, :]  # (K, d(d+1)/2)
    lin = np.einsum("kij,kj->ki", prec, mu)
    logdet = np.linalg.slogdet(prec)[1]
    const = np.log(w) + 0.5 * logdet - 0.5 * d * _LOG_2PI - 0.5 * np.einsum("ki,ki->k", mu, lin)
    return np.ascontiguousarray(np.hstack([quad, lin, const[:, None]]).T)


def _estep(F, w, mu, prec):
    """``(resp (n, K), mean log-likelihood)`` from the features ``F = phi(x)``."""
    logits = F @ _logit_weights(w, mu, prec)
    mx = logits.max(axis=1, keepdims=True)
    np.subtract(logits, mx, out=logits)
    np.exp(logits, out=logits)
    tot = logits.sum(axis=1, keepdims=True)
    logits /= tot
    return logits, float(np.mean(np.log(tot[:, 0]) + mx[:, 0]))


def _mstep(F, d, resp, reg):
    """Weights, means, covariances and precisions from ``resp`` (n, K): one product ``resp^T F``.

    ``S_k = E_r[x x^T] - mu_k mu_k^T + reg I`` (the second moments come from the quadratic
    features; the data are centred first by the caller, which keeps the subtraction benign).
    """
    iu, ju = np.triu_indices(d)
    nq = iu.size
    R = resp.T @ F  # (K, p)
    nk = R[:, -1] + 10.0 * np.finfo(np.float64).eps
    mu = R[:, nq : nq + d] / nk[:, None]
    second = np.zeros((R.shape[0], d, d))
    second[:, iu, ju] = R[:, :nq] / nk[:, None]
    second[:, ju, iu] = second[:, iu, ju]
    cov = second - mu[:, :, None] * mu[:, None, :] + reg * np.eye(d)[None]
    chol = np.linalg.cholesky(cov)
    eye = np.broadcast_to(np.eye(d), chol.shape)
    linv = np.linalg.solve(chol, eye)  # L^{-1}
    prec = np.matmul(linv.transpose(0, 2, 1), linv)
    return nk / nk.sum(), mu, cov, prec


def fit_gmm(
    samples,
    n_components: int,
    rng: np.random.Generator,
    *,
    n_init: int = 3,
    max_iter: int = 200,
    tol: float = 1e-6,
    reg_covar: float = 1e-6,
) -> GMMFit:
    """Fit a full-covariance Gaussian mixture to ``samples`` by EM (module docstring).

    ``n_init`` restarts from k-means++ seeds; the restart with the highest mean
    log-likelihood is returned. ``reg_covar`` is added to every covariance's diagonal (as in
    scikit-learn). The log-likelihood reported is that of the returned parameters.
    """
    x = _points(samples, "samples")
    K = int(n_components)
    if K < 1 or K > x.shape[0]:
        raise ValueError(f"n_components must be in [1, n], got {n_components!r}")
    if n_init < 1 or max_iter < 1:
        raise ValueError("n_init and max_iter must be >= 1")
    if x.shape[1] > 16:
        raise ValueError(
            f"fit_gmm works in d <= 16 (feature width grows like d^2), got d = {x.shape[1]}; "
            "use moment_matched for a Gaussian start in high dimension"
        )
    shift = x.mean(axis=0)
    xc = x - shift
    F = _features(xc)
    d = x.shape[1]
    best = None
    restarts = []
    for _ in range(int(n_init)):
        seeds = xc[kmeans_plusplus(xc, K, rng)]
        d2 = np.einsum("kj,kj->k", seeds, seeds)[None, :] - 2.0 * xc @ seeds.T
        resp = np.zeros((x.shape[0], K))
        resp[np.arange(x.shape[0]), np.argmin(d2, axis=1)] = 1.0
        w, mu, cov, prec = _mstep(F, d, resp, reg_covar)
        hist = []
        converged = False
        ll_old = -np.inf
        for _it in range(int(max_iter)):
            resp, ll = _estep(F, w, mu, prec)
            hist.append(ll)
            if abs(ll - ll_old) < tol:
                converged = True
                break
            ll_old = ll
            w, mu, cov, prec = _mstep(F, d, resp, reg_covar)
        if not converged:
            _, ll = _estep(F, w, mu, prec)
            hist.append(ll)
        restarts.append(ll)
        if best is None or ll > best[0]:
            best = (ll, w, mu + shift, cov, len(hist) - 1, converged, hist)
    ll, w, mu, cov, n_iter, converged, hist = best
    law = GaussianMixture(w / w.sum(), mu, cov)
    return GMMFit(law, float(ll), int(n_iter), bool(converged), restarts, hist)


# ------------------------------------------------------------ the 25-mode GMM (§2.3)
def grid_gmm(dim: int = 2, seed: int = 0, n_standardize: int = 100_000) -> GaussianMixture:
    """The grid GMM of the authors' code (``src/create_data_gmm.py``), in NumPy.

    ``5^d`` modes at ``{-2, -1, 0, 1, 2}^d``, weights ``Dirichlet(1)``, component scale
    ``L_k = 4 A_k diag(u_k) 0.1`` with ``A_k`` unit lower-triangular with ``N(0, 1)``
    off-diagonals and ``u_k ~ U(0.1, 1)^d``, covariance ``L_k L_k^T``; then centred by the
    empirical mean of ``n_standardize`` samples and divided by their global (scalar) std.
    The authors draw with JAX keys (seed 0); here ``numpy.random.default_rng(seed)`` is used,
    so the modes' weights and shapes follow the same recipe but are not the same numbers.
    """
    rng = np.random.default_rng(seed)
    axes = [np.arange(-2.0, 3.0)] * dim
    means = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, dim)
    K = means.shape[0]
    w = rng.dirichlet(np.ones(K))
    A = np.tril(rng.standard_normal((K, dim, dim)), k=-1) + np.eye(dim)[None]
    u = rng.uniform(0.1, 1.0, size=(K, dim))
    L = 4.0 * A * u[:, None, :] * 0.1
    covs = np.matmul(L, L.transpose(0, 2, 1))
    raw = GaussianMixture(w, means, covs)
    x = raw.sample(int(n_standardize), rng)
    m, s = x.mean(axis=0), float(x.std())
    return GaussianMixture(w, (means - m) / s, covs / s**2)


# ---------------------------------------------------------------------------- bound
@dataclass
class BoundTerms:
    """The KL bound split into its terms (module docstring); all in nats.

    Directions: ``init = KL(p_T || p_init)``, ``true_kl = KL(p_{t_min} || chain law)``;
    ``score``, ``disc``, ``path`` are the Girsanov integrals; ``bound = init + path``.
    ``law`` is the chain's exact output law (``verify.solvers.chain_laws``), ``method`` its method.
    """

    init: float
    score: float
    disc: float
    path: float
    true_kl: float
    method: str
    law: Gaussian

    @property
    def bound(self) -> float:
        return self.init + self.path


def _as_matrix(v, d):
    """A scalar (times I), a diagonal or a full matrix as a ``(d, d)`` array."""
    return Covariance(v, d, _checked=True).matrix()


class _GaussScores:
    """Exact and perturbed affine scores of Gaussian data under a linear SDE."""

    def __init__(self, sde, data: Gaussian, score_error):
        self.sde, self.d = sde, data.dim
        self.m0 = data.mean
        self.lam, self.U = linalg.eigh(np.asarray(data.cov, dtype=np.float64))
        self.lam = np.maximum(self.lam, 0.0)
        self.err = score_error

    def exact(self, t):
        """``(P_t, c_t, m_t, S_t)``."""
        a, s2 = float(self.sde.alpha(t)), float(self.sde.sigma2(t))
        S_eig = a * a * self.lam + s2
        P = (self.U / S_eig) @ self.U.T
        S = (self.U * S_eig) @ self.U.T
        m = a * self.m0
        return P, P @ m, m, S

    def used(self, t):
        """``(P~_t, c~_t)`` of the score actually used."""
        P, c, _, _ = self.exact(t)
        if self.err is None:
            return P, c
        parts = self.err.affine_parts(t, self.d)
        if parts is None:
            raise ValueError("score_error must be affine (affine_parts returned None)")
        K, A, b = parts
        K, A = _as_matrix(K, self.d), _as_matrix(A, self.d)
        return K @ P - A, K @ c + np.asarray(b, dtype=np.float64)


def _time_constant(score_error) -> bool:
    """True for an ``Offset``/``Scale``/``Affine`` error (exactly these classes) whose
    parameters are not callables: its affine parts do not depend on ``t``."""
    from verify.errors import Affine, Offset, Scale

    params = {Offset: ("c",), Scale: ("k",), Affine: ("A", "b")}.get(type(score_error))
    return params is not None and not any(callable(getattr(score_error, a)) for a in params)


class _Frozen:
    """``affine_parts`` of an error at one fixed time (for :func:`_time_constant` errors)."""

    def __init__(self, err, t):
        self.err, self.t = err, t

    def affine_parts(self, t, d):
        return self.err.affine_parts(self.t, d)


def _scalar_parts(score_error, ts, d):
    """``(K (n,), A (n,), b (n, d))`` at the times ``ts`` if ``K`` and ``A`` are scalars, else
    None (then the full-matrix route is used)."""
    if score_error is None:
        return np.ones(len(ts)), np.zeros(len(ts)), np.zeros((len(ts), d))
    if _time_constant(score_error):  # evaluate once
        parts = _scalar_parts(_Frozen(score_error, float(ts[0])), ts[:1], d)
        if parts is None:
            return None
        return tuple(np.repeat(v, len(ts), axis=0) for v in parts)
    Ks, As, bs = [], [], []
    for t in ts:
        parts = score_error.affine_parts(float(t), d)
        if parts is None:
            raise ValueError("score_error must be affine (affine_parts returned None)")
        K, A, b = parts
        if np.ndim(K) or np.ndim(A):
            return None
        Ks.append(float(K))
        As.append(float(A))
        bs.append(np.broadcast_to(np.asarray(b, dtype=np.float64), (d,)))
    return np.asarray(Ks), np.asarray(As), np.asarray(bs)


def _bound_integrals_eig(sde, gs, g, score_error, n_quad):
    """``(score, disc, path)`` in the eigenbasis of the data covariance (scalar ``K``, ``A``):
    every matrix of the integrand is diagonal there; all steps and nodes at once."""
    xq, wq = np.polynomial.legendre.leggauss(int(n_quad))
    tk, tk1 = g[:-1, None], g[1:, None]
    half = 0.5 * (tk - tk1)
    ts = (tk1 + half * (xq + 1.0)).ravel()  # (N * n_quad,)
    w = (half * wq).ravel()
    tks = np.repeat(g[:-1], len(xq))
    d = gs.d

    def exact(t):  # eigen-coordinates: P (n, d), c (n, d), m (n, d), S (n, d)
        a = np.asarray(sde.alpha(t), dtype=np.float64)[:, None]
        S = a * a * gs.lam[None] + np.asarray(sde.sigma2(t), dtype=np.float64)[:, None]
        m = a * (gs.U.T @ gs.m0)[None]
        return 1.0 / S, m / S, m, S

    def used(t, P, c):
        parts = _scalar_parts(score_error, t, d)
        if parts is None:
            return None
        K, A, b = parts
        return K[:, None] * P - A[:, None], K[:, None] * c + b @ gs.U

    P, c, m, S = exact(ts)
    Pk, ck, _, _ = exact(tks)
    step = np.repeat(np.arange(len(g) - 1), len(xq))
    u0 = used(g[:-1], *exact(g[:-1])[:2])  # the frozen score: one evaluation per step
    ut = used(ts, P, c)
    if u0 is None or ut is None:
        return None
    uk = (u0[0][step], u0[1][step])
    a, v = sde.transition(ts, tks)
    a = np.broadcast_to(np.asarray(a, dtype=np.float64), ts.shape)[:, None]
    v = np.broadcast_to(np.asarray(v, dtype=np.float64), ts.shape)
    wg = 0.5 * np.asarray(sde.g2(ts), dtype=np.float64) * w

    def frozen(Pf, cf):
        M = P - a * Pf
        mean = M * m + cf - c
        return np.sum(mean * mean + M * M * S, axis=1) + v * np.sum(Pf * Pf, axis=1)

    E = P - ut[0]
    mean = E * m + ut[1] - c
    score = np.sum(mean * mean + E * E * S, axis=1) if score_error is not None else 0.0 * v
    return float(wg @ score), float(wg @ frozen(Pk, ck)), float(wg @ frozen(*uk))


def _bound_integrals_full(sde, gs, g, score_error, n_quad):
    """``(score, disc, path)`` with full ``(d, d)`` matrices (any affine score error)."""
    xq, wq = np.polynomial.legendre.leggauss(int(n_quad))
    score = disc = path = 0.0
    for tk, tk1 in zip(g[:-1], g[1:], strict=True):
        half = 0.5 * (tk - tk1)
        ts = tk1 + half * (xq + 1.0)
        Pk, ck, _, _ = gs.exact(tk)
        Pu, cu = gs.used(tk)
        for t, wt in zip(ts, wq, strict=True):
            P, c, m, S = gs.exact(t)
            g2 = float(sde.g2(t))
            a, v = sde.transition(t, tk)
            a, v = float(a), float(v)
            for key, (Pf, cf) in (("disc", (Pk, ck)), ("path", (Pu, cu))):
                M = P - a * Pf
                mean = M @ m + cf - c
                val = mean @ mean + np.sum((M @ S) * M) + v * np.sum(Pf * Pf)
                if key == "disc":
                    disc += 0.5 * g2 * wt * half * val
                else:
                    path += 0.5 * g2 * wt * half * val
            if score_error is not None:
                Pe, ce = gs.used(t)
                E = P - Pe
                mean = E @ m + ce - c
                score += 0.5 * g2 * wt * half * (mean @ mean + np.sum((E @ S) * E))
    return score, disc, path


def score_error_integral(sde, data: Gaussian, grid, score_error, *, n_quad: int = 16) -> float:
    """``1/2 int_{t_min}^{T} g^2 E_{p_t}|s~(X_t, t) - grad log p_t(X_t)|^2 dt`` (no freezing):
    the ELBO's score-matching term for Gaussian data and an affine score error, by
    ``n_quad``-node Gauss-Legendre on each interval of ``grid`` (decreasing times)."""
    from verify.solvers.grids import validate

    if not isinstance(data, Gaussian):
        raise ValueError("score_error_integral needs Gaussian data (exact expectations)")
    g = validate(grid, sde)
    gs = _GaussScores(sde, data, score_error)
    terms = _bound_integrals_eig(sde, gs, g, score_error, n_quad)
    if terms is None:
        terms = _bound_integrals_full(sde, gs, g, score_error, n_quad)
    return float(terms[0])


def kl_bound_terms(
    sde,
    data: Gaussian,
    init: Gaussian,
    grid,
    score_error=None,
    *,
    method: str = "exponential",
    gamma: float = 1.0,
    n_quad: int = 16,
) -> BoundTerms:
    """The terms of the bound (module docstring) for Gaussian data and an affine score error.

    ``grid`` is decreasing forward times ``T = t_0 > ... > t_N = t_min``; ``init`` the
    Gaussian start law at ``t_0``. ``method``/``gamma`` select the chain whose true KL is
    reported (the bound itself is that of ``method="exponential"``, ``gamma=1``). Errors whose
    ``K`` and ``A`` are scalars are integrated in the eigenbasis of the data covariance (all
    matrices diagonal); others with full matrices.
    """
    from verify.solvers.chain_laws import exact_law
    from verify.solvers.grids import validate

    if not isinstance(data, Gaussian) or not isinstance(init, Gaussian):
        raise ValueError("kl_bound_terms needs Gaussian data and a Gaussian init (exact terms)")
    g = validate(grid, sde)
    gs = _GaussScores(sde, data, score_error)
    terms = _bound_integrals_eig(sde, gs, g, score_error, n_quad)
    if terms is None:
        terms = _bound_integrals_full(sde, gs, g, score_error, n_quad)
    score, disc, path = terms
    p_T = sde.marginal(data, float(g[0]))
    law = exact_law(sde, data, init, g, gamma=gamma, method=method, score_error=score_error)
    target = sde.marginal(data, float(g[-1])) if g[-1] > 0 else data
    true = kl(target, law) if data.dim else 0.0
    return BoundTerms(kl(p_T, init), score, disc, path, true, method, law)


# ------------------------------------------------- likelihood through the PF-ODE (paper 4)
def gmm_score_and_laplacian(p, x) -> tuple[np.ndarray, np.ndarray]:
    """``(grad log p(x), Lap log p(x))``: kept for one release; use
    :func:`verify.theory.mixture_calculus.mixture_score_laplacian`."""
    from verify.theory.mixture_calculus import mixture_score_laplacian

    return mixture_score_laplacian(p, x)


@dataclass
class PFFlow:
    """:func:`pf_ode_flow`: ``Ts`` the forward times, ``x[j]`` the points at ``Ts[j]``
    ``(n, d)``, ``div[j]`` the accumulated ``int_0^{Ts[j]} div v dt`` along each path ``(n,)``."""

    Ts: np.ndarray
    x: list
    div: list


def pf_ode_flow(sde, data, x0, Ts, *, rtol: float = 1e-10) -> PFFlow:
    """Integrate the forward PF-ODE ``dx/dt = f x - g2/2 grad log p_t(x)`` from ``x0`` at ``t = 0``
    through the increasing times ``Ts`` with the log-determinant ``int div v dt``,
    ``div v = d f - g2/2 Lap log p_t`` (exact, :mod:`verify.theory.mixture_calculus`); one
    DOP853 solve for all times (``rtol = atol = rtol``)."""
    from scipy.integrate import solve_ivp

    from verify.theory.mixture_calculus import mixture_score_laplacian

    x0 = _points(x0, "x0")
    n, d = x0.shape
    Ts = np.atleast_1d(np.asarray(Ts, dtype=np.float64))
    if np.any(Ts <= 0) or np.any(np.diff(Ts) <= 0):
        raise ValueError("Ts must be positive and increasing")

    def rhs(t, y):
        x = y[: n * d].reshape(n, d)
        p = sde.marginal(data, t) if t > 0 else data
        f, g2 = float(sde.f(t)), float(sde.g2(t))
        s, lap = mixture_score_laplacian(p, x)
        return np.concatenate([(f * x - 0.5 * g2 * s).ravel(), d * f - 0.5 * g2 * lap])

    y0 = np.concatenate([x0.ravel(), np.zeros(n)])
    sol = solve_ivp(rhs, (0.0, float(Ts[-1])), y0, method="DOP853", rtol=rtol, atol=rtol, t_eval=Ts)
    if not sol.success:
        raise RuntimeError(f"PF-ODE integration failed: {sol.message}")
    xs = [sol.y[: n * d, j].reshape(n, d) for j in range(len(Ts))]
    return PFFlow(Ts, xs, [sol.y[n * d :, j] for j in range(len(Ts))])


def pf_ode_log_likelihood(sde, data, x0, T: float | None = None, *, end="exact", rtol=1e-10):
    """``log p_model(x0)`` by the instantaneous change of variables along the PF-ODE (Song et
    al. 2021, §4.3 and App. D.2; arXiv 2206.05173 §2 reports likelihoods this way):
    ``log q(x_T) + int_0^T div v(x_t, t) dt`` (:func:`pf_ode_flow`).

    ``end="exact"`` uses ``q = p_T`` (then the result is ``log p_0(x0)``, an identity),
    ``end="prior"`` the SDE prior (what a model reports), or any law with ``log_prob`` (an
    auxiliary model). Returns ``(loglik (n,), x_T (n, d))``. ``data`` a ``Gaussian`` or GMM.
    """
    T = float(sde.T) if T is None else float(T)
    flow = pf_ode_flow(sde, data, x0, [T], rtol=rtol)
    xT = flow.x[0]
    if isinstance(end, str):
        if end not in ("exact", "prior"):
            raise ValueError(f"end must be 'exact', 'prior' or a law with log_prob, got {end!r}")
        end = sde.marginal(data, T) if end == "exact" else sde.prior(xT.shape[1])
    return end.log_prob(xT) + flow.div[0], xT


# ----------------------------------------------------- heavy tails: Student-t mixtures
class StudentTMixture:
    r"""Mixture of multivariate Student-t ``sum_k w_k t_nu(mu_k, Sigma_k)`` and its noised scores.

    ``p_sigma = p * N(0, sigma^2 I)`` has no closed form, but ``t_nu(mu, Sigma)`` is the
    Gaussian scale mixture ``int N(mu, Sigma/u) Gamma(u; nu/2, rate nu/2) du``, so

        p_sigma(x) = sum_k w_k int N(x; mu_k, Sigma_k/u + sigma^2 I) Gamma(u) du
                   ~ sum_k sum_j w_k omega_j N(x; mu_k, Sigma_k/u_j + sigma^2 I),

    with nodes uniform in ``s = log u`` (the trapezoid rule on ``[s_lo, s_hi]`` with
    ``n_quad`` nodes: the integrand ``Gamma(e^s) e^s N(x; mu, Sigma e^{-s} + sigma^2 I)`` is
    analytic in ``s`` and decays at both ends, so the rule converges geometrically; a
    Gauss-Laguerre rule in ``u`` was tried and is poor in the far tails, where the integrand
    concentrates at small ``u``). The weights are renormalised to sum to 1: a Gaussian mixture
    with ``K n_quad`` components, whose score is exact for that mixture. Each ``Sigma_k = U L
    U^T`` is diagonalised once, so all of ``k``'s components are diagonal in the ``U_k`` basis
    and a score costs O(n d^2 K + n d K n_quad). The quadrature error is measured, not assumed:
    :meth:`quadrature_error` compares the log-density at ``sigma = 0`` with the exact
    ``scipy.stats.multivariate_t`` log-density.
    """

    def __init__(
        self, weights, means, covs, df: float = 3.0, n_quad: int = 121, s_range=(-18.0, 6.0)
    ):
        from scipy.stats import gamma as gamma_dist

        self.w = np.asarray(weights, dtype=np.float64)
        self.mu = np.asarray(means, dtype=np.float64)
        self.cov = np.asarray(covs, dtype=np.float64)
        self.df = float(df)
        lam, self.U = np.linalg.eigh(self.cov)
        self.lam = np.maximum(lam, 1e-14 * lam.max(axis=1, keepdims=True))
        s = np.linspace(s_range[0], s_range[1], int(n_quad))
        self.u = np.exp(s)
        logom = gamma_dist(self.df / 2, scale=2.0 / self.df).logpdf(self.u) + s
        self.logom = logom - np.logaddexp.reduce(logom)
        self.dim = self.mu.shape[1]

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Exact draws: ``mu_k + L_k z / sqrt(u)``, ``u ~ Gamma(nu/2, rate nu/2)``."""
        k = rng.choice(len(self.w), size=n, p=self.w)
        z = rng.standard_normal((n, self.dim))
        u = rng.gamma(self.df / 2, 2.0 / self.df, size=n)
        L = self.U * np.sqrt(self.lam)[:, None, :]
        out = np.empty((n, self.dim))
        for j in range(len(self.w)):  # one product per component (no (n, d, d) gather)
            sel = k == j
            out[sel] = self.mu[j] + (z[sel] @ L[j].T) / np.sqrt(u[sel])[:, None]
        return out

    def _log_terms(self, x, sigma):
        """``L[k, i, j] = log w_k omega_j N(x_i; mu_k, Sigma_k/u_j + sigma^2 I)`` (K, n, J), with
        the per-component eigenbasis coordinates ``y_k`` and inverse variances ``1/var_kj``."""
        x = np.asarray(x, dtype=np.float64)
        K, J = len(self.w), self.u.size
        L = np.empty((K, x.shape[0], J))
        ys, ivs = [], []
        for k in range(K):
            y = (x - self.mu[k]) @ self.U[k]  # (n, d) in the eigenbasis of Sigma_k
            var = self.lam[k][None, :] / self.u[:, None] + sigma**2  # (J, d)
            iv = 1.0 / var
            np.matmul(y * y, -0.5 * iv.T, out=L[k])
            L[k] += np.log(self.w[k]) + self.logom - 0.5 * np.sum(np.log(2 * np.pi * var), axis=1)
            ys.append(y)
            ivs.append(iv)
        return L, ys, ivs

    def log_prob(self, x, sigma: float = 0.0) -> np.ndarray:
        """``log p_sigma(x)`` (quadrature)."""
        L, _, _ = self._log_terms(x, sigma)
        mx = L.max(axis=(0, 2))
        L -= mx[None, :, None]
        np.exp(L, out=L)
        return np.log(L.sum(axis=(0, 2))) + mx

    def score(self, x, sigma: float) -> np.ndarray:
        """``grad log p_sigma(x)`` of the quadrature mixture (exact for it):
        ``sum_kj r_kj Sigma_kj^{-1} (mu_k - x)``, ``r`` the normalised ``exp L``."""
        L, ys, ivs = self._log_terms(x, sigma)
        mx = L.max(axis=(0, 2))
        L -= mx[None, :, None]
        np.exp(L, out=L)
        tot = L.sum(axis=(0, 2))
        out = np.zeros((L.shape[1], self.dim))
        for k, (y, iv) in enumerate(zip(ys, ivs, strict=True)):
            # sum_j r_kj (-(y / var_j)) in the eigenbasis, rotated back
            out -= (y * (L[k] @ iv)) @ self.U[k].T
        out /= tot[:, None]
        return out

    def quadrature_error(self, x) -> float:
        """``max |log p_0(x) (quadrature) - log p_0(x) (exact multivariate t)|`` over ``x``."""
        from scipy.special import logsumexp
        from scipy.stats import multivariate_t

        exact = logsumexp(
            [
                np.log(w) + multivariate_t(m, c, df=self.df).logpdf(x)
                for w, m, c in zip(self.w, self.mu, self.cov, strict=True)
            ],
            axis=0,
        )
        return float(np.max(np.abs(self.log_prob(x) - exact)))


def student_t_mixture(
    dim: int,
    n_modes: int = 4,
    df: float = 3.0,
    seed: int = 0,
    n_standardize: int = 100_000,
    n_quad: int = 121,
    eig_floor: float = 0.0,
    standardize: str = "empirical",
    s_range=(-18.0, 6.0),
) -> StudentTMixture:
    """The heavy-tailed target of the authors' code (``src/create_data.py``), in NumPy.

    ``n_modes`` multivariate t (``df``) with locations ``U([-1, 1]^d)``, scale
    ``L = 4 A diag(u) 0.1`` as in :func:`grid_gmm`, then centred by the empirical mean of
    ``n_standardize`` draws and divided by their global std. JAX streams differ (numpy seed).

    ``eig_floor > 0`` is a deviation from the recipe, needed in high dimension: the unit
    lower-triangular ``A`` with ``N(0, 1)`` off-diagonals is exponentially ill-conditioned in
    ``d`` (each ``Sigma_k = L L^T`` has condition number ~1e5 at d = 10 but is singular to
    machine precision, ~1e16-1e18, at d = 100), so each ``Sigma_k``'s eigenvalues are floored
    at ``eig_floor`` times its largest (``Sigma_k <- U max(Lambda, eig_floor lambda_max) U^T``:
    eigenvectors and the large eigenvalues unchanged). Default 0: the recipe as published.
    """
    rng = np.random.default_rng(seed)
    mu = rng.uniform(-1.0, 1.0, size=(n_modes, dim))
    w = rng.dirichlet(np.ones(n_modes))
    A = np.tril(rng.standard_normal((n_modes, dim, dim)), k=-1) + np.eye(dim)[None]
    u = rng.uniform(0.1, 1.0, size=(n_modes, dim))
    L = 4.0 * A * u[:, None, :] * 0.1
    cov = np.matmul(L, L.transpose(0, 2, 1))
    if eig_floor < 0:
        raise ValueError(f"eig_floor must be >= 0, got {eig_floor!r}")
    if eig_floor > 0:
        lam, V = np.linalg.eigh(cov)
        lam = np.maximum(lam, float(eig_floor) * lam[:, -1:])
        cov = np.matmul(V * lam[:, None, :], V.transpose(0, 2, 1))
        cov = 0.5 * (cov + cov.transpose(0, 2, 1))
    if standardize == "exact":
        m, s = _t_mixture_standardization(w, mu, cov, df)
    elif standardize == "empirical":
        x = StudentTMixture(w, mu, cov, df, 3).sample(int(n_standardize), rng)
        m, s = x.mean(axis=0), float(x.std())
    else:
        raise ValueError(f"standardize must be 'empirical' or 'exact', got {standardize!r}")
    return StudentTMixture(w, (mu - m) / s, cov / s**2, df, n_quad, s_range)


def _t_mixture_standardization(w, mu, cov, df):
    """Exact counterparts of the empirical ``x.mean(axis=0)`` and ``x.std()`` (all entries):
    ``m = sum w_k mu_k``, ``C = sum w_k (Sigma_k nu/(nu-2) + mu_k mu_k^T) - m m^T``,
    ``s^2 = (tr C + sum_i (m_i - mean(m))^2) / d``."""
    if not df > 2:
        raise ValueError(f"exact standardisation needs df > 2 (finite variance), got {df!r}")
    m = w @ mu
    C = np.einsum("k,kij->ij", w, cov * df / (df - 2) + mu[:, :, None] * mu[:, None, :])
    C -= np.outer(m, m)
    s2 = (np.trace(C) + np.sum((m - m.mean()) ** 2)) / m.size
    return m, float(np.sqrt(s2))
