"""Convergence orders, parametrised from ``verify.solvers.orders.EXPECTED_ORDERS`` (diffrax style).

Weak orders are measured exactly (``exact_law`` chain vs continuous-time law); strong orders
with particles on nested grids driven by one Brownian path.
"""

from __future__ import annotations

import numpy as np
import pytest

from analytic import OU, VP, Gaussian
from verify.solvers.orders import EXPECTED_ORDERS, OrderResult, strong_order, weak_order

DATA = Gaussian(np.array([1.0, -0.5]), np.array([[2.0, 0.6], [0.6, 0.5]]))
# (sde, t_min, step counts) in the asymptotic regime of every method; t_min > 0 keeps the
# ancestral step's sqrt(sigma2(s)/sigma2(t)) smooth (ORDER_NOTES)
SETTINGS = {
    "OU": (OU(T=2.0), 0.5, (160, 320, 640, 1280)),
    "VP": (VP(0.1, 8.0), 0.05, (80, 160, 320, 640)),
}
WEAK = [
    (m, s) for m in EXPECTED_ORDERS for s in SETTINGS if not (m == "pc" and s == "VP")
]  # pc on VP: its O(snr^2) bias shows only beyond ~10^4 steps (see test below)
STRONG = [m for m, o in EXPECTED_ORDERS.items() if o["strong"] is not None]


def _fast_score(sde, data):
    def score(x, t):
        pt = sde.marginal(data, t)
        return (pt.mean - x) @ np.linalg.solve(pt.cov, np.eye(data.dim))

    return score


@pytest.mark.parametrize("method,setting", WEAK)
def test_weak_order_matches_table(method, setting):
    sde, t_min, steps = SETTINGS[setting]
    res = weak_order(sde, DATA, method=method, n_steps_list=steps, t_min=t_min)
    assert isinstance(res, OrderResult)
    assert res.expected == EXPECTED_ORDERS[method]["weak"]
    assert res.agrees, res
    assert abs(res.local_slopes[-1] - res.expected) < 0.3, res


def test_weak_order_with_kl_metric_is_twice_the_order():
    sde, t_min, steps = SETTINGS["OU"]
    res = weak_order(sde, DATA, method="euler", n_steps_list=steps, t_min=t_min, metric="kl")
    assert res.expected == 2 and res.agrees, res


def test_pc_bias_does_not_vanish_and_vanishes_with_snr():
    sde, t_min, steps = SETTINGS["OU"]
    res = weak_order(sde, DATA, method="pc", n_steps_list=steps, t_min=t_min)
    assert res.errors[-1] > 0.9 * res.errors[0]  # saturates: O(snr^2) Langevin bias
    small = weak_order(sde, DATA, method="pc", n_steps_list=steps, t_min=t_min, snr=1e-4)
    assert abs(small.slope - 1.0) < 0.3, small  # the predictor's order
    weaker = weak_order(sde, DATA, method="pc", n_steps_list=steps, t_min=t_min, snr=0.08)
    assert weaker.errors[-1] < 0.5 * res.errors[-1]  # bias ~ snr^2


def test_weak_order_with_affine_score_error_and_wrong_prior():
    from verify.solvers.chain_laws import exact_law

    class Offset:
        def affine_parts(self, t, dim):
            return 0.9, 0.0, np.array([0.3, -0.1])

    sde, t_min, steps = SETTINGS["VP"]
    res = weak_order(
        sde, DATA, Gaussian(np.zeros(2), 1.0), 1.0, "euler", steps, t_min=t_min,
        score_error=Offset(),
    )  # fmt: skip
    assert res.extra["reference"] == "ode"
    assert res.agrees, res
    # the reference really is the continuous-time law (not p_{t_min})
    ref = exact_law(sde, DATA, Gaussian(np.zeros(2), 1.0), (1.0, t_min), 1.0, None, Offset())
    assert np.linalg.norm(ref.mean - sde.marginal(DATA, t_min).mean) > 0.01


@pytest.mark.parametrize("method", STRONG)
def test_strong_order_matches_table(method):
    sde = VP(0.1, 8.0)
    res = strong_order(
        sde, DATA, method=method, n_steps_list=(16, 32, 64, 128), n_particles=1000,
        rng=np.random.default_rng(5), t_min=0.05, score=_fast_score(sde, DATA),
    )  # fmt: skip
    assert res.expected == EXPECTED_ORDERS[method]["strong"]
    assert res.agrees, res


def test_bad_inputs():
    sde = OU()
    with pytest.raises(ValueError, match="n_steps_list"):
        weak_order(sde, DATA, method="euler", n_steps_list=(10,))
    with pytest.raises(ValueError, match="metric"):
        weak_order(sde, DATA, method="euler", metric="w2")
    with pytest.raises(ValueError, match="pc"):
        strong_order(sde, DATA, method="pc")


def test_table_is_complete():
    from verify.solvers.chain_laws import METHODS

    assert set(EXPECTED_ORDERS) == set(METHODS)
    for orders in EXPECTED_ORDERS.values():
        assert set(orders) == {"weak", "strong"}
