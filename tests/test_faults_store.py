"""Fault injection for the results store and data set folders: concurrent identical writers (real processes),
truncated or garbage files of every kind written, and a data set saved over a folder that is not one."""
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from visreps.data.dataset import NeuralDataset, StimulusSet, load_dataset, make_responses
from visreps.study.results import ResultsStore, make_run_id
from visreps.core.storage import DataError

# writer i: writes its arrays, then waits (longer for earlier writers) before its results file, logging each write.
# Without one writer per run, the file that ends up last is writer 0's while the arrays are the last starter's.
WRITER = """
import sys, time, numpy as np
import visreps.study.results as R
root, i, n, t0, log = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
real = R.write_json_atomic
def slow(path, obj):
    time.sleep(0.3 * (n - i))
    open(log, "a").write(f"{i}\\n")
    return real(path, obj)
R.write_json_atomic = slow
while time.time() < t0 + 0.2 * i: time.sleep(0.01)
R.ResultsStore(root).write_run(dict(model="same", readout="fc2.post"),
                               [dict(analysis="rsa", metric="spearman", value=0.5)],
                               config=dict(writer=i), arrays=dict(writer=np.array([i])))
"""


def test_concurrent_identical_writers_leave_one_consistent_run(tmp_path):
    root, log, n = tmp_path / "store", tmp_path / "writes.log", 4
    t0 = time.time() + 3  # every process is up before the first writes
    ps = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(root), str(i), str(n), str(t0), str(log)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(n)
    ]
    errs = [p.communicate(timeout=120)[1] for p in ps]
    assert [p.returncode for p in ps] == [0] * n, errs
    assert len(log.read_text().split()) == 1, "the run was written more than once"
    store = ResultsStore(root)
    rid = make_run_id(dict(model="same", readout="fc2.post"))
    assert store.run_ids() == [rid] and len(store.load()) == 1
    # results and arrays of one writer
    assert store.load_arrays(rid)["writer"].tolist() == [store.read_run(rid)["config"]["writer"]]
    assert sorted(p.name for p in (root / "runs").iterdir() if not p.name.endswith(".lock")) == [
        f"{rid}.json",
        f"{rid}.npz",
    ]


