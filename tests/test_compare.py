"""``diffusion-verify compare``: verdicts against the expected ones, numbers that moved, and
files it did not write (inf / NaN, duplicate ids, wrong schemas, deep nesting, huge files,
/dev/zero, FIFOs) as one line and exit code 2."""

from __future__ import annotations

import copy
import json
import math
import os
import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from verify.app import cli
from verify.app import compare as C


def _claim(cid, verdict="holds", rows=((1.0, 2.0), (3.0, 4.0)), **kw):
    obj = {
        "id": cid,
        "verdict": verdict,
        "key_number": "err = 1e-12",
        "tables": {"t": {"columns": ["a", "b"], "rows": [list(r) for r in rows]}},
    }
    obj.update(kw)
    return obj


RUN = [
    _claim("theory.a"),
    _claim("theory.b", rows=((0.5, "x"),)),
    _claim("stochasticity.finding", "fails", finding="What holds.", expected="fails"),
    _claim("learned.net", "inconclusive", finding="What holds.", expected="fails"),
]


def _write(path, claims, meta=True):
    data = {"meta": {"toolkit": "diffusion-verify"}, "claims": claims} if meta else claims
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _compare(tmp_path, old, new, **kw):
    a = _write(tmp_path / "old.json", old)
    b = _write(tmp_path / "new.json", new)
    return C.compare_runs(a, b, **kw)


def _main(capsys, *argv):
    code = cli.main(["compare", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


# ----------------------------------------------------------------------------- verdicts
def test_identical_runs_are_unchanged(tmp_path, capsys):
    cmp = _compare(tmp_path, RUN, RUN)
    assert cmp.worse == [] and cmp.changed == [] and cmp.other_changes == []
    assert {c.verdict_change for c in cmp.changes} == {"same"}
    code, out, _ = _main(capsys, tmp_path / "old.json", tmp_path / "new.json")
    assert code == 0 and "4 claims: 4 unchanged" in out and "0 worse" in out


@pytest.mark.parametrize(
    ("old", "new", "expected", "change", "worse"),
    [
        ("fails", "fails", "fails", "same", False),  # a finding staying fails is not worse
        ("inconclusive", "fails", "fails", "better", False),  # learned.*: now decided
        ("fails", "inconclusive", "fails", "worse", True),
        ("fails", "holds", "fails", "worse", True),  # a finding that now holds
        ("holds", "fails", "holds", "worse", True),  # a regression
        ("fails", "holds", "holds", "better", False),
        ("holds", "inconclusive", "holds", "worse", True),
        ("holds", "error", "holds", "error", True),
        ("error", "holds", "holds", "error fixed", False),
        ("holds", "skipped", "holds", "skipped", False),  # a requirement went missing
        ("skipped", "fails", "fails", "unskipped", False),
        ("holds", "fails", "inconclusive", "changed", False),
    ],
)
def test_verdict_changes_are_judged_against_the_expected_verdict(
    tmp_path, old, new, expected, change, worse
):
    cmp = _compare(
        tmp_path,
        [_claim("theory.x", old, expected=expected)],
        [_claim("theory.x", new, expected=expected)],
    )
    (ch,) = cmp.changes
    assert ch.verdict_change == change and (cmp.worse == ["theory.x"]) is worse


def test_expected_defaults_from_the_finding_for_results_without_it(tmp_path):
    old = [_claim("theory.x", "inconclusive", finding="F.")]
    new = [_claim("theory.x", "fails", finding="F.")]
    assert _compare(tmp_path, old, new).changes[0].verdict_change == "better"


def test_added_and_removed_claims(tmp_path):
    cmp = _compare(tmp_path, RUN[:2], RUN[1:3])
    kinds = {c.id: c.verdict_change for c in cmp.changes}
    assert kinds["theory.a"] == "removed" and kinds["stochasticity.finding"] == "added"
    assert cmp.worse == ["theory.a"]


# ----------------------------------------------------------------------------- numbers
def test_max_rel_change_is_that_of_the_moved_numbers(tmp_path):
    new = copy.deepcopy(RUN)
    new[0]["tables"]["t"]["rows"][1][0] = 3.3  # 3 -> 3.3: rel 0.3 / 3.3
    new[0]["tables"]["t"]["rows"][0][1] = 2.0 + 1e-13  # within the tolerance
    cmp = _compare(tmp_path, RUN, new)
    (ch,) = [c for c in cmp.changes if c.moved]
    assert ch.id == "theory.a" and ch.moved == 1
    assert ch.max_rel_change == pytest.approx(0.3 / 3.3, rel=1e-12)
    assert ch.worst_cell == "'t'[1][0]"
    assert "max rel change 9.09e-02" in cmp.render()


def test_text_and_key_number_changes_are_not_a_zero_max_rel_change(tmp_path):
    new = copy.deepcopy(RUN)
    new[1]["tables"]["t"]["rows"][0][1] = "y"
    new[2]["key_number"] = "KL 0.4"
    cmp = _compare(tmp_path, RUN, new)
    assert cmp.changed == [] and cmp.other_changes == ["theory.b", "stochasticity.finding"]
    text = cmp.render()
    assert "0 with moved numbers, 2 with other changes" in text
    assert "0.00e+00" not in text


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan, "inf", "nan", "-inf"])
def test_a_finite_number_that_became_non_finite_moved_and_is_worse(tmp_path, bad):
    new = copy.deepcopy(RUN)
    for r in new:
        for table in r["tables"].values():
            table["rows"] = [
                [bad if isinstance(v, float) else v for v in row] for row in table["rows"]
            ]
    a = _write(tmp_path / "old.json", RUN)
    b = tmp_path / "new.json"
    b.write_text(json.dumps({"claims": new}), encoding="utf-8")  # bare NaN / Infinity too
    cmp = C.compare_runs(a, b)
    assert set(cmp.changed) == {r["id"] for r in RUN}
    assert set(cmp.worse) == {r["id"] for r in RUN}
    assert all(c.max_rel_change == math.inf for c in cmp.changes)
    assert "unchanged" not in cmp.render().splitlines()[1]


