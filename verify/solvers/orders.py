"""Convergence orders of the samplers, measured; the expected orders are the method records.

``EXPECTED_ORDERS`` is read from ``verify.solvers.methods.METHODS`` (the single source of
truth): ``{method: {"weak": p, "strong": q}}`` (``None`` where an order is not defined), in the
step size ``h`` of uniform grids, for the reverse family with a smooth (here: exact Gaussian)
score.

* Weak order, measured exactly (rung 2): for Gaussian data and the exact score the output
  law of a chain is Gaussian (``verify.solvers.chain_laws``); the weak error is the distance
  between the moments of the chain's law and of the continuous-time law on the same span,
  ``|m_N - m(t_min)| + ||C_N - C(t_min)||_F`` (or their KL, whose slope is twice the order).
  With ``init = p_T`` and the exact score the continuous-time law is ``p_{t_min}``.
* Strong order, measured by Monte Carlo (rung 4): nested uniform grids driven by one
  ``BrownianPath`` (the same Brownian path at every step count), reference = a grid
  ``ref_factor`` times finer than the finest; error = RMS over particles of the endpoint
  distance. Additive noise, so Euler-Maruyama is strong order 1 (Kloeden & Platen §10.2).

The caveats of ``pc`` (weak order 0 at a fixed snr) and ``ancestral`` (``t_min > 0``) are in
the records' ``notes`` (``ORDER_NOTES``); ``python -m verify.solvers.orders`` prints a table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from analytic import Gaussian, kl

from .chain_laws import exact_law
from .grids import uniform
from .methods import METHODS

if TYPE_CHECKING:
    from collections.abc import Sequence

    from analytic import LinearSDE

    from .types import Gamma, Score, ScoreError

__all__ = ["EXPECTED_ORDERS", "ORDER_NOTES", "OrderResult", "weak_order", "strong_order"]

EXPECTED_ORDERS: dict[str, dict[str, float | None]] = {
    name: {"weak": m.weak_order, "strong": m.strong_order} for name, m in METHODS.items()
}
"""Weak/strong orders in ``h`` (uniform grids, smooth score, ``t_min > 0`` for ``ancestral``)."""

ORDER_NOTES = {name: m.notes for name, m in METHODS.items() if m.notes}


def _default_gamma(method: str) -> float:
    return METHODS[method].default_gamma if method in METHODS else 1.0


@dataclass
class OrderResult:
    """A measured convergence order: ``errors ~ C h^slope``.

    ``steps`` step counts, ``h`` step sizes, ``errors`` the errors, ``slope`` the fitted
    order (``np.polyfit`` of ``log error`` on ``log h``), ``expected`` from
    ``EXPECTED_ORDERS`` (doubled for a KL metric), ``tolerance`` the allowed deviation.
    """

    method: str
    kind: str
    steps: np.ndarray
    h: np.ndarray
    errors: np.ndarray
    slope: float
    expected: float | None
    tolerance: float
    metric: str = "moments"
    extra: dict = field(default_factory=dict)

    @property
    def local_slopes(self) -> np.ndarray:
        """Slopes between consecutive step counts (shows whether the fit is asymptotic)."""
        return np.diff(np.log(self.errors)) / np.diff(np.log(self.h))

    @property
    def agrees(self) -> bool:
        """``|slope - expected| <= tolerance`` (False if no order is expected)."""
        return self.expected is not None and abs(self.slope - self.expected) <= self.tolerance

    def __repr__(self) -> str:
        return (
            f"OrderResult({self.kind} {self.method}: slope {self.slope:.3f}, expected "
            f"{self.expected}, tol {self.tolerance}, "
            f"errors {np.array2string(self.errors, precision=3)})"
        )


def _fit(h, errors) -> float:
    return float(np.polyfit(np.log(h), np.log(errors), 1)[0])


def _steps(n_steps_list):
    steps = np.array(sorted(int(n) for n in n_steps_list))
    if steps.size < 2 or steps[0] < 1:
        raise ValueError("n_steps_list needs at least two positive step counts")
    return steps


def weak_order(
    sde: LinearSDE,
    data: Gaussian,
    init: Gaussian | None = None,
    gamma: Gamma | None = None,
    method: str = "euler",
    n_steps_list: Sequence[int] = (40, 80, 160, 320, 640),
    *,
    t_min: float = 1e-3,
    T: float | None = None,
    score_error: ScoreError | None = None,
    metric: str = "moments",
    tolerance: float = 0.3,
    **method_kwargs: object,
) -> OrderResult:
    """Weak order of ``method``, exactly: chain law (``exact_law``) vs continuous-time law.

    ``init`` defaults to ``p_T`` (then the continuous-time law is ``p_{t_min}``); ``gamma``
    defaults to 0 for ``heun`` and 1 otherwise. ``metric="moments"`` uses
    ``|dm| + ||dC||_F``; ``metric="kl"`` uses ``kl(chain || continuous)`` (slope ``2 p``).
    """
    T = float(sde.T if T is None else T)
    if init is None:
        init = sde.marginal(data, T)
    if gamma is None:
        gamma = _default_gamma(method)
    if metric not in ("moments", "kl"):
        raise ValueError(f"metric must be 'moments' or 'kl', got {metric!r}")
    steps = _steps(n_steps_list)
    ref = exact_law(sde, data, init, (T, t_min), gamma=gamma, method=None, score_error=score_error)
    errors = []
    for n in steps:
        law = exact_law(
            sde,
            data,
            init,
            uniform(sde, n, t_min, T),
            gamma,
            method,
            score_error,
            **method_kwargs,
        )
        if metric == "kl":
            errors.append(kl(law, ref))
        else:
            errors.append(
                np.linalg.norm(law.mean - ref.mean) + np.linalg.norm(law.cov - ref.cov, "fro")
            )
    errors = np.array(errors)
    h = (T - t_min) / steps
    p = EXPECTED_ORDERS.get(method, {}).get("weak")
    expected = None if p is None else (2 * p if metric == "kl" else p)
    return OrderResult(
        method,
        "weak",
        steps,
        h,
        errors,
        _fit(h, errors),
        expected,
        tolerance,
        metric,
        {"reference": ref.solver},
    )


def strong_order(
    sde: LinearSDE,
    data: Gaussian,
    gamma: Gamma | None = None,
    method: str = "euler",
    n_steps_list: Sequence[int] = (16, 32, 64, 128),
    *,
    n_particles: int = 2000,
    rng: np.random.Generator | None = None,
    init: Gaussian | None = None,
    t_min: float = 1e-3,
    ref_factor: int = 8,
    score: Score | None = None,
    tolerance: float = 0.3,
    **method_kwargs: object,
) -> OrderResult:
    """Strong order of ``method`` with particles (``verify.solvers.particles.reverse_sample``).

    All grids are uniform on ``[t_min, sde.T]`` and nested; one ``BrownianPath`` drives
    all of them, and the same starting particles ``x_T ~ init`` (default ``p_T``) are used.
    The reference is the grid with ``ref_factor * max(n_steps_list)`` steps; the error is
    ``sqrt(mean ||X_N - X_ref||^2)`` over particles.
    """
    from .brownian import BrownianPath
    from .particles import reverse_sample

    if method == "pc":
        raise ValueError("strong order is not defined for 'pc' (see ORDER_NOTES['pc'])")
    if rng is None:
        rng = np.random.default_rng(0)
    if gamma is None:
        gamma = _default_gamma(method)
    T = float(sde.T)
    if init is None:
        init = sde.marginal(data, T)
    if score is None:
        score = sde.score(data)
    steps = _steps(n_steps_list)
    n_ref = int(ref_factor) * int(steps[-1])
    if any(n_ref % n for n in steps):
        raise ValueError("ref_factor * max(n_steps_list) must be a multiple of every step count")
    x_T = init.sample(n_particles, rng)
    path = BrownianPath(n_particles, data.dim, rng)

    def run(n):
        return reverse_sample(
            sde,
            score,
            x_T,
            uniform(sde, n, t_min, T),
            gamma,
            method,
            rng,
            noise=path,
            **method_kwargs,
        )

    x_ref = run(n_ref)
    errors = np.array([np.sqrt(np.mean(np.sum((run(n) - x_ref) ** 2, axis=1))) for n in steps])
    h = (T - t_min) / steps
    return OrderResult(
        method,
        "strong",
        steps,
        h,
        errors,
        _fit(h, errors),
        EXPECTED_ORDERS.get(method, {}).get("strong"),
        tolerance,
        "rms",
        {"n_particles": n_particles, "n_ref": n_ref},
    )


if __name__ == "__main__":  # pragma: no cover - a quick table of measured orders
    from analytic import VP

    _sde = VP(0.1, 8.0)
    _data = Gaussian(np.array([1.0, -0.5]), np.array([[2.0, 0.6], [0.6, 0.5]]))
    for _m in EXPECTED_ORDERS:
        print(weak_order(_sde, _data, method=_m, t_min=0.05))
        if EXPECTED_ORDERS[_m]["strong"] is not None:
            print(strong_order(_sde, _data, method=_m, t_min=0.05))
