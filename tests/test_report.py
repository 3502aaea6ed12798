"""The report writer: results.json, report.md and a self-contained index.html."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from verify.app.report import (
    NAMESPACE_TITLES,
    collect_meta,
    render_html,
    render_markdown,
    write_report,
)
from verify.claims.base import Claim, ClaimResult, RunContext, Table, run_claim


def _with_figure(ctx):
    fig = ctx.figure(figsize=(5, 3))
    ax = fig.add_subplot()
    n = np.array([10, 20, 40, 80])
    ax.loglog(n, 1.0 / n, "o-", label="KL(law||p0)")
    ax.set_xlabel("steps")
    ax.set_ylabel("KL (nats)")
    ax.legend()
    path = ctx.savefig(fig, "kl-vs-steps")
    table = Table(["steps", "KL(law||p0)", "ratio"], [[int(k), 1.0 / k, 2.0] for k in n])
    return ClaimResult(
        "holds",
        "KL halves when the steps double (ratio 2.000 within 1e-3).",
        rung=2,
        tolerance="rel 1e-3",
        key_number="order = 1.000",
        tables={"KL vs steps": table},
        figures=[path],
        seeds=[0],
    )


def _fails(ctx):
    return ClaimResult("fails", "bound 0.1 < KL 0.2", rung=1, tolerance="abs 1e-12")


def _raises(ctx):
    raise ValueError("covariance is not PSD")


CLAIMS = [
    Claim(
        "stochasticity.kl-order",
        "Euler has weak order 1 <script>x</script>.",
        "Paper 1, Thm 3.1",
        "1-D Gaussian, VP SDE",
        _with_figure,
    ),
    Claim("theory.bound", "The bound holds.", "standard", "2-D GMM", _fails),
    Claim("spde.broken", "A broken claim.", "Paper 3, Sec. 4 (reconstructed)", "OU", _raises),
    Claim("horizon.net", "Needs torch.", "Paper 4", "MNIST", _fails, requires=("no_such_xyz",)),
]


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    pytest.importorskip("matplotlib")
    out = tmp_path_factory.mktemp("report")
    ctx = RunContext(figure_dir=out / "figures", stream=None)
    results = [run_claim(c, ctx) for c in CLAIMS]
    meta = collect_meta(
        budget="quick",
        seed=0,
        command="diffusion-verify report",
        seconds=1.5,
        rerun="diffusion-verify report --budget quick --seed 0",
    )
    return write_report(results, out, meta), results


def test_report_writes_all_files(report):
    index, _ = report
    out = index.parent
    assert index.name == "index.html"
    for name in (
        "index.html",
        "report.md",
        "results.json",
        "figures/stochasticity.kl-order-kl-vs-steps.png",
    ):
        assert (out / name).is_file(), name


def test_results_json_holds_meta_and_one_object_per_claim(report):
    index, results = report
    data = json.loads((index.parent / "results.json").read_text())
    assert set(data) == {"meta", "claims"}
    assert [c["id"] for c in data["claims"]] == [c.id for c in CLAIMS]
    assert data["claims"][0]["figures"] == ["figures/stochasticity.kl-order-kl-vs-steps.png"]
    assert data["claims"][0]["tables"] == results[0]["tables"]


def test_html_is_self_contained_grouped_and_escaped(report):
    index, _ = report
    text = index.read_text()
    assert text.count("data:image/png;base64,iVBORw0KGgo") == 1
    assert 'src="figures/' not in text and "<link" not in text
    assert "<script>" not in text and "&lt;script&gt;x&lt;/script&gt;" in text
    titles = [NAMESPACE_TITLES[ns] for ns in ("theory", "stochasticity", "spde", "horizon")]
    positions = [text.index(f">{t}</h2>") for t in titles]
    assert positions == sorted(positions)  # sections in paper order
    assert 'class="badge fails"' in text and 'href="#claim-theory.bound"' in text
    assert "rerun: <code>diffusion-verify report --budget quick --seed 0</code>" in text
    assert "error: ValueError: covariance is not PSD" in text and "Traceback" in text


def test_markdown_has_summary_sections_and_formatted_tables(report):
    index, _ = report
    md = (index.parent / "report.md").read_text()
    assert md.index("## Findings") < md.index("## Summary") < md.index("## Standard theory")
    # one format per column: the decimals that 4 significant digits of 0.0125 need; the
    # ratio column (2.0 in every row) needs none
    assert "| 10 | 0.1000 | 2 |" in md and "| 80 | 0.0125 | 2 |" in md
    assert (
        "![stochasticity.kl-order-kl-vs-steps](figures/stochasticity.kl-order-kl-vs-steps.png)"
        in md
    )
    assert "- **Rung:** 2 (exact moment recursion / moment ODE)" in md
    assert "requires no_such_xyz" in md


def test_markdown_formats_each_column_in_one_format():
    result = {
        "id": "theory.x",
        "statement": "s",
        "source": "standard",
        "setting": "",
        "verdict": "holds",
        "reason": "",
        "rung": 1,
        "tolerance": "",
        "key_number": "",
        "figures": [],
        "seeds": [],
        "seconds": 0.1,
        "tables": {
            "t": {"columns": ["a|b", "v"], "rows": [[123456789, 3.14159265], ["nan", 1e-13]]}
        },
    }
    md = render_markdown([result], collect_meta())
    assert "| a\\|b | v |" in md
    # v spans 13 decades: scientific with four significant digits, in both rows
    assert "| 123456789 | 3.142e+00 |" in md and "| nan | 1.000e-13 |" in md


def test_figures_outside_the_report_are_copied_in(tmp_path):
    pytest.importorskip("matplotlib")
    elsewhere = RunContext(figure_dir=tmp_path / "elsewhere", stream=None)
    obj = run_claim(CLAIMS[0], elsewhere)
    index = write_report([obj], tmp_path / "rep", collect_meta())
    data = json.loads((tmp_path / "rep" / "results.json").read_text())
    assert (index.parent / data["claims"][0]["figures"][0]).is_file()


def test_meta_records_versions_without_importing_optional_packages():
    code = (
        "import sys; from verify.app.report import collect_meta; m = collect_meta(seed=3)\n"
        "print(sorted(m['versions'])[:0], 'torch' in sys.modules, 'matplotlib' in sys.modules,"
        " m['seed'], 'python' in m['versions'], 'numpy' in m['versions'], m['date'][-3:])"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.split() == ["[]", "False", "False", "3", "True", "True", "UTC"]
    meta = collect_meta()
    assert {"version", "date", "budget", "seed", "command", "versions", "machine"} <= set(meta)
    assert meta["machine"]["cpu_count"] >= 1


def _chromium_screenshot(chromium, page, png, size=(1280, 2000)):
    cmd = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={png.parent / 'profile'}",
        f"--screenshot={png}",
        f"--window-size={size[0]},{size[1]}",
        page.resolve().as_uri(),
    ]
    subprocess.run(cmd, capture_output=True, timeout=120, check=False)


@pytest.mark.slow
def test_html_renders_in_headless_chromium_with_the_findings_first(report, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed")
    from matplotlib.image import imread

    index, _ = report
    png = tmp_path / "shot.png"
    _chromium_screenshot(chromium, index, png)
    assert png.is_file() and png.stat().st_size > 30_000
    pixels = imread(png)
    assert pixels.shape[:2] == (2000, 1280)
    assert pixels[..., :3].std() > 0.05  # not a blank page
    # the findings box (red left border #cf222e) is in the first screen of the page
    top = (pixels[:900, :, :3] * 255).round().astype(int)
    red = np.all(np.abs(top - [207, 34, 46]) <= 8, axis=-1)
    assert red.sum() > 200, "no findings box at the top of the page"
    rows = np.nonzero(red.any(axis=1))[0]
    text = index.read_text()
    assert text.index('id="findings"') < text.index('id="summary"')
    assert rows.min() < 700


def test_findings_come_first_with_the_true_statement_beside_the_refuted_one(tmp_path):
    refuted = Claim(
        "stochasticity.dichotomy",
        "An offset is always amplified.",
        "arXiv 2506.11378 §1 (reconstructed)",
        "-",
        _fails,
        finding="An offset is amplified iff the data variance exceeds the criterion.",
    )
    ctx = RunContext(figure_dir=tmp_path, stream=None)
    results = [run_claim(c, ctx) for c in (CLAIMS[0], refuted)]
    text = render_html(results, collect_meta(), base=tmp_path)
    top = text.index('id="findings"')
    assert top < text.index('id="summary"') < text.index('id="ns-stochasticity"')
    box = text[top : text.index('id="summary"')]
    assert "stochasticity.dichotomy" in box and "bound 0.1 &lt; KL 0.2" in box
    assert "What holds instead." in box and "iff the data variance" in box
    assert "stochasticity.kl-order" not in box  # a claim that holds is not a finding
    assert ":func:" not in text and ":mod:" not in text and "``" not in text


def test_long_tables_fold_and_keep_their_deciding_rows():
    from verify.claims.render import FOLD_ROWS, table_html

    rows = [[i, 0.5 + i] for i in range(40)]
    html_text = table_html("sweep", {"columns": ["k", "x"], "rows": rows, "key_rows": [37]})
    shown, folded = html_text.split("<details>")
    assert shown.count("<tr>") == 1 + 1  # header + the deciding row only
    assert "<td class=num>37</td>" in shown and "<td class=num>3</td>" not in shown
    assert folded.count("<tr>") == 40 + 1 and "all 40 rows" in folded
    short = table_html("short", {"columns": ["k"], "rows": [[i] for i in range(FOLD_ROWS)]})
    assert "<details>" not in short


def test_seeds_are_shown_short_and_kept_whole_in_results_json(report):
    from verify.claims.render import seeds_short

    assert seeds_short([2891712345678, 7, 9]) == "3 seeds (first 289171…)"
    assert seeds_short([4]) == "seed 4" and seeds_short([]) == ""
    assert seeds_short([2891712345678901234]) == "seed 289171…"  # never 19 digits on a card


def test_a_claim_result_renders_as_html_in_a_notebook(report):
    _, results = report
    page = results[0]._repr_html_()
    assert page.startswith('<div class="dv"><style>') and "stochasticity.kl-order" in page
    assert "data:image/png;base64," in page  # the figure travels with the card
    assert "<caption>KL vs steps</caption>" in page


def test_the_rows_that_decide_a_failure_are_shown_not_folded():
    from verify.claims.render import deciding_rows, table_html

    settings = ("N(1,4), OU T=2", "N(1,1), OU T=2")
    rows = [
        [s, e, g, 0.3 + 0.01 * g] for s in settings for e in ("offset", "scale") for g in range(6)
    ]
    table = {"columns": ["setting", "error", "gamma", "KL"], "rows": rows}
    key = "2 of 6 rules broken, e.g. N(1,1), OU T=2: offset corrected"
    picked = deciding_rows(table, "fails", key)
    assert picked and all(rows[i][:2] == ["N(1,1), OU T=2", "offset"] for i in picked)
    shown = table_html("t", table, "fails", key).split("<details>")[0]
    assert "N(1,1), OU T=2" in shown  # the failing setting is in the visible part
    # a verdict column: its failing rows, whatever their position
    checks = {"columns": ["sampler", "verdict"], "rows": [[f"s{i}", "holds"] for i in range(20)]}
    checks["rows"][17][1] = "fails"
    assert deciding_rows(checks, "fails") == [17]
    assert "s17" in table_html("checks", checks, "fails").split("<details>")[0]
    # a holding claim keeps the first rows (or its key_rows)
    assert deciding_rows(checks, "holds") == list(range(6))
    assert deciding_rows({**checks, "key_rows": [3]}, "holds") == [3]


def test_key_number_shown_once_on_a_card():
    from verify.claims.render import card_html

    obj = {"id": "theory.x", "verdict": "holds", "reason": "max gap 1e-9 (<= 1e-6)"}
    once = card_html({**obj, "key_number": "max gap 1e-9"})
    assert once.count("max gap 1e-9") == 1 and "<mark>max gap 1e-9</mark>" in once
    apart = card_html({**obj, "key_number": "order 1.00"})
    assert apart.count("order 1.00") == 1 and "Key number" in apart
