"""Figures a reader trusts: no two figures of a report are the same picture, every line is
visible and labelled, colour that carries a value has a colour bar, log axes have ticks."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from verify.claims import registry  # noqa: E402
from verify.claims.base import RunContext, run_claim  # noqa: E402


class _Capture(RunContext):
    """A context that keeps every figure it saves (``figures[name]``), to inspect its artists."""

    figures: dict

    def savefig(self, fig, name, *, tight=False):
        self.figures[name] = fig
        return super().savefig(fig, name, tight=tight)


def _run(ids, tmp_path):
    ctx = _Capture(figure_dir=tmp_path / "figures", stream=None)
    ctx.figures = {}
    results = [run_claim(c, ctx) for c in registry.select(ids, registry.all_claims())]
    assert results and all(r["verdict"] != "error" for r in results), results
    return results, ctx.figures


def _duplicates(paths) -> list[list[str]]:
    by_hash: dict[str, list[str]] = {}
    for p in paths:
        digest = hashlib.md5(Path(p).read_bytes()).hexdigest()
        by_hash.setdefault(digest, []).append(Path(p).name)
    return [names for names in by_hash.values() if len(names) > 1]


def test_the_two_horizon_bound_figures_differ(tmp_path):
    # they used to be the same picture (both families on both claims' figures, md5-identical)
    results, _ = _run(
        ["horizon.bound-monotone-per-t-family", "horizon.interior-optimum-shared-capacity"],
        tmp_path,
    )
    figures = [f for r in results for f in r["figures"]]
    assert len(figures) == 2
    assert not _duplicates(figures)


def test_discretization_order_every_curve_visible_and_named(tmp_path):
    results, figs = _run(["theory.discretization-order"], tmp_path)
    # the key number names the gamma of each slope (it read "euler: 1.00, euler: 1.01")
    key = results[0]["key_number"]
    assert "gamma" in str(key), key
    fig = figs["weak-orders"]
    ax = fig.axes[0]
    lines = [ln for ln in ax.get_lines() if not ln.get_label().startswith("_")]
    labels = [ln.get_label() for ln in lines]
    assert len(set(labels)) == len(labels) and all("gamma=" in s for s in labels)
    # no two curves share a marker (a curve drawn on top of another stays visible) ...
    assert len({ln.get_marker() for ln in lines}) == len(lines)
    # ... and a curve that coincides with an earlier one says so in its label
    ddpm = next(s for s in labels if s.startswith("ddpm"))
    assert "on top of euler, gamma=1" in ddpm
    # the legend is beside the axes, not over the curves (it covered heun)
    fig.canvas.draw()
    legend = ax.get_legend().get_window_extent()
    assert legend.x0 >= ax.get_window_extent().x1


def test_coincidence_is_detected_only_for_curves_that_coincide():
    from verify.claims.theory.discretization_order import _coincides_with

    a = {"steps": [10, 20], "errors": [1.0, 0.5], "method": "a", "gamma": 1.0}
    b = {"steps": [10, 20], "errors": [1.02, 0.49], "method": "b", "gamma": 1.0}
    c = {"steps": [10, 20], "errors": [1.3, 0.5], "method": "c", "gamma": 0.0}
    assert _coincides_with(b, [a]) is a
    assert _coincides_with(c, [a]) is None
    assert _coincides_with(a, []) is None


def test_error_direction_phase_diagram_has_colour_bars(tmp_path):
    _, figs = _run(["stochasticity.error-direction"], tmp_path)
    fig = figs["phase-diagram"]
    # two panels, each with its colour bar naming the three categories
    assert len(fig.axes) == 4
    bars = [a for a in fig.axes if a.get_label() == "<colorbar>"]
    assert len(bars) == 2
    for bar in bars:
        names = [t.get_text() for t in bar.get_yticklabels()]
        assert names == ["hurts", "mixed", "helps"]


def test_ratio_colour_scale_separates_decades():
    # the lsi-rate heat map painted VE (log10 ratio ~1e-8) and OU (~1e-5) alike on a linear
    # scale; on the log scale the midpoint decade sits in the middle of the colour range
    from verify.claims.tightness._common import _ratio_norm

    L = np.array([[1e-8, 1e-5], [1e-2, 0.0]])
    norm, cmap, painted = _ratio_norm(L)
    assert norm(painted[0, 1]) == pytest.approx(0.5, abs=1e-9)
    assert norm(painted[0, 0]) == pytest.approx(0.0, abs=1e-9)
    assert norm(painted[1, 1]) == pytest.approx(0.0, abs=1e-9)  # attained: the lowest colour
    # a counterexample (negative log ratio) gets a diverging map centred on 0
    norm, cmap, _ = _ratio_norm(np.array([[-1.0, 2.0]]))
    assert cmap == "coolwarm" and norm(0.0) == pytest.approx(0.5)


def test_lsi_rate_heat_map_tells_its_rows_apart(tmp_path):
    """The heat map's colour carries its value: rows of different ratios (once: VE and OU as
    rows, drawn the same colour) get visibly different colours, and the colour bar is labelled."""
    _, figs = _run(["tightness.lsi-rate"], tmp_path)
    fig = figs["ratio"]
    mesh = fig.axes[0].collections[0]
    ny, nx = (n - 1 for n in mesh.get_coordinates().shape[:2])
    rgba = np.asarray(mesh.cmap(mesh.norm(mesh.get_array()))).reshape(ny, nx, 4)
    row_means = rgba[:, :, :3].mean(axis=1)
    assert np.ptp(row_means, axis=0).max() > 0.05, row_means
    assert len(fig.axes) >= 2 and fig.axes[1].get_ylabel()  # a colour bar that says what


def test_ve_shortfall_log_axis_has_readable_ticks(tmp_path):
    _, figs = _run(["theory.ve-ancestral-shortfall"], tmp_path)
    ax = figs["ve-shortfall"].axes[0]
    figs["ve-shortfall"].canvas.draw()
    lo, hi = ax.get_ylim()
    ticks = [t for t in ax.get_yticks() if lo <= t <= hi]
    assert len(ticks) >= 3
    assert all(t.get_text() for t in ax.get_yticklabels() if lo <= t.get_position()[1] <= hi)


@pytest.mark.slow
def test_no_two_figures_of_the_quick_report_are_identical(tmp_path):
    ctx = RunContext(figure_dir=tmp_path / "figures", stream=None)
    results = [run_claim(c, ctx) for c in registry.all_claims()]
    figures = [f for r in results for f in r["figures"]]
    assert len(figures) > 10
    assert not _duplicates(figures)


def test_samplers_on_real_data_gaussians_section_and_kl_figure(tmp_path):
    """The report section of the schedules.* claims: the sampler table and KL against N per
    sampler on log-log axes."""
    pytest.importorskip("sklearn")
    from verify.app.report import collect_meta, write_report

    results, figs = _run(["schedules.sampler-table"], tmp_path)
    for ax in figs["kl-vs-n"].axes:
        assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
        labels = {line.get_label() for line in ax.get_lines()}
        assert {"euler", "heun", "exponential", "euler-ancestral"} <= labels
    assert "every sampler's exact error" in results[0]["tables"]
    index = write_report(results, tmp_path / "rep", collect_meta())
    md = (index.parent / "report.md").read_text()
    assert "Samplers on real-data Gaussians" in md and "KL share, trailing 50%" in md


@pytest.mark.slow
def test_optimal_grid_figure_against_karras_and_ays_differs_from_the_others(tmp_path):
    pytest.importorskip("sklearn")
    results, figs = _run(["schedules.*"], tmp_path)
    grid_ax = figs["grids"].axes[0]
    assert grid_ax.get_yscale() == "log"
    labels = {line.get_label() for line in grid_ax.get_lines()}
    assert {"optimal (Euler)", "karras", "ays-sd", "ays-sdxl"} <= labels
    paths = [f for r in results for f in r["figures"]]
    assert len(paths) == 7 and not _duplicates(paths)
