"""Symbolic proofs (sympy) of the closed forms the toolkit relies on.

* ``fokker_planck_residual``: for a 1-D Gaussian mixture ``p_0 = sum_k w_k N(mu_k, s_k)`` and
  the linear SDE ``dX = f(t) X dt + g(t) dW`` with *arbitrary* functions ``f, g``, the claimed
  marginal ``p_t = sum_k w_k N(alpha mu_k, alpha^2 s_k + sigma2)`` with
  ``alpha = exp(int_0^t f)``, ``sigma2 = alpha^2 int_0^t g^2/alpha^2`` solves the forward
  Fokker-Planck equation

      d/dt p = -d/dx (f x p) + 1/2 g^2 d^2/dx^2 p .

  The returned residual simplifies to 0.
* ``score_residual``: the mixture score ``sum_k pi_k (alpha mu_k - x)/S_k`` equals
  ``d/dx log p_t`` (docs/analytic.md, "Gaussian mixtures").
* ``preset_residuals``: for each preset SDE, the sympy derivation of ``(alpha, sigma2)`` from
  ``(f, g^2)`` minus the published closed form (Song et al. 2021), with symbolic parameters.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["fokker_planck_residual", "score_residual", "preset_residuals", "mixture_marginal_1d"]

x, t, u, v = sp.symbols("x t u v", real=True)


def _general_sde():
    """``(f, g, alpha, sigma2, rules)`` for arbitrary ``f, g``.

    ``A(t) = int_0^t f`` and ``I(t) = int_0^t g^2 e^{-2A}`` are opaque functions; ``rules``
    replaces their derivatives by the integrands (fundamental theorem of calculus).
    """
    f, g = sp.Function("f")(t), sp.Function("g")(t)
    A, I = sp.Function("A")(t), sp.Function("I")(t)
    alpha = sp.exp(A)
    sigma2 = alpha**2 * I
    rules = {sp.Derivative(A, t): f, sp.Derivative(I, t): g**2 * sp.exp(-2 * A)}
    return f, g, alpha, sigma2, rules


def mixture_marginal_1d(
    n_components: int = 2, alpha: sp.Expr | None = None, sigma2: sp.Expr | None = None
) -> tuple[sp.Expr, tuple[sp.Symbol, ...], tuple[sp.Symbol, ...], tuple[sp.Symbol, ...]]:
    """``(p_t, weights, means, variances)`` of a symbolic 1-D mixture under a linear SDE."""
    w = sp.symbols(f"w0:{n_components}", positive=True)
    mu = sp.symbols(f"mu0:{n_components}", real=True)
    s = sp.symbols(f"s0:{n_components}", positive=True)
    if alpha is None:
        _, _, alpha, sigma2, _ = _general_sde()
    p = sum(
        w[k]
        * sp.exp(-((x - alpha * mu[k]) ** 2) / (2 * (alpha**2 * s[k] + sigma2)))
        / sp.sqrt(2 * sp.pi * (alpha**2 * s[k] + sigma2))
        for k in range(n_components)
    )
    return p, w, mu, s


def fokker_planck_residual(n_components: int = 2) -> sp.Expr:
    """Residual of the forward FP equation for the claimed mixture marginal (should be 0).

    Returns the simplified residual ``d_t p + d_x(f x p) - g^2/2 d_xx p``, divided by ``p``'s
    components one by one (the equation is linear in the weights) to keep sympy fast.
    """
    f, g, alpha, sigma2, rules = _general_sde()
    total = sp.Integer(0)
    for k in range(n_components):
        mu, s = sp.symbols(f"mu{k}", real=True), sp.symbols(f"s{k}", positive=True)
        S = alpha**2 * s + sigma2
        pk = sp.exp(-((x - alpha * mu) ** 2) / (2 * S)) / sp.sqrt(2 * sp.pi * S)
        dpdt = sp.diff(pk, t).subs(rules)
        res = dpdt + sp.diff(f * x * pk, x) - g**2 / 2 * sp.diff(pk, x, 2)
        total += sp.simplify(sp.expand(sp.simplify(res / pk)))
    return sp.simplify(total)


def score_residual(n_components: int = 2) -> sp.Expr:
    """``d/dx log p_t - sum_k pi_k (alpha mu_k - x)/S_k`` for a symbolic mixture (should be 0)."""
    a, s2 = sp.symbols("alpha sigma2", positive=True)
    p, w, mu, s = mixture_marginal_1d(n_components, a, s2)
    comps = [
        w[k]
        * sp.exp(-((x - a * mu[k]) ** 2) / (2 * (a**2 * s[k] + s2)))
        / sp.sqrt(2 * sp.pi * (a**2 * s[k] + s2))
        for k in range(n_components)
    ]
    formula = sum(c / p * (a * mu[k] - x) / (a**2 * s[k] + s2) for k, c in enumerate(comps))
    return sp.simplify(sp.diff(sp.log(p), x) - formula)


def preset_residuals() -> dict[str, tuple[sp.Expr, sp.Expr]]:
    """``{name: (alpha_derived - alpha_published, sigma2_derived - sigma2_published)}``.

    Parameters are symbols (``beta_0 < beta_1``, ``0 < sigma_min < sigma_max``), so the
    statement holds for every schedule, not only the default numbers.
    """
    from .sde import derive_transition, t_sym  # noqa: I001 - lazy: sde imports sympy workers

    b0, b1 = sp.symbols("beta_0 beta_1", positive=True)
    smin, r = sp.symbols("sigma_min r", positive=True)  # r = sigma_max / sigma_min
    tt = t_sym
    beta = b0 + (b1 - b0) * tt
    B = b0 * tt + (b1 - b0) * tt**2 / 2
    cases = {
        "OU": (-1, 2, sp.exp(-tt), 1 - sp.exp(-2 * tt)),
        "VP": (-beta / 2, beta, sp.exp(-B / 2), 1 - sp.exp(-B)),
        "SubVP": (-beta / 2, beta * (1 - sp.exp(-2 * B)), sp.exp(-B / 2), (1 - sp.exp(-B)) ** 2),
        "VE": (
            0,
            sp.diff(smin**2 * r ** (2 * tt), tt),
            sp.Integer(1),
            smin**2 * r ** (2 * tt) - smin**2,
        ),
        "EDM": (0, 2 * tt, sp.Integer(1), tt**2),
    }
    out = {}
    for name, (f, g2, a_pub, s_pub) in cases.items():
        a, s2, _ = derive_transition(f, g2)
        out[name] = (sp.simplify(a - a_pub), sp.simplify(sp.expand(s2 - s_pub)))
    return out
