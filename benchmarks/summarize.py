"""Summarise ``benchmarks/results/*.json`` as the README's performance table.

Run after the benchmark scripts: ``python benchmarks/summarize.py`` prints Markdown, and
``--write`` replaces the table between the markers in README.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
BEGIN, END = "<!-- perf:begin -->", "<!-- perf:end -->"


RECORDED = ROOT / "docs" / "runs"
"""Recorded benchmark outputs (``bench-<name>.json``, copies of ``benchmarks/results``) that
README quotes and a test checks; used when ``benchmarks/results`` has no fresher file."""


def _load(name: str) -> dict | None:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        path = RECORDED / f"bench-{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def spectral_rows(sp: dict) -> list[list[str]]:
    """Rows of ``bench_spectral.py``'s output: exact laws on spectral Gaussians, the fit."""
    return [
        [
            "exact law + KL, 50 Euler steps, photo-patches-32 (d=3072, eigenbasis)",
            f"{sp['exact_law_d3072_ms']:.2f} ms",
            f"target <= {sp['targets']['exact_law_d3072_ms']:g} ms",
            f"{sp['speedup_d3072']:.0f}x the dense route ({sp['dense_d3072_ms']:.0f} ms)",
        ],
        [
            "exact law + KL, 50 Euler steps, photo-patches-64 (d=12288, stationary)",
            f"{sp['exact_law_d12288_ms']:.2f} ms",
            f"target <= {sp['targets']['exact_law_d12288_ms']:g} ms",
            f"dense route extrapolated by d^3: {sp['dense_d12288_ms_extrapolated_d3'] / 1e3:.0f} s",
        ],
        [
            "fitting photo-patches-32 (eigen decomposition + bootstrap)",
            f"{sp['fit_d3072_s']:.1f} s",
            f"target <= {sp['targets']['fit_d3072_s']:g} s",
            f"cached load {sp['cached_load_d3072_s']:.2f} s",
        ],
    ]


def schedules_rows(sc: dict) -> list[list[str]]:
    """Rows of ``bench_schedules.py``'s output: ``optimal_grid`` per method."""
    return [
        [
            f"`optimal_grid`, N={sc['n_steps']}, d={sc['d']} (power-law), {method}",
            f"{r['seconds']:.2f} s",
            f"target <= {sc['target_s']:g} s",
            f"{r['iterations']} L-BFGS iterations; "
            f"Karras KL / optimum {r['karras_over_optimum']:.3g}",
        ]
        for method, r in sc["methods"].items()
    ]


