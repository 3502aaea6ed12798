"""Rows of the published samplers in the real-data sampler table (verify.data.table), through
the kit's spectral probe: where a published sampler is the recursion one of verify's rows
computes by exact_law, the two rows agree; a missing package drops its rows cleanly."""

from __future__ import annotations

import numpy as np
import pytest

from analytic import Gaussian
from analytic.spectral import DenseBasis
from verify.data import table as T


def _toy(d=12, seed=3):
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((d, d)))
    lam = 0.25 * np.arange(1, d + 1, dtype=float) ** -1.5
    return Gaussian.from_spectrum(0.3 * rng.standard_normal(d), lam, DenseBasis(U))


@pytest.mark.parametrize(
    "ours, real",
    [
        ("euler", "k-diffusion:sample_euler"),
        ("euler-ancestral", "k-diffusion:sample_euler_ancestral"),
    ],
)
def test_a_real_sampler_row_equals_the_exact_law_row(ours, real):
    pytest.importorskip("torch")
    pytest.importorskip("verify.kit.adapters.kdiffusion").load_sampling()
    rows = T.sampler_table({"toy": _toy()}, [ours, real], steps=(5, 20))
    by = {(r["sampler"], r["n_steps"]): r for r in rows}
    for n in (5, 20):
        a, b = by[(ours, n)], by[(real, n)]
        assert b["route"] == "kit probe" and b["residual"] < 1e-12
        for key in ("kl", "w2", "kl_leading", "kl_trailing"):
            assert b[key] == pytest.approx(a[key], rel=1e-9), key


def test_diffusers_rows_are_finite_and_fall_with_n():
    pytest.importorskip("torch")
    pytest.importorskip("diffusers")
    rows = T.sampler_table({"toy": _toy()}, ["diffusers:EulerDiscrete"], steps=(5, 20))
    kls = [r["kl"] for r in rows]
    assert all(np.isfinite(kls)) and kls[1] < kls[0]
    assert all(0 <= r["kl_leading"] <= 1 and 0 <= r["kl_trailing"] <= 1 for r in rows)


def test_a_missing_package_drops_its_rows(monkeypatch):
    monkeypatch.setattr(T, "real_sampler_missing", lambda name: "k-diffusion not available: x")
    skipped = {}
    rows = T.sampler_table(
        {"toy": _toy()}, ["euler", "k-diffusion:sample_heun"], steps=(5,), skipped=skipped
    )
    assert [r["sampler"] for r in rows] == ["euler"]
    assert skipped == {"k-diffusion:sample_heun": "k-diffusion not available: x"}


def test_unknown_sampler_names_raise():
    with pytest.raises(ValueError, match="unknown sampler"):
        T.sampler_table({"toy": _toy()}, ["k-diffusion:sample_nope"], steps=(5,))
    with pytest.raises(ValueError, match="unknown real sampler"):
        T.real_sampler_missing("nope")
