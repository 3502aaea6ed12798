"""verify.tightness.gaussian: the vectorised exact rungs against the toolkit's exact laws.

References: ``analytic.sde`` (schedules), ``verify.solvers.chain_laws.exact_law`` (the Euler
chain's law, one setting at a time), ``continuous_kl_closed_form`` (formula (G)), and the LSI
exponent by adaptive quadrature of ``gamma g2 / analytic.lsi.marginal_lsi_bound``.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from scipy import integrate

from analytic import EDM, OU, VE, VP, Gaussian, kl
from analytic.lsi import marginal_lsi_bound
from verify.errors import ScoreError
from verify.solvers.chain_laws import continuous_kl_closed_form, exact_law
from verify.solvers.grids import uniform
from verify.tightness import (
    continuous_kl,
    continuous_kl_mp,
    euler_chain_kl,
    euler_chain_kl_mp,
    lsi_rate_bound,
    lsi_rate_bound_mp,
    reverse_family_kl,
    reverse_family_kl_mp,
    schedule,
    schedule_mp,
)

PARS = {"VP": {"beta_min": 0.1, "beta_max": 20.0}, "VE": {"sigma_min": 0.01, "sigma_max": 10.0}}


def _sde(name, T):
    if name == "EDM":
        return EDM(T)
    if name == "VP":
        return VP(0.1, 20.0, T=T)
    if name == "VE":
        return VE(0.01, 10.0, T=T)
    return OU(T=T)


class _ScaleOffset(ScoreError):
    """``s~ = k s + b`` (an affine error the exact law handles)."""

    def __init__(self, score, k, b):
        super().__init__(score)
        self.k, self.b = k, np.asarray(b, dtype=float)

    def error(self, x, t):
        return (self.k - 1.0) * np.asarray(self.score(x, t)) + self.b

    def affine_parts(self, t, dim):
        return self.k, 0.0, np.broadcast_to(self.b, (dim,))


@pytest.mark.parametrize("name", ["OU", "VP", "VE", "EDM"])
def test_schedule_matches_analytic(name):
    sde = _sde(name, 2.0)
    t = np.linspace(0.0, 2.0, 17)
    f, g2, al, s2, sb = schedule(name, t, **PARS.get(name, {}))
    np.testing.assert_allclose(f, sde.f(t) * np.ones_like(t), rtol=1e-14)
    np.testing.assert_allclose(g2, sde.g2(t) * np.ones_like(t), rtol=1e-14)
    np.testing.assert_allclose(al, sde.alpha(t) * np.ones_like(t), rtol=1e-14)
    np.testing.assert_allclose(s2, sde.sigma2(t), rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(sb, sde.sigma2(t) / sde.alpha(t) ** 2, rtol=1e-13, atol=1e-300)
    with mpmath.workdps(30):
        vals = schedule_mp(name, 0.7, **PARS.get(name, {}))
        assert float(vals[3]) == pytest.approx(float(sde.sigma2(0.7)), rel=1e-14)
        assert float(vals[2]) == pytest.approx(float(sde.alpha(0.7)), rel=1e-14)


def _exact(name, lam, m0, N, gamma, T, t_min, k, b, start, direction):
    sde = _sde(name, T)
    data = Gaussian(m0, np.diag(lam))
    init = sde.marginal(data, T) if start == "exact" else sde.prior(len(lam))
    law = exact_law(
        sde,
        data,
        init,
        uniform(sde, N, t_min=t_min),
        gamma,
        "euler",
        _ScaleOffset(sde.score(data), k, b),
    )
    target = sde.marginal(data, t_min)
    return kl(law, target) if direction == "chain||data" else kl(target, law)


@pytest.mark.parametrize("name", ["OU", "VP", "VE"])
@pytest.mark.parametrize("start", ["exact", "prior"])
@pytest.mark.parametrize("direction", ["chain||data", "data||chain"])
def test_euler_chain_kl_matches_exact_law(name, start, direction):
    rng = np.random.default_rng([3, len(name), len(start), len(direction)])
    for d in (1, 3):
        lam, m0 = rng.uniform(0.1, 4.0, d), rng.normal(size=d)
        N, g = int(rng.integers(2, 40)), float(rng.uniform(0.0, 3.0))
        T, t_min = float(rng.uniform(0.5, 2.0)), float(rng.uniform(1e-3, 0.1))
        k, b = float(rng.uniform(0.7, 1.3)), 0.3 * rng.normal(size=d)
        ref = _exact(name, lam, m0, N, g, T, t_min, k, b, start, direction)
        kw = dict(
            sde=name,
            T=T,
            t_min=t_min,
            mean=m0,
            offset=b,
            scale=k,
            start=start,
            direction=direction,
            **PARS.get(name, {}),
        )
        assert euler_chain_kl(lam, N, g, **kw) == pytest.approx(ref, rel=1e-10)
        with mpmath.workdps(40):
            assert float(euler_chain_kl_mp(lam, N, g, **kw)) == pytest.approx(ref, rel=1e-10)


def test_euler_chain_kl_batch_equals_single_settings():
    rng = np.random.default_rng(5)
    n, d = 12, 4
    lam = rng.uniform(0.2, 5.0, (n, d))
    N = rng.integers(1, 30, n)
    g = rng.uniform(0.0, 2.0, n)
    bmax = rng.uniform(5.0, 25.0, n)
    off = rng.normal(size=(n, d)) * 0.2
    batch = euler_chain_kl(lam, N, g, sde="VP", beta_max=bmax, offset=off, scale=0.9)
    assert batch.shape == (n,)
    for i in range(n):
        one = euler_chain_kl(
            lam[i], int(N[i]), g[i], sde="VP", beta_max=bmax[i], offset=off[i], scale=0.9
        )
        assert batch[i] == pytest.approx(one, rel=1e-13)


def test_one_dimensional_lam_is_one_eigenvalue_per_setting_in_a_batch():
    # a (n,) lam with (n,) step counts: n settings in d = 1, not one setting in d = n
    lam = np.array([0.01, 0.5, 2.0, 9.0])
    N = np.array([10, 20, 5, 40])
    g = np.array([2.0, 1.0, 0.0, 0.5])
    batch = euler_chain_kl(lam, N, g, sde="VP")
    single = [
        euler_chain_kl(float(a), int(n), float(b), sde="VP")
        for a, n, b in zip(lam, N, g, strict=True)
    ]
    np.testing.assert_allclose(batch, single, rtol=1e-13)
    # the same lam as the eigenvalues of one setting in d = 4 (all arguments scalars)
    assert np.ndim(euler_chain_kl(lam, 10, 1.0)) == 0
    with pytest.raises(ValueError, match="ambiguous"):
        euler_chain_kl(np.ones(3), np.array([5, 6]))


def test_euler_chain_kl_bad_inputs():
    with pytest.raises(ValueError, match="n_steps"):
        euler_chain_kl(1.0, 0)
    with pytest.raises(ValueError, match="gamma"):
        euler_chain_kl(1.0, 5, -1.0)
    with pytest.raises(ValueError, match="t_min"):
        euler_chain_kl(1.0, 5, T=1.0, t_min=1.0)
    with pytest.raises(ValueError, match="sde"):
        euler_chain_kl(1.0, 5, sde="VPX")
    with pytest.raises(ValueError, match="lengths"):
        euler_chain_kl(np.ones((3, 2)), np.array([5, 6]))
    with pytest.raises(ValueError, match="lengths"):
        continuous_kl(np.ones((3, 2)), np.array([0.5, 1.0]))


@pytest.mark.parametrize("name", ["OU", "VP", "VE"])
def test_continuous_kl_and_lsi_rate_bound(name):
    rng = np.random.default_rng([7, len(name)])
    for _ in range(3):
        d = 2
        lam, m0 = rng.uniform(0.1, 4.0, d), rng.normal(size=d)
        T = float(rng.uniform(0.3, 2.0))
        t, g = float(rng.uniform(0.0, T)), float(rng.uniform(0.0, 3.0))
        delta, ratio = rng.normal(size=d), rng.uniform(0.3, 3.0, d)
        sde = _sde(name, T)
        data = Gaussian(m0, np.diag(lam))
        pT = sde.marginal(data, T)
        S = np.diag(pT.cov)
        init = Gaussian(pT.mean + delta * np.sqrt(S), np.diag(ratio * S))
        kw = dict(sde=name, T=T, t=t, delta=delta, ratio=ratio, **PARS.get(name, {}))
        ref = continuous_kl_closed_form(sde, data, init, [t], g)[0]
        assert continuous_kl(lam, g, **kw) == pytest.approx(ref, rel=1e-12)
        # the bound: H_T exp(-int_t^T gamma g2 / C(p_u)), quadrature of analytic.lsi's constant
        top = float(lam.max())
        expo = integrate.quad(
            lambda u, g=g, sde=sde, top=top: (
                g * float(sde.g2(u)) / float(marginal_lsi_bound(sde, top, u))
            ),
            t,
            T,
            epsrel=1e-13,
            limit=200,
        )[0]
        H0 = kl(init, pT)
        bound = lsi_rate_bound(lam, g, **kw)
        assert bound == pytest.approx(H0 * np.exp(-expo), rel=1e-10)
        assert bound >= ref * (1 - 1e-12)
        with mpmath.workdps(30):
            assert float(continuous_kl_mp(lam, g, **kw)) == pytest.approx(ref, rel=1e-12)
            assert float(lsi_rate_bound_mp(lam, g, **kw)) == pytest.approx(bound, rel=1e-12)


def test_lsi_rate_bound_is_an_equality_for_a_mean_offset_along_the_top_direction():
    # (G): r_0 = 1 and the offset in the top direction decays exactly at the LSI rate
    lam = np.array([[3.0, 0.5]])
    kw = dict(sde="VP", T=1.0, t=0.2, delta=np.array([[1.3, 0.0]]), ratio=1.0)
    assert lsi_rate_bound(lam, 1.5, **kw)[0] == pytest.approx(
        continuous_kl(lam, 1.5, **kw)[0], rel=1e-14
    )


@pytest.mark.parametrize("name", ["OU", "VP", "VE", "EDM"])
def test_reverse_family_with_scale_and_offset_errors_matches_the_moment_ode(name):
    # exact_law integrates the moment ODE (DOP853, rtol 1e-11); the closed form is exact
    rng = np.random.default_rng([13, len(name)])
    for _ in range(2):
        d = 2
        lam, m0 = rng.uniform(0.1, 4.0, d), rng.normal(size=d)
        T, g = float(rng.uniform(0.3, 1.5)), float(rng.uniform(0.0, 3.0))
        k, b = float(rng.uniform(0.6, 1.4)), 0.5 * rng.normal(size=d)
        delta, ratio = 0.5 * rng.normal(size=d), rng.uniform(0.5, 2.0, d)
        sde = _sde(name, T)
        data = Gaussian(m0, np.diag(lam))
        pT = sde.marginal(data, T)
        S = np.diag(pT.cov)
        init = Gaussian(pT.mean + delta * np.sqrt(S), np.diag(ratio * S))
        nodes = np.linspace(T, 0.01, 7)
        _, tr = exact_law(
            sde, data, init, nodes, gamma=g, method=None, trajectory=True, solver="ode",
            score_error=_ScaleOffset(sde.score(data), k, b),
        )  # fmt: skip
        kw = dict(sde=name, T=T, delta=delta, ratio=ratio, offset=b, scale=k,
                  **PARS.get(name, {}))  # fmt: skip
        got = reverse_family_kl(lam, g, t=nodes[None, :], **kw)[0]
        np.testing.assert_allclose(got, tr.kl, rtol=1e-9)
        target, law = sde.marginal(data, nodes[-1]), tr.law(len(nodes) - 1)
        rev = reverse_family_kl(lam, g, t=nodes[-1], direction="data||chain", **kw)
        assert float(np.ravel(rev)[0]) == pytest.approx(kl(target, law), rel=1e-9)
        with mpmath.workdps(30):
            mp = float(reverse_family_kl_mp(lam, g, t=nodes[-1], **kw))
        assert mp == pytest.approx(tr.kl[-1], rel=1e-9)


def test_reverse_family_with_the_exact_score_is_formula_g():
    lam = np.array([[2.0, 0.3]])
    kw = dict(sde="VP", T=1.0, t=0.1, delta=np.array([[0.7, -0.4]]), ratio=np.array([[1.5, 0.6]]))
    np.testing.assert_allclose(
        reverse_family_kl(lam, 1.3, **kw), continuous_kl(lam, 1.3, **kw), rtol=1e-13
    )