def table() -> str:
    rows = []
    g = _load("gmm_score")
    if g:
        for r in g["rows"]:
            rows.append(
                [
                    f"GMM score, K={r['K']}, d={r['d']}, {r['n']:.0e} points",
                    f"{r['score_points_per_s']:.3g} points/s",
                    f"{r['ratio_to_exp_floor']:.2f}x one `np.exp` over the (n, K) array"
                    + (" (target <= 3)" if r["d"] == 2 else ""),
                    f"{r['speedup_vs_scipy_peer']:.0f}x faster than scipy.stats + softmax",
                ]
            )
    s = _load("sampler")
    if s:
        t = s["torchsde"]
        rows.append(
            [
                "reverse sampler, Euler, VP, 25-comp. GMM, 1e5 particles x 100 steps",
                f"{s['ours_particle_steps_per_s']:.3g} particle-steps/s",
                f"{s['ours_over_exp_floor']:.2f}x the exp floor (target <= 2; the standard "
                f"normals alone cost ~0.9x)",
                f"{t['speedup_ours_over_torchsde']:.1f}x torchsde `sdeint` (target >= 3)",
            ]
        )
        m = s["memory_1e7"]
        rows.append(
            [
                "reverse sampler, 1e7 particles, d=2",
                f"peak RSS {m['peak_rss_GiB']:.2f} GiB",
                "target about 1 GiB",
                "",
            ]
        )
    e = _load("exact")
    if e:
        rows.append(
            [
                "exact chain law, 1000 Euler steps, d=100 -> 1000",
                f"{1e3 * e['seconds']['diag_d1000']:.1f} ms at d=1000",
                f"time ratio {e['ratio_diag_d1000_over_d100']:.1f} (target < 15)",
                "full d x d recursion at d=100: "
                f"{1e3 * e['seconds']['full_recursion_d100']:.0f} ms",
            ]
        )
    f = _load("fokker_planck")
    if f:
        big = next(r for r in f["runs"] if r["n_cells"] == [256, 256] and r["solver"] == "split")
        rows.append(
            [
                "Fokker-Planck 2-D, 256^2 cells x 200 steps",
                f"{big['seconds']:.1f} s",
                f"time(256^2)/time(128^2) = {f['ratio_256_over_128']:.2f} (target <= 6)",
                f"KL to exact {big['kl_final_q_vs_p']:.1e}",
            ]
        )
    em = _load("em")
    if em:
        rows.append(
            [
                f"EM for a GMM, n={em['n']:.0e}, K={em['K']}, d={em['d']}",
                f"{1e3 * em['seconds_per_iter_ours']:.1f} ms/iteration",
                "",
                f"{em['speedup']:.1f}x scikit-learn per iteration",
            ]
        )
    rep = _load("report")
    if rep:
        d = rep["default_jobs"]
        rows.append(
            [
                f"`diffusion-verify report` (quick, {d['claims']} claims, models cached)",
                f"{d['seconds']:.0f} s wall on {rep['cpus']} CPUs",
                "target <= 60 s"
                + (
                    f"; cold model cache {rep['cold_cache']['seconds']:.0f} s"
                    if "cold_cache" in rep
                    else ""
                ),
                f"{rep['speedup_default_over_jobs1']:.2f}x `--jobs 1` "
                f"({rep['jobs_1']['seconds']:.0f} s)",
            ]
        )
    full = _load("report_full")
    if full:
        rows.append(
            [
                "`diffusion-verify report --budget full` "
                f"({full['default_jobs']['claims']} claims)",
                f"{full['default_jobs']['seconds'] / 60:.1f} min wall on {full['cpus']} CPUs",
                "",
                "",
            ]
        )
    ti = _load("tightness")
    if ti:
        for r in ti["rows"]:
            rows.append(
                [
                    f"tightness truth: exact KL of an Euler chain ({r['n_steps']} steps), "
                    f"{r['sde']}, d={r['d']}",
                    f"{r['vectorised_settings_per_s']:.3g} settings/s",
                    f"max rel. difference to the loop {r['max_rel_diff']:.1e}",
                    f"{r['speedup']:.0f}x a loop over `exact_law` + `kl`",
                ]
            )
    co = _load("conformance")
    if co:
        for package, p in co["packages"].items():
            rows.append(
                [
                    f"conformance table, {package} ({len(p['rows'])} samplers, quick)",
                    f"{p['wall_s']:.1f} s wall, {p['cpu_s']:.1f} s CPU",
                    f"import {p['import']['wall']:.1f} s",
                    "",
                ]
            )
    ks = _load("kit_spectral")
    if ks:
        rows.append(
            [
                f"kit spectral probe, k-diffusion `sample_dpmpp_2m`, N={ks['n_steps']}, "
                f"photo-patches-32 (d={ks['d']})",
                f"{ks['probe_d3072_s'] * 1e3:.0f} ms (data coordinates "
                f"{ks['probe_data_coordinates_d3072_s']:.1f} s)",
                f"target <= {ks['targets']['probe_d3072_s']:g} s; gains = dense map's "
                f"eigen-diagonal to {ks['max_gain_gap']:.0e}",
                f"{ks['speedup']:.0f}x the dense 1 + d row probe ({ks['dense_d3072_s']:.0f} s)",
            ]
        )
    sp = _load("spectral")
    if sp:
        rows += spectral_rows(sp)
    sc = _load("schedules")
    if sc:
        rows += schedules_rows(sc)
    head = "| benchmark | ours | against the floor / target | against a peer (same run) |\n"
    head += "|---|---|---|---|\n"
    return head + "\n".join("| " + " | ".join(r) + " |" for r in rows)


def main() -> None:
    text = table()
    if "--write" in sys.argv:
        readme = ROOT / "README.md"
        s = readme.read_text()
        a, b = s.index(BEGIN) + len(BEGIN), s.index(END)
        readme.write_text(s[:a] + "\n" + text + "\n" + s[b:])
    print(text)


if __name__ == "__main__":
    main()
