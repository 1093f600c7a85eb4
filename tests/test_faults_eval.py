"""Fault injection for `visreps eval` on one results store: several identical evaluations started at once (real
processes), a SIGKILL mid-way (while the exact features are reduced to their Gram statistics, and after the first run
is stored) then a rerun, and truncated feature-cache files. Each ends with exactly the records of one uninterrupted
evaluation and no temporary file or folder left over."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from visreps.study.results import ResultsStore
from visreps.data.world import make_world

TINY = dict(n_levels=2, n_subjects=1, n_train_per_subject=24, n_test=16, image_size=64,
            n_voxels_early=4, n_voxels_mid=4, n_voxels_ventral=4)


def eval_args(world, root):
    return [
        "eval",
        f"dataset={world}",
        "width=0.25",
        "n_classes=4",
        "n_select=16",
        "n_boot=5",
        "device=cpu",
        "batch_size=8",
        "analyses=[rsa,pca_reconstruction]",
        "pca_ks=[2,4]",
        f"results_root={root}",
    ]


# one `visreps eval`, started once the file `go` exists (every
# process has imported by then); KILL_AT: where it SIGKILLs itself
EVAL = """
import os, sys, time
from pathlib import Path
import torch; torch.set_num_threads(1)
from visreps.app.cli import main
kill = os.environ.get("KILL_AT")
if kill == "gram":  # after the exact features are streamed to the raw folder, before their Gram statistics
    import visreps.study.feature_cache as F
    F.gram_statistics = lambda X: os.kill(os.getpid(), 9)
elif kill == "after-first-run":
    import visreps.study.results as R
    real = R.ResultsStore.write_run
    def once(self, *a, **k):
        out = real(self, *a, **k); os.kill(os.getpid(), 9)
    R.ResultsStore.write_run = once
