"""pytest fixture and hypothesis strategies for checking a sampler with ``verify.kit.conformance``.

One test, in a user's project::

    # conftest.py
    pytest_plugins = ["verify.kit.pytest_plugin"]

    # test_sampler.py
    def test_my_sampler(check_sampler):
        check_sampler(my_sampler, convention="k-diffusion", method="euler_ancestral", eta=1.0)

The fixture runs :func:`verify.kit.conformance.check_sampler` (same arguments) and fails the test,
printing every check's verdict and numbers, unless the verdict is ``holds``; it returns the
:class:`~verify.kit.conformance.ConformanceReport`. Pass ``expect="fails"`` to assert that a
deliberately broken sampler is caught. ``pytest --conformance-full`` uses the full budget.

Strategies: :func:`conformance_targets` draws Gaussian targets (dimension 1..3, well-conditioned
covariances with eigenvalues in [0.1, 4]) to run the kit on several targets::

    from hypothesis import given, settings
    from verify.kit.pytest_plugin import conformance_targets

    @settings(max_examples=5, deadline=None)
    @given(target=conformance_targets())
    def test_my_sampler_any_target(check_sampler, target):
        check_sampler(my_sampler, "k-diffusion", "euler", data=target)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

if TYPE_CHECKING:
    from collections.abc import Callable

    from hypothesis.strategies import SearchStrategy

    from analytic import Gaussian
    from verify.kit.report import ConformanceReport

__all__ = ["check_sampler", "conformance_targets", "pytest_addoption"]


def pytest_addoption(
    parser: pytest.Parser,
) -> None:
    group = parser.getgroup("diffusion-verify")
    group.addoption(
        "--conformance-full",
        action="store_true",
        default=False,
        help="run verify.kit.conformance checks at the full budget",
    )


@pytest.fixture
def check_sampler(
    request: pytest.FixtureRequest,
) -> Callable[..., ConformanceReport]:
    """``check_sampler(sampler, convention, method, *, expect="holds", **kw) -> report``."""
    from verify.kit.conformance import check_sampler as _check

    try:
        full = bool(request.config.getoption("--conformance-full"))
    except ValueError:  # the option is not registered (plugin loaded without its hooks)
        full = False

    def run(sampler, convention="k-diffusion", method=None, *, expect="holds", **kwargs):
        kwargs.setdefault("quick", not full)
        report = _check(sampler, convention, method, **kwargs)
        if report.verdict != expect:
            pytest.fail(f"expected verdict {expect!r}, got:\n{report.summary()}", pytrace=False)
        return report

    return run


def conformance_targets(
    min_dim: int = 1,
    max_dim: int = 3,
) -> SearchStrategy[Gaussian]:
    """Hypothesis strategy: a ``Gaussian`` target with mean in [-2, 2]^d, eigenvalues in
    [0.1, 4] and a random rotation (built by NumPy from a drawn seed)."""
    from hypothesis import strategies as st

    from analytic import Gaussian

    @st.composite
    def _targets(draw):
        d = draw(st.integers(min_dim, max_dim))
        rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
        q, _ = np.linalg.qr(rng.standard_normal((d, d)))
        lam = rng.uniform(0.1, 4.0, d)
        cov = (q * lam) @ q.T
        return Gaussian(rng.uniform(-2.0, 2.0, d), 0.5 * (cov + cov.T))

    return _targets()
