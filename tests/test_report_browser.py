"""The report as a reader's browser shows it (headless Chromium): the first screen says what
was checked, holds the verdict legend and the table of contents, and a 420 px phone view
never scrolls sideways. Skips when no Chromium is installed (``.ci/run`` installs it)."""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess

import pytest

from verify.app.report import collect_meta, write_report

CHROMIUM = next(
    (shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)),
    None,
)
pytestmark = [
    pytest.mark.slow,  # runs with the browser checks: python -m pytest -m slow
    pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)"),
]

# Runs inside the report (in an iframe of the given width): the page's scroll width, the window
# size, where the legend / contents / findings start, and elements wider than the window that
# no scrolling box clips. Posted to the wrapper page, whose DOM Chromium dumps.
_PROBE = """<script>(function(){var d=document.documentElement,w=window.innerWidth;
function top(id){var e=document.getElementById(id);return e?e.getBoundingClientRect().top:null}
var wide=[];document.querySelectorAll('body *').forEach(function(e){
var r=e.getBoundingClientRect();if(r.right<=w+1||wide.length>=8)return;
var p=e.parentElement;while(p){var o=getComputedStyle(p).overflowX;
if(o=='auto'||o=='scroll'||o=='hidden')return;p=p.parentElement}
wide.push(e.tagName+'.'+e.className+' '+Math.round(r.right))});
parent.postMessage(JSON.stringify({sw:d.scrollWidth,w:w,h:window.innerHeight,
legend:top('legend'),toc:top('contents'),findings:top('findings'),wide:wide}),'*')})();</script>"""

_WRAPPER = """<!doctype html><html><body style="margin:0"><script>
window.addEventListener("message",function(e){{document.body.setAttribute("data-probe",e.data)}});
</script><iframe src="probe.html" width="{w}" height="{h}" style="border:0"></iframe>
</body></html>"""


def _chromium(*args: str) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120).stdout


def probe(index, width: int, height: int = 900) -> dict:
    """Layout facts of ``index`` shown ``width`` x ``height`` CSS pixels."""
    page = index.parent / "probe.html"
    text = index.read_text(encoding="utf-8")
    page.write_text(text.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    wrapper = index.parent / "wrapper.html"
    wrapper.write_text(_WRAPPER.format(w=width, h=height), encoding="utf-8")
    dom = _chromium(
        f"--window-size={max(width, 800)},{height + 50}",
        "--virtual-time-budget=3000",
        "--dump-dom",
        wrapper.as_uri(),
    )
    m = re.search(r'data-probe="([^"]*)"', dom)
    assert m, f"the probe did not report (chromium output: {dom[:300]!r})"
    return json.loads(html.unescape(m.group(1)))


def _result(cid, verdict, **kw):
    base = {
        "id": cid,
        "title": f"The {cid} statement holds.",
        "statement": "A statement long enough to wrap on a phone, with a formula `KL(q_T || p_0)`.",
        "source": "Schaeffer, Rosa, Valle, arXiv 2506.11378, Thm 3.1 (reconstructed)",
        "setting": "1-D Gaussian N(1, 4), OU on [0, 2], 200 steps",
        "doc": "",
        "finding": None,
        "verdict": verdict,
        "reason": "KL 0.5000 -> 0.3738 (gamma 0 -> 1)",
        "rung": 2,
        "tolerance": "rel 1e-9",
        "key_number": "KL 0.5000 -> 0.3738",
        "tables": {},
        "figures": [],
        "seeds": [2891712345678901234, 7],
        "seconds": 0.5,
    }
    base.update(kw)
    return base


def _results():
    wide = {
        "columns": [f"a rather long column name {j}" for j in range(12)],
        "rows": [[f"N(1,{i}), OU T=2", *[1.0 / (i + j + 1) for j in range(11)]] for i in range(30)],
    }
    return [
        _result("theory.one", "holds", tables={"wide": wide}),
        _result(
            "stochasticity.two",
            "fails",
            finding="The direction depends on the data scale and the horizon.",
            expected="fails",
        ),
        _result("initialization.three", "inconclusive"),
        _result("spde.four", "error", reason="error: ValueError: boom", error="Traceback ...\n"),
        _result(
            "learned.five",
            "skipped",
            reason="requires torch (install the CPU wheel first: pip install torch==2.13.0 && "
            'pip install -e ".[torch]")',
        ),
    ]


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser")
    meta = collect_meta(
        command="diffusion-verify report --budget quick --seed 0 --out " + "/very/long/path" * 12,
        seconds=12.0,
    )
    return write_report(_results(), out / "report", meta)


@pytest.mark.parametrize("width", [420, 1280])
def test_first_screen_has_legend_contents_and_findings_start(index, width):
    facts = probe(index, width)
    assert facts["w"] == width
    assert facts["legend"] is not None and facts["toc"] is not None
    # the legend and the start of the table of contents are on the first screen
    assert 0 <= facts["legend"] < facts["toc"] < facts["h"], facts
    if width >= 1000:
        assert facts["findings"] < facts["h"], facts  # on a desktop the findings start too


def test_no_sideways_scroll_at_420px(index):
    facts = probe(index, 420)
    assert facts["sw"] <= 420 and not facts["wide"], facts


def test_first_screen_says_what_was_checked(index, tmp_path):
    text = index.read_text(encoding="utf-8")
    first = text[: text.index('id="findings"')]
    assert "5 claims" in first and "arXiv 2506.11378" in first
    assert "Optional packages" in first and "present" in first
    for verdict in ("holds", "fails", "inconclusive", "error", "skipped"):
        assert f'<span class="badge {verdict}">{verdict}</span>' in first
    shot = tmp_path / "first.png"
    _chromium("--window-size=1280,900", f"--screenshot={shot}", index.as_uri())
    assert shot.stat().st_size > 10_000  # a rendered page, not a blank one


_MATH_PROBE = """<script>(function(){var m=document.querySelectorAll('math'),w=0,ns=0;
m.forEach(function(e){w=Math.max(w,e.getBoundingClientRect().width);
if(e.namespaceURI=='http://www.w3.org/1998/Math/MathML')ns++});
parent.postMessage(JSON.stringify({n:m.length,ns:ns,w:w,
sw:document.documentElement.scrollWidth}),'*')})();</script>"""


def test_a_docs_page_beside_the_report_shows_its_formulas_as_mathml(index):
    page = index.parent / "docs" / "claims" / "theory.html"
    if not page.exists():
        pytest.skip("needs markdown and latex2mathml (the report extra)")
    probe_page = page.parent / "probe.html"
    text = page.read_text(encoding="utf-8")
    probe_page.write_text(text.replace("</body>", _MATH_PROBE + "</body>"), encoding="utf-8")
    wrapper = page.parent / "wrapper.html"
    wrapper.write_text(_WRAPPER.format(w=420, h=900), encoding="utf-8")
    dom = _chromium(
        "--window-size=800,950", "--virtual-time-budget=3000", "--dump-dom", wrapper.as_uri()
    )
    m = re.search(r'data-probe="([^"]*)"', dom)
    assert m, f"the probe did not report (chromium output: {dom[:300]!r})"
    facts = json.loads(html.unescape(m.group(1)))
    assert facts["n"] > 20 and facts["ns"] == facts["n"]  # MathML elements, parsed as MathML
    assert facts["w"] > 5  # laid out (a width), not an unknown inline element left empty
    assert facts["sw"] <= 420, facts  # no sideways scroll on a phone