import visreps.study.evaluate  # the command's modules, imported before the start
go = Path(sys.argv[1])
while not go.exists(): time.sleep(0.01)
sys.exit(main(sys.argv[2:]))
"""


def start(go, argv, **env):
    return subprocess.Popen(
        [sys.executable, "-c", EVAL, str(go), *argv],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", **env},
    )


def records(root):
    df = ResultsStore(root).load()
    cols = [c for c in df.columns if c != "value"]
    df = df.sort_values(cols).reset_index(drop=True)
    return df[cols].astype(str).values.tolist(), df.value.to_numpy(float)


def leftovers(root):
    """Temporaries of any writer: raw feature folders, .tmp files and folders, replaced folders, and lock files of
    nothing (a lock file stays only beside the entry it guards, or as the one turn lock `runs/.eval-<plan>.lock` of an
    evaluation's plan, reused by every identical evaluation: more than one of those for one plan is a leftover)."""
    root = Path(root)
    out = [p for p in root.rglob("*") if ".raw-" in p.name or ".tmp" in p.name or ".old-" in p.name]
    for lk in root.rglob(".*.lock"):
        if lk.parent == root / "runs" and lk.name.startswith(".eval-"): continue
        if not lk.with_name(lk.name[1:-len(".lock")]).exists(): out.append(lk)
    turns = list((root / "runs").glob(".eval-*.lock"))
    if len(turns) > 1: out += turns
    return sorted(str(p) for p in out)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("evalfaults")
    make_world(0, **TINY).save(d / "w")
    return d / "w"


@pytest.fixture(scope="module")
def reference(world, tmp_path_factory):
    from visreps.app.cli import main
    root = tmp_path_factory.mktemp("evalref") / "S"
    assert main(eval_args(world, root)) == 0
    keys, vals = records(root)
    assert len(ResultsStore(root).run_ids()) == 2 and len(vals) > 0
    assert list(Path(root, "features").glob("gram-*.npz")), "the PCA control caches Gram statistics"
    return root, keys, vals


def same_as_reference(root, reference):
    _, keys, vals = reference
    k, v = records(root)
    assert k == keys
    np.testing.assert_array_equal(v, vals)
    assert sorted(ResultsStore(root).run_ids()) == sorted(ResultsStore(reference[0]).run_ids())


def test_identical_evals_at_once_leave_one_set_of_records(world, reference, tmp_path):
    root, go = tmp_path / "S", tmp_path / "go"
    ps = [start(go, eval_args(world, root)) for _ in range(3)]
    time.sleep(0.5); go.touch()
    outs = [p.communicate(timeout=300)[0] for p in ps]
    assert [p.returncode for p in ps] == [0, 0, 0], outs
    # one computed; the others waited and reused its runs
    said = sorted(o.strip().splitlines()[-1].split(",")[:2] for o in outs)
    assert said == [["eval: 0 run(s) written", " 2 already done"]] * 2 + [
        ["eval: 2 run(s) written", " 0 already done"]
    ], outs
    same_as_reference(root, reference)
    assert leftovers(root) == []


def test_an_identical_eval_started_after_the_first_run_is_stored_waits_and_computes_nothing(
    world, reference, tmp_path, monkeypatch, capsys
):
    """The second of two identical evaluations starts once the first has stored its first run (ordered by a hook, not by
    sleeps): it says it waits, takes its turn after the first, computes nothing and reports 0 runs written; one turn
    lock remains."""
    import threading
    import visreps.study.evaluate as E
    import visreps.study.results as R
    import visreps.core.storage as S
    from visreps.data.sources import load_neural_data
    cfg = E.EvalConfig.from_overrides(eval_args(world, tmp_path / "S")[1:])
    data = load_neural_data(cfg.dataset, **cfg.dataset_options)
    computed, summaries, second_waits = [], {}, threading.Event()
    real_run, real_write, real_locked = E.SubjectEvaluation.run, R.ResultsStore.write_run, S.locked
    def run(self, a):
        computed.append(threading.current_thread().name); return real_run(self, a)
    def locked(path, wait_message=None, **k):  # what the second says when it has to wait, seen by the hook below
        def said(m):
            if wait_message: wait_message(m)
            second_waits.set()
        return real_locked(path, wait_message=said, **k)

    second = threading.Thread(
        target=lambda: summaries.update(second=E.run_eval(cfg, data=data, progress=False)), name="second"
    )
    def write_run(self, *a, **k):
        out = real_write(self, *a, **k)
        if threading.current_thread().name == "first" and second.ident is None:
            # the first run is stored, one is left: the second must wait for the first, not compute it alongside
            second.start()
            t0 = time.time()
            while second.is_alive() and not second_waits.is_set() and time.time() - t0 < 120: second_waits.wait(0.05)
        return out
    monkeypatch.setattr(E.SubjectEvaluation, "run", run)
    monkeypatch.setattr(R.ResultsStore, "write_run", write_run)
    monkeypatch.setattr(S, "locked", locked)
    first = threading.Thread(
        target=lambda: summaries.update(first=E.run_eval(cfg, data=data, progress=False)), name="first"
    )
    first.start(); first.join(300); second.join(300)
    assert set(summaries) == {"first", "second"}, "an evaluation failed (see the captured output)"
    assert computed == ["first", "first"], computed  # the second computed nothing
    assert (len(summaries["first"].written), len(summaries["first"].skipped)) == (2, 0)
    assert (len(summaries["second"].written), len(summaries["second"].skipped), summaries["second"].n_records) == (
        0,
        2,
        0,
    )
    assert str(summaries["second"]).startswith("eval: 0 run(s) written, 2 already done")
    assert "visreps eval: waiting for an identical evaluation" in capsys.readouterr().err
    same_as_reference(tmp_path / "S", reference)
    assert leftovers(tmp_path / "S") == []
    assert len(list((tmp_path / "S" / "runs").glob(".eval-*.lock"))) == 1  # the plan's one turn lock, reused


def test_a_run_finished_by_another_writer_meanwhile_is_not_counted_as_written(world, reference, tmp_path, monkeypatch):
    ("write_run says whether it wrote: a run someone else stored "
     "while this evaluation computed it is reported as already done.")
    import visreps.study.evaluate as E
    import visreps.study.results as R
    cfg = E.EvalConfig.from_overrides(eval_args(world, tmp_path / "S")[1:])
    real_run = E.SubjectEvaluation.run
    def run(self, a):  # another writer (the reference's records, copied in) finishes this run while we compute it
        out = real_run(self, a)
        store = R.ResultsStore(tmp_path / "S")
        for rid in R.ResultsStore(reference[0]).run_ids():
            for ext in ("json", "npz"):
                f = R.ResultsStore(reference[0]).path(rid, ext)
                if f.exists() and not store.path(rid, ext).exists(): store.path(rid, ext).write_bytes(f.read_bytes())
        return out
    monkeypatch.setattr(E.SubjectEvaluation, "run", run)
    s = E.run_eval(cfg, progress=False)
    assert (len(s.written), len(s.skipped), s.n_records) == (0, 2, 0), str(s)
    same_as_reference(tmp_path / "S", reference)


@pytest.mark.parametrize("point", ["gram", "after-first-run"])
def test_sigkilled_eval_then_rerun_ends_as_an_uninterrupted_one(world, reference, tmp_path, point):
    from visreps.app.cli import main
    root, go = tmp_path / "S", tmp_path / "go"
    go.touch()
    p = start(go, eval_args(world, root), KILL_AT=point)
    out = p.communicate(timeout=300)[0]
    assert p.returncode == -signal.SIGKILL, out
    if point == "gram": assert leftovers(root), "the kill left the raw features folder"
    else: assert len(ResultsStore(root).run_ids()) == 1
    assert main(eval_args(world, root)) == 0  # the rerun (another process: the killed writer is gone)
    same_as_reference(root, reference)
    assert leftovers(root) == []


def test_truncated_feature_cache_files_are_named_and_recomputed(world, reference, tmp_path, capsys):
    import shutil
    from visreps.app.cli import main
    root = tmp_path / "S"
    shutil.copytree(reference[0] / "features", root / "features")
    grams = sorted((root / "features").glob("gram-*.npz"))
    for g in grams: g.write_bytes(g.read_bytes()[:100])
    npy = sorted((root / "features").glob("projected-*/*.npy"))[0]
    npy.write_bytes(npy.read_bytes()[:100])
    man = sorted((root / "features").glob("projected-*/manifest.json"))[-1]
    man.write_text(man.read_text()[:40])
    assert main(eval_args(world, root)) == 0
    err = capsys.readouterr().err
    assert all(f"{str(g)!r} is truncated or corrupt" in err for g in grams), err
    same_as_reference(root, reference)
    assert leftovers(root) == []


@pytest.mark.parametrize("gone", ["results folder", "lock"])
def test_an_eval_whose_results_folder_is_deleted_under_it_stops_and_says_so(world, tmp_path, monkeypatch, capsys, gone):
    ("The results folder (or the evaluation's lock) removed after the first run is "
     "stored: one sentence and exit 2, not the rest written into a new folder and counted.")
    import shutil
    import visreps.study.results as R
    from visreps.app.cli import main
    root = tmp_path / "S"
    real = R.ResultsStore.write_run

    def write_then_remove(self, *a, **k):
        out = real(self, *a, **k)
        if gone == "lock": [lk.unlink() for lk in (root / "runs").glob(".eval-*.lock")]
        else: shutil.rmtree(root)
        return out
    monkeypatch.setattr(R.ResultsStore, "write_run", write_then_remove)
    assert main(eval_args(world, root)) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "was removed while this ran: stopped without writing more" in err, err
    assert ("lock of this evaluation" if gone == "lock" else f"the results folder {str(root)!r}") in err, err
    if gone == "lock": assert len(ResultsStore(root).run_ids()) == 1  # the first run stands; nothing more written
    else: assert not root.exists()  # not made again by the runs after
