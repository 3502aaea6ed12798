"""Tests of verify.theory.student_t (multivariate Student-t law and its ECME fit)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import multivariate_t

from verify.estimators import mean_ci
from verify.theory.student_t import StudentT, fit_student_t


def _law(df=4.0):
    return StudentT([1.0, -0.5, 0.2], [[1.0, 0.3, 0.0], [0.3, 0.8, 0.1], [0.0, 0.1, 0.5]], df)


def test_log_prob_is_scipys_multivariate_t():
    p = _law()
    x = p.sample(50, np.random.default_rng(0))
    ref = multivariate_t(p.mean, p.scale, df=p.df).logpdf(x)
    np.testing.assert_allclose(p.log_prob(x), ref, rtol=1e-12)


def test_sample_has_the_t_covariance():
    p = _law(df=6.0)  # finite fourth moments: CLT intervals for the second moments
    x = p.sample(400_000, np.random.default_rng(1))
    cov = p.scale * p.df / (p.df - 2)
    for i in range(3):
        assert mean_ci(x[:, i], 0.999).contains(p.mean[i])
        assert mean_ci((x[:, i] - p.mean[i]) ** 2, 0.999).contains(cov[i, i])


def test_fit_recovers_the_parameters_and_never_decreases_the_likelihood():
    p = _law(df=3.0)
    x = p.sample(20_000, np.random.default_rng(2))
    fit = fit_student_t(x)
    assert fit.converged
    assert np.all(np.diff(fit.history) >= -1e-12)
    assert fit.law.df == pytest.approx(3.0, rel=0.1)
    np.testing.assert_allclose(fit.law.mean, p.mean, atol=0.03)
    np.testing.assert_allclose(fit.law.scale, p.scale, atol=0.05)
    # the maximum-likelihood fit is at least as likely as the truth
    assert fit.log_likelihood >= float(np.mean(p.log_prob(x))) - 1e-9
    fixed = fit_student_t(x, df=3.0)
    assert fixed.law.df == 3.0 and fixed.log_likelihood <= fit.log_likelihood + 1e-9


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="n > d"):
        fit_student_t(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        fit_student_t(np.full((10, 2), np.nan))
    with pytest.raises(ValueError, match="df"):
        StudentT([0.0], [[1.0]], -1.0)
    with pytest.raises(ValueError, match="scale"):
        StudentT([0.0, 1.0], [[1.0]], 3.0)
