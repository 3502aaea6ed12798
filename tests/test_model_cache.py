"""The model cache (issue 25): every corrupted, edited or foreign entry is detected and rebuilt.

Each test corrupts one entry in one way and checks that (i) the lookup ignores it with exactly
one warning naming the offending file, (ii) :func:`verify.torch.load_score` rebuilds it and
the rebuilt network equals the original one (training is deterministic given the seed), and
(iii) the rebuilt entry verifies again, silently. Expected values come from a second route:
the network trained without the cache.
"""

import io
import json
import pickle
import threading
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from analytic import VE, GaussianMixture  # noqa: E402
from verify.torch import (  # noqa: E402
    StartLawConfig,
    TrainConfig,
    cached_score,
    cached_start_law,
    entries,  # noqa: E402
    load_checkpoint,
    load_score,
    train_start_law,
)
from verify.torch import cache as vc  # noqa: E402
from verify.torch.entries import CacheEntryError  # noqa: E402

SDE = VE(0.01, 3.0)
DATA = GaussianMixture([0.4, 0.6], [[-1.0], [1.0]], [0.1, 0.2])
CFG = TrainConfig(hidden=8, depth=2, n_freq=3, n_iters=12, batch=16, n_train=64)
X = np.linspace(-2, 2, 7)[:, None]


@pytest.fixture
def entry(tmp_path):
    """A fresh cached network: ``(root, stem, reference values at X, t=0.5)``."""
    ref = load_score(SDE, DATA, CFG, root=tmp_path)(X, 0.5)
    stem, _ = vc.score_stem(CFG, DATA, SDE, tmp_path)
    assert stem.with_suffix(".json").exists() and stem.with_suffix(".npz").exists()
    assert cached_score(SDE, DATA, CFG, root=tmp_path) is not None
    return tmp_path, stem, ref


def _caught(fn):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn()
    return out, [str(w.message) for w in caught]


def _rebuilt(root, bad_file, ref):
    """One warning naming ``bad_file``, then a rebuild equal to ``ref``, then silence."""
    found, msgs = _caught(lambda: cached_score(SDE, DATA, CFG, root=root))
    assert found is None
    assert len(msgs) == 1 and str(bad_file) in msgs[0] and "rebuilding" in msgs[0], msgs
    score, msgs2 = _caught(lambda: load_score(SDE, DATA, CFG, root=root))
    assert msgs2 == [], msgs2  # the same bad file is not reported twice
    assert not score.train_info.get("from_cache", False)
    np.testing.assert_array_equal(score(X, 0.5), ref)
    again, msgs3 = _caught(lambda: cached_score(SDE, DATA, CFG, root=root))
    assert again is not None and msgs3 == []
    np.testing.assert_array_equal(again(X, 0.5), ref)