@pytest.mark.parametrize(
    ("x", "y", "same"),
    [
        ("nan", "nan", True),
        (math.nan, "nan", True),
        ("inf", math.inf, True),
        ("inf", "-inf", False),
        ("inf", 1e308, False),
        ("nan", 0.0, False),
        (1.0, 1.0 + 1e-12, True),
        (0.0, 1e-13, True),  # atol
        (1.0, 1.0 + 1e-6, False),
    ],
)
def test_nan_and_inf_compare_as_what_they_are(tmp_path, x, y, same):
    old = [_claim("theory.x", rows=((x,),))]
    new = [_claim("theory.x", rows=((y,),))]
    old[0]["tables"]["t"]["columns"] = new[0]["tables"]["t"]["columns"] = ["a"]
    cmp = _compare(tmp_path, old, new)
    assert (cmp.changed == []) is same


def test_non_finite_to_finite_moved_but_not_worse(tmp_path):
    old = [_claim("theory.x", rows=(("nan", 2.0),))]
    new = [_claim("theory.x", rows=((1.0, 2.0),))]
    cmp = _compare(tmp_path, old, new)
    assert cmp.changed == ["theory.x"] and cmp.worse == []


def test_fail_on_change_exit_code(tmp_path, capsys):
    new = copy.deepcopy(RUN)
    new[0]["tables"]["t"]["rows"][0][0] = 1.5
    a, b = _write(tmp_path / "a.json", RUN), _write(tmp_path / "b.json", new)
    assert _main(capsys, a, b)[0] == 0
    assert _main(capsys, a, b, "--fail-on-change")[0] == 1
    worse = copy.deepcopy(RUN)
    worse[0]["verdict"] = "fails"
    assert _main(capsys, a, _write(tmp_path / "c.json", worse))[0] == 1


# ----------------------------------------------------------------------------- hostile files
def _one_line_exit_2(capsys, *argv):
    code, out, err = _main(capsys, *argv)
    assert code == 2, (code, out, err)
    assert out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    return err


