"""The learned.* claims: import hygiene, sources, and their verdicts at the quick budget."""

import subprocess
import sys

import pytest

from verify.claims import learned
from verify.claims.learned import CLAIMS


def test_importing_verify_and_the_learned_claims_does_not_import_torch():
    code = (
        "import sys, verify, verify.claims.learned\n"
        "from verify.claims.registry import all_claims\n"
        "all_claims()\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_learned_claims_declare_torch_and_cite_sources():
    assert [c.id for c in CLAIMS] == [
        "learned.error-profile",
        "learned.stochasticity-tradeoff",
        "learned.init-steps-saved",
        "learned.horizon-optimum",
    ]
    for c in CLAIMS:
        assert c.requires == ("torch",)
        assert "§" in c.source
    for c in CLAIMS[1:]:
        assert "reconstructed" in c.source


EXPECTED = {
    "learned.error-profile": "holds",
    "learned.stochasticity-tradeoff": "fails",
    "learned.init-steps-saved": "holds",
    "learned.horizon-optimum": "inconclusive",
}


@pytest.mark.slow
@pytest.mark.parametrize("claim", CLAIMS, ids=lambda c: c.id)
def test_learned_claims_at_quick_budget(claim, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    from verify.claims.base import RunContext, run_claim

    monkeypatch.setenv("DIFFUSION_VERIFY_CACHE", str(tmp_path / "cache"))
    out = run_claim(claim, RunContext("quick", seed=0, figure_dir=tmp_path, stream=None))
    assert out["verdict"] == EXPECTED[claim.id], out["reason"] + out.get("error", "")
    assert out["figures"] and all(f.endswith(".png") for f in out["figures"])
    assert learned.__name__ == "verify.claims.learned"