def test_truncated_results_file_is_not_done_and_is_rewritten(tmp_path):
    store = ResultsStore(tmp_path / "store")
    ident, recs = dict(model="m"), [dict(analysis="rsa", metric="spearman", value=0.25)]
    rid = store.write_run(ident, recs, arrays=dict(b=np.arange(4.0)))
    good = store.path(rid).read_bytes()
    for bad in (good[: len(good) // 3], b"", b"\x00\x01garbage", b"[1, 2, 3]"):
        store.path(rid).write_bytes(bad)
        assert not store.is_done(rid), bad
        with pytest.raises(DataError, match=f"{rid}.json"):
            store.load()
        store.write_run(ident, recs, arrays=dict(b=np.arange(4.0)))
        assert store.is_done(rid) and store.load().value.tolist() == [0.25]
    z = store.path(rid, "npz")
    z.write_bytes(z.read_bytes()[:50])
    assert not store.is_done(rid)
    with pytest.raises(DataError, match=f"{rid}.npz"):
        store.load_arrays(rid)
    store.write_run(ident, recs, arrays=dict(b=np.arange(4.0)))
    assert store.load_arrays(rid)["b"].tolist() == [0, 1, 2, 3]


def _tiny_dataset():
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 255, size=(3, 8, 8, 3), dtype=np.uint8)
    st = StimulusSet(["a", "b", "c"], imgs)
    r = make_responses(rng.normal(size=(3, 2)), ["a", "b", "c"], [0, 0, 0], ["early", "ventral"], "s1")
    return NeuralDataset("toy", {"s1": r}, st)


def test_save_never_deletes_a_folder_it_did_not_write(tmp_path):
    thesis = tmp_path / "d"
    thesis.mkdir()
    (thesis / "chapter1.tex").write_text("two years of work")
    with pytest.raises(DataError, match="chapter1.tex"):
        _tiny_dataset().save(thesis)
    assert (thesis / "chapter1.tex").read_text() == "two years of work"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock")) == ["d"]
    # the same through the source string the commands use (world:DIR saves the world there)
    from visreps.data.sources import load_neural_data
    with pytest.raises(DataError, match="chapter1.tex"):
        load_neural_data(f"world:{thesis}", n_levels=3, n_subjects=1, n_train_per_subject=8, n_test=8, n_voxels_early=8,
                         n_voxels_mid=8, n_voxels_ventral=8, image_size=32)
    assert (thesis / "chapter1.tex").read_text() == "two years of work"
    f = tmp_path / "notes.txt"
    f.write_text("x")
    with pytest.raises(DataError, match="notes.txt"):
        _tiny_dataset().save(f)
    # a folder holding only someone else's dataset.json (valid JSON, not a visreps data set) is theirs too
    other = tmp_path / "other"
    other.mkdir()
    (other / "dataset.json").write_text('{"name": "my notes"}')
    with pytest.raises(DataError, match="not a visreps data set"):
        _tiny_dataset().save(other)
    with pytest.raises(DataError, match="not a visreps data set"):
        load_neural_data(f"world:{other}", n_levels=3, n_subjects=1, n_train_per_subject=8, n_test=8, n_voxels_early=8,
                         n_voxels_mid=8, n_voxels_ventral=8, image_size=32)
    assert (other / "dataset.json").read_text() == '{"name": "my notes"}'


def test_truncated_dataset_files_name_themselves(tmp_path):
    d = _tiny_dataset().save(tmp_path / "ds")
    meta = (d / "dataset.json").read_text()
    (d / "dataset.json").write_text(meta[:10])
    with pytest.raises(DataError, match="dataset.json"):
        load_dataset(d)
    (d / "dataset.json").write_text(meta)
    nc = d / "responses_s1.nc"
    good = nc.read_bytes()
    for bad in (good[:300], b"garbage"):
        nc.write_bytes(bad)
        with pytest.raises(DataError, match="responses_s1.nc"):
            load_dataset(d)
    nc.write_bytes(good)
    assert load_dataset(d).subjects == ["s1"]


def test_truncated_stimulus_file_names_itself(tmp_path):
    d = _tiny_dataset().save(tmp_path / "ds")
    h5 = d / "stimuli.h5"
    h5.write_bytes(h5.read_bytes()[:500])
    with pytest.raises(DataError, match="stimuli.h5' is truncated"):
        load_dataset(d)


def test_damaged_world_is_named_and_made_again(tmp_path, capsys):
    ("A world (in the cache under results_root, or at out=DIR) whose "
     "dataset.json was cut short: `visreps world` names it and makes it again.")
    from visreps.app.cli import main
    tiny = [f"{k}={v}" for k, v in dict(n_levels=2, n_subjects=1, n_train_per_subject=8, n_test=8, image_size=32,
                                         n_voxels_early=4, n_voxels_mid=4, n_voxels_ventral=4).items()]
    for where in ([f"results_root={tmp_path / 'res'}"], [f"out={tmp_path / 'd'}"]):
        assert main(["world", *tiny, *where]) == 0
        meta = next(
            p
            for p in tmp_path.rglob("dataset.json")
            if str(p).startswith(str(tmp_path / ("res" if "results" in where[0] else "d")))
        )
        good = json.loads(meta.read_text())
        meta.write_text(meta.read_text()[:30])
        assert main(["world", *tiny, *where]) == 0, capsys.readouterr().err
        assert f"{str(meta)!r} is truncated or corrupt" in capsys.readouterr().err
        assert json.loads(meta.read_text()) == good and load_dataset(meta.parent).subjects == ["subj01"]