def test_duplicate_ids_are_an_error(tmp_path, capsys):
    good = _write(tmp_path / "good.json", RUN)
    dup = _write(tmp_path / "dup.json", [_claim("theory.a", "fails"), _claim("theory.a")])
    err = _one_line_exit_2(capsys, good, dup)
    assert "'theory.a' appears twice" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("[" * 100 + "]" * 100, "nested too deeply"),
        ('{"claims": 3}', "got int"),
        ('{"meta": {}}', "no 'claims'"),
        ('{"claims": [3]}', "claims[0]: expected a claim object, got int"),
        ('{"claims": [{"id": "a.b"}]}', "verdict"),
        ('{"claims": [{"id": "a.b", "verdict": "passes"}]}', "verdict"),
        ('{"claims": [{"id": 5, "verdict": "holds"}]}', "id"),
        ('{"claims": [{"id": "a.b", "verdict": "holds", "tables": 4}]}', "tables"),
        ('{"claims": [{"id": "a.b", "verdict": "holds", "tables": {"t": 4}}]}', "table"),
        (
            '{"claims": [{"id": "a.b", "verdict": "holds", "tables": {"t": {"columns": 3}}}]}',
            "columns",
        ),
        (
            '{"claims": [{"id": "a.b", "verdict": "holds", "tables": {"t": {"rows": [5]}}}]}',
            "rows[0]",
        ),
        (
            '{"claims": [{"id": "a.b", "verdict": "holds", "tables": {"t": {"rows": [[{}]]}}}]}',
            "rows[0][0]",
        ),
        ('{"claims": [{"id": "a.b", "verdict": "holds", "key_number": 7}]}', "key_number"),
        ('{"claims": [{"id": "a.b", "verdict": "holds", "expected": "error"}]}', "expected"),
        ('{"claims": [], "meta": 3}', "meta"),
        ("not json", "not valid JSON"),
        ("1" * 5000, "not valid JSON"),
        ("", "not valid JSON"),
        ("null", "got null"),
    ],
)
def test_a_file_that_is_not_a_results_json_is_one_line(tmp_path, capsys, content, message):
    good = _write(tmp_path / "good.json", RUN)
    bad = tmp_path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    assert message in _one_line_exit_2(capsys, good, bad)
    assert message in _one_line_exit_2(capsys, bad, good)


def test_binary_and_missing_files(tmp_path, capsys):
    good = _write(tmp_path / "good.json", RUN)
    (tmp_path / "bin").write_bytes(b"\xff\xfe\x00garbage")
    assert "not UTF-8" in _one_line_exit_2(capsys, good, tmp_path / "bin")
    assert "no such file" in _one_line_exit_2(capsys, good, tmp_path / "missing.json")
    assert "a directory" in _one_line_exit_2(capsys, good, tmp_path)


def test_dev_zero_and_a_fifo_are_rejected_without_reading(tmp_path, capsys):
    good = _write(tmp_path / "good.json", RUN)
    if os.path.exists("/dev/zero"):
        assert "not a regular file" in _one_line_exit_2(capsys, good, "/dev/zero")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    result = {}
    worker = threading.Thread(target=lambda: result.update(r=_main(capsys, good, fifo)))
    worker.start()
    worker.join(timeout=20)
    if worker.is_alive():  # unblock the reader before failing
        with open(fifo, "w"):
            pass
        worker.join()
        pytest.fail("compare blocked on a FIFO")
    code, _, err = result["r"]
    assert code == 2 and "not a regular file" in err


def test_a_file_over_the_size_bound_is_refused_by_its_size(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(C, "MAX_BYTES", 1000)
    good = _write(tmp_path / "good.json", RUN[:1])
    big = _write(tmp_path / "big.json", RUN * 0 + [_claim(f"theory.c{i}") for i in range(50)])
    assert "larger than" in _one_line_exit_2(capsys, good, big)


# ----------------------------------------------------------------------------- property
_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(["nan", "inf", "-inf", "holds", "fails", "error", "skipped"]),
)
_json = st.recursive(
    _scalars,
    lambda kids: st.one_of(
        st.lists(kids, max_size=4), st.dictionaries(st.text(max_size=6), kids, max_size=4)
    ),
    max_leaves=25,
)


def _mutations(claim):
    """A valid claim object with one field replaced by arbitrary JSON."""
    keys = ["id", "verdict", "expected", "tables", "key_number", "finding", "error"]
    return st.tuples(st.sampled_from(keys), _json).map(lambda kv: {**claim, kv[0]: kv[1]})


_files = st.one_of(
    _json,
    st.lists(st.one_of(_json, _mutations(RUN[0]), _mutations(RUN[2])), max_size=4),
    st.builds(lambda cs: {"claims": cs}, st.lists(_mutations(RUN[0]), max_size=3)),
    st.builds(
        lambda rows: {"claims": [{**RUN[0], "tables": {"t": {"columns": ["a"], "rows": rows}}}]},
        _json,
    ),
)


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=_files)
def test_malformed_results_files_never_raise_anything_but_a_one_line_error(tmp_path, data):
    """Any JSON value as OLD or NEW: a Comparison, or a ResultsFileError of one line."""
    good = _write(tmp_path / "good.json", RUN)
    path = tmp_path / "fuzz.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    for a, b in ((good, path), (path, good), (path, path)):
        try:
            cmp = C.compare_runs(a, b)
        except C.ResultsFileError as exc:
            assert "\n" not in str(exc) and str(exc).startswith(str(path))
            continue
        text = cmp.render()  # a comparison always renders
        assert text.splitlines()[-1].endswith("worse")
        for ch in cmp.changes:
            assert ch.moved == 0 or ch.max_rel_change > 0
