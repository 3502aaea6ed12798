"""``conformance --all-known`` shows a progress bar per package naming the running sampler.

The kit is replaced by a fake row (no torch): what is tested is the display, not the kit.
"""

from __future__ import annotations

import importlib.util
import io
import sys

import pytest

import verify.claims.conformance as conformance
from verify.app.cli import main


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _fake_row(task):
    assert task["name"] in {"euler", "heun"}
    return {
        "method": "m",
        "slope": 1.0,
        "expected": 1,
        "kl": [0.1, 0.01, 0.001],
        "checks": {
            "weak-order": ["holds", ""],
            "output-kl": ["fails" if task["name"] == "heun" else "holds", ""],
        },
    }


@pytest.fixture
def fake_kit(monkeypatch):
    monkeypatch.setattr(conformance, "table_rows", lambda package, quick: ["euler", "heun"])
    monkeypatch.setattr(conformance, "real_table_row", _fake_row)
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: object())


@pytest.mark.parametrize("terminal", [True, False])
def test_all_known_shows_a_bar_per_package_naming_the_running_sampler(
    fake_kit, monkeypatch, capsys, terminal
):
    if terminal:
        pytest.importorskip("tqdm")
    err = _Tty() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    code = main(["conformance", "--all-known", "--package", "diffusers"])
    out = capsys.readouterr().out
    assert code == 1  # heun's fake output-kl check fails
    rows = [line.split()[0] for line in out.splitlines() if line.startswith("  ")]
    assert rows == ["euler", "heun"]  # the rows stay on stdout, whole
    if terminal:
        assert "diffusers 0/2" in err.getvalue() and "running: euler" in err.getvalue()
        assert "running: heun" in err.getvalue()
    else:
        assert "\r" not in err.getvalue()  # a CI log gets the rows on stdout, no bar
