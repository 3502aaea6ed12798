"""The numbers docs/claims/conformance.md (and the conformance claims' findings) quote about
the published samplers are measured: the text quotes ``docs/runs/conformance-numbers.json`` at
its precision (fast), and a fresh measurement with the package installed reproduces the json
at that precision (slow; regenerate with ``python tests/conformance_numbers.py --write``)."""

from __future__ import annotations

import json

import conformance_numbers as CN
import pytest

RECORDED = json.loads(CN.RUNS.read_text())


@pytest.mark.parametrize("entry", CN.QUOTES, ids=lambda e: f"{e[0]}:{e[1][0]}:{e[4]}")
def test_the_text_quotes_the_recorded_measurement(entry):
    expected = CN.quoted(entry, RECORDED)
    assert expected in CN.text_of(entry[4]), f"{entry[4]} does not quote {expected!r}"


def test_every_recorded_number_is_quoted_and_every_group_measured():
    used = {(e[0], k) for e in CN.QUOTES for k in e[1]}
    for group, numbers in RECORDED.items():
        assert group in CN.MEASURE
        unquoted = {k for k in numbers if (group, k) not in used}
        assert not unquoted, f"{group}: recorded but not quoted: {sorted(unquoted)}"


def test_quote_formats_as_the_text_writes_numbers():
    # independent: the strings are written out by hand here
    assert CN.quote(0.0013703961664417524, ".1e") == "1.4e-3"
    assert CN.quote(20291.3, ".1e") == "2.0e4"
    assert CN.quote(119.574, ".1er") == "1.2e+02"
    assert CN.quote(1.3137e-05, ".1L") == "1.3 \\cdot 10^{-5}"
    assert CN.quote(0.0017864, ".0e") == "2e-3"
    assert CN.quote(79.8168, ".0f") == "80"


def test_a_wrong_number_in_the_text_is_caught():
    entry = next(e for e in CN.QUOTES if e[1] == ("lms: slope",) and e[4] == CN.CARD)
    wrong = {"k-diffusion": {"lms: slope": 3.2}}
    assert CN.quoted(entry, wrong) not in CN.text_of(CN.CARD)


@pytest.mark.slow
@pytest.mark.parametrize("group", sorted(CN.MEASURE))
def test_a_fresh_measurement_reproduces_the_recorded_numbers(group):
    pytest.importorskip("torch")
    pytest.importorskip({"k-diffusion": "torch", "diffusers": "diffusers"}.get(group, group))
    if group == "k-diffusion":
        from verify.kit.adapters.kdiffusion import sampling_available

        if sampling_available() is not None:
            pytest.skip(f"k_diffusion.sampling does not load: {sampling_available()}")
    fresh = {group: CN.MEASURE[group]()}
    for entry in (e for e in CN.QUOTES if e[0] == group):
        assert CN.quoted(entry, fresh) == CN.quoted(entry, RECORDED), entry