def test_truncated_weights_are_rebuilt(entry):
    root, stem, ref = entry
    npz = stem.with_suffix(".npz")
    npz.write_bytes(npz.read_bytes()[: npz.stat().st_size // 2])
    _rebuilt(root, npz, ref)


def test_truncated_manifest_is_rebuilt(entry):
    root, stem, ref = entry
    man = stem.with_suffix(".json")
    man.write_bytes(man.read_bytes()[:100])
    _rebuilt(root, man, ref)


def test_a_plain_npy_where_the_npz_belongs_is_rebuilt(entry):
    root, stem, ref = entry
    npz = stem.with_suffix(".npz")
    with open(npz, "wb") as f:
        np.save(f, np.zeros(3))
    _rebuilt(root, npz, ref)
    # and with a matching checksum (a buggy writer), the type check catches it
    buf = io.BytesIO()
    np.save(buf, np.zeros(3))
    with pytest.raises(CacheEntryError, match="plain ndarray"):
        vc.parse_weights(buf.getvalue(), npz, CFG.net_kwargs(1))


def test_edited_weights_are_rebuilt(entry):
    root, stem, ref = entry
    npz = stem.with_suffix(".npz")
    with np.load(npz) as f:
        w = {k: f[k].copy() for k in f.files}
    w["mlp.0.bias"][0] += 0.5  # a valid archive, other numbers
    with open(npz, "wb") as f:
        np.savez(f, **w)
    _rebuilt(root, npz, ref)


def test_edited_manifest_numbers_and_non_numbers_are_rebuilt(entry):
    root, stem, ref = entry
    man = stem.with_suffix(".json")
    good = man.read_text()
    for edit in ('"final_loss": "abc"', '"final_loss": NaN', '"final_loss": 0.0'):
        info = json.loads(good)
        text = json.dumps(info, indent=1, sort_keys=True).replace(
            f'"final_loss": {json.dumps(info["meta"]["final_loss"])}', edit
        )
        assert edit in text
        man.write_text(text)
        _rebuilt(root, man, ref)
        good = man.read_text()


def test_a_correctly_hashed_non_number_is_still_rejected(entry):
    """A writer that hashed a non-number (or a wrong network) is caught by the type checks."""
    root, stem, ref = entry
    weights, manifest = vc.read_score_entry(stem, None)
    meta = {**manifest["meta"], "final_loss": "abc"}
    vc.write_score_entry(stem, manifest["config"], weights, manifest["net"], {"meta": meta})
    _rebuilt(root, stem.with_suffix(".json"), ref)


@pytest.mark.parametrize("kind", ["shape", "dtype", "names", "object", "inf"])
def test_weights_of_the_wrong_shape_or_type_are_rebuilt(entry, kind):
    root, stem, ref = entry
    weights, manifest = vc.read_score_entry(stem, None)
    w = dict(weights)
    if kind == "shape":
        w["mlp.0.weight"] = w["mlp.0.weight"][:, :-1]
    elif kind == "dtype":
        w["mlp.0.weight"] = w["mlp.0.weight"].astype(np.int64)
    elif kind == "names":
        w["mlp.9.weight"] = w.pop("mlp.0.weight")
    elif kind == "object":
        w["mlp.0.bias"] = np.array([object()] * w["mlp.0.bias"].size, dtype=object)
    else:
        w["mlp.0.bias"] = np.full_like(w["mlp.0.bias"], np.inf)
    if kind == "object":  # np.savez pickles it; the archive is then refused unread
        payload = io.BytesIO()
        np.savez(payload, **w)
        data = {".npz": payload.getvalue()}
        entries.write_entry(
            stem,
            "score",
            manifest["config"],
            {"net": manifest["net"], "meta": manifest["meta"]},
            data,
        )
    else:
        vc.write_score_entry(
            stem, manifest["config"], w, manifest["net"], {"meta": manifest["meta"]}
        )
    _rebuilt(root, stem.with_suffix(".npz"), ref)


def test_an_entry_of_another_configuration_is_rebuilt(entry):
    """Copy the entry of another configuration under this one's name."""
    root, stem, ref = entry
    other = TrainConfig(**{**CFG.__dict__, "seed": 7})
    load_score(SDE, DATA, other, root=root)
    other_stem, _ = vc.score_stem(other, DATA, SDE, root)
    for suffix in (".npz", ".pt", ".json"):
        stem.with_suffix(suffix).write_bytes(other_stem.with_suffix(suffix).read_bytes())
    _rebuilt(root, stem.with_suffix(".json"), ref)


def test_a_code_carrying_pickle_never_runs(entry, tmp_path):
    """A .pt that would run code when unpickled, even with a matching checksum."""
    root, stem, ref = entry
    flag = tmp_path / "ran"

    class Evil:
        def __reduce__(self):
            return (open, (str(flag), "w"))

    weights, manifest = vc.read_score_entry(stem, None)
    pt = pickle.dumps({"x": Evil()})
    fields = {"meta": manifest["meta"]}
    vc.write_score_entry(stem, manifest["config"], weights, manifest["net"], fields, pt)
    with pytest.raises(CacheEntryError, match="weights"):
        load_checkpoint(stem)
    stem.with_suffix(".pt").write_bytes(pt + b"x")  # now also off its checksum
    with pytest.raises(CacheEntryError, match="checksum"):
        load_checkpoint(stem)
    assert not flag.exists()


def test_a_half_written_entry_is_never_read(tmp_path, monkeypatch):
    """A writer stopped half-way through a file: readers see no entry, then the whole one."""
    half_written, release = threading.Event(), threading.Event()
    real = entries._write_bytes

    def slow(f, data):
        real(f, data[: len(data) // 2])
        f.flush()
        half_written.set()
        assert release.wait(20)
        real(f, data[len(data) // 2 :])

    monkeypatch.setattr(entries, "_write_bytes", slow)
    writer = threading.Thread(target=load_score, args=(SDE, DATA, CFG), kwargs={"root": tmp_path})
    writer.start()
    assert half_written.wait(60)
    found, msgs = _caught(lambda: cached_score(SDE, DATA, CFG, root=tmp_path))
    assert found is None and msgs == []  # the temporary file is invisible
    assert list(tmp_path.glob("score-*")) == []
    release.set()
    monkeypatch.setattr(entries, "_write_bytes", real)  # later files of the entry at full speed
    writer.join(60)
    found, msgs = _caught(lambda: cached_score(SDE, DATA, CFG, root=tmp_path))
    assert found is not None and msgs == []
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no leftovers


def test_concurrent_writers_and_a_reader_share_a_cache(entry):
    """Two writers rewrite the entry (same content) while a reader looks it up repeatedly."""
    root, stem, ref = entry
    weights, manifest = vc.read_score_entry(stem, None)
    stop = threading.Event()

    def write():
        while not stop.is_set():
            vc.write_score_entry(
                stem, manifest["config"], weights, manifest["net"], {"meta": manifest["meta"]}
            )

    writers = [threading.Thread(target=write) for _ in range(2)]
    for w in writers:
        w.start()
    try:
        for _ in range(60):
            found, msgs = _caught(lambda: cached_score(SDE, DATA, CFG, root=root))
            assert msgs == [] and found is not None
            np.testing.assert_array_equal(found(X, 0.5), ref)
    finally:
        stop.set()
        for w in writers:
            w.join(30)


# ------------------------------------------------------------------------------ start laws
START = StartLawConfig(n_components=2, n_iters=20)


@pytest.fixture
def start_entry(tmp_path):
    law, losses = train_start_law(SDE, DATA, 0.5, START, root=tmp_path)
    stem, key_meta = vc.start_stem(START, DATA, SDE, 0.5, tmp_path)
    return tmp_path, stem, key_meta, law


def _start_rebuilt(root, bad_file, law):
    found, msgs = _caught(lambda: cached_start_law(SDE, DATA, 0.5, START, root=root))
    assert found is None and len(msgs) == 1 and str(bad_file) in msgs[0], msgs
    (refit, _), msgs2 = _caught(lambda: train_start_law(SDE, DATA, 0.5, START, root=root))
    assert msgs2 == []
    np.testing.assert_array_equal(refit.means, law.means)
    again, msgs3 = _caught(lambda: cached_start_law(SDE, DATA, 0.5, START, root=root))
    assert again is not None and msgs3 == []


def test_an_edited_start_law_is_rebuilt(start_entry):
    """The silently wrong case of issue 25: edited numbers changed a verdict."""
    root, stem, _, law = start_entry
    path = stem.with_suffix(".json")
    info = json.loads(path.read_text())
    info["means"][0][0] += 1.0
    path.write_text(json.dumps(info))
    _start_rebuilt(root, path, law)


@pytest.mark.parametrize("how", ["truncated", "not-an-object", "non-number", "components"])
def test_a_broken_start_law_is_rebuilt(start_entry, how):
    root, stem, key_meta, law = start_entry
    path = stem.with_suffix(".json")
    if how == "truncated":
        path.write_bytes(path.read_bytes()[:50])
    elif how == "not-an-object":
        path.write_text("[1, 2, 3]")
    else:  # hashed correctly by a buggy writer: caught by the content checks
        fields = json.loads(path.read_text())
        fields = {k: fields[k] for k in ("weights", "means", "covs", "losses")}
        if how == "non-number":
            fields["losses"][3] = "x"
        else:
            fields.update(weights=[1.0], means=[[0.0]], covs=[[1.0]])
        entries.write_entry(stem, "start-law", key_meta, fields)
    _start_rebuilt(root, path, law)


def test_a_start_law_of_another_time_is_rebuilt(start_entry):
    root, stem, _, law = start_entry
    train_start_law(SDE, DATA, 0.6, START, root=root)
    other, _ = vc.start_stem(START, DATA, SDE, 0.6, root)
    stem.with_suffix(".json").write_bytes(other.with_suffix(".json").read_bytes())
    _start_rebuilt(root, stem.with_suffix(".json"), law)
