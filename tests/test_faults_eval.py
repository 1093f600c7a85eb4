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

from visreps.results import ResultsStore
from visreps.world import make_world

TINY = dict(n_levels=2, n_subjects=1, n_train_per_subject=24, n_test=16, image_size=64,
            n_voxels_early=4, n_voxels_mid=4, n_voxels_ventral=4)


def eval_args(world, root):
    return ["eval", f"dataset={world}", "width=0.25", "num_classes=4", "n_select=16", "n_boot=5", "device=cpu", "batch_size=8",
            "analyses=[rsa,pca_reconstruction]", "pca_ks=[2,4]", f"results_root={root}"]


# one `visreps eval`, started once the file `go` exists (every process has imported by then); KILL_AT: where it SIGKILLs itself
EVAL = """
import os, sys, time
from pathlib import Path
import torch; torch.set_num_threads(1)
from visreps.cli import main
kill = os.environ.get("KILL_AT")
if kill == "gram":  # after the exact features are streamed to the raw folder, before their Gram statistics
    import visreps.feature_cache as F
    F.gram_statistics = lambda X: os.kill(os.getpid(), 9)
elif kill == "after-first-run":
    import visreps.results as R
    real = R.ResultsStore.write_run
    def once(self, *a, **k):
        out = real(self, *a, **k); os.kill(os.getpid(), 9)
    R.ResultsStore.write_run = once
import visreps.evaluate  # the command's modules, imported before the start
go = Path(sys.argv[1])
while not go.exists(): time.sleep(0.01)
sys.exit(main(sys.argv[2:]))
"""


def start(go, argv, **env):
    return subprocess.Popen([sys.executable, "-c", EVAL, str(go), *argv], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1", **env})


def records(root):
    df = ResultsStore(root).load()
    cols = [c for c in df.columns if c != "value"]
    df = df.sort_values(cols).reset_index(drop=True)
    return df[cols].astype(str).values.tolist(), df.value.to_numpy(float)


def leftovers(root):
    "Temporaries of any writer: raw feature folders, .tmp files and folders, replaced folders (lock files of real entries are not)."
    root = Path(root)
    out = [p for p in root.rglob("*") if ".raw-" in p.name or ".tmp" in p.name or ".old-" in p.name]
    return sorted(str(p) for p in out)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    d = tmp_path_factory.mktemp("evalfaults")
    make_world(0, **TINY).save(d / "w")
    return d / "w"


@pytest.fixture(scope="module")
def reference(world, tmp_path_factory):
    from visreps.cli import main
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
    said = sorted(o.strip().splitlines()[-1].split(",")[:2] for o in outs)  # one computed; the others waited and reused its runs
    assert said == [["eval: 0 run(s) written", " 2 already done"]] * 2 + [["eval: 2 run(s) written", " 0 already done"]], outs
    same_as_reference(root, reference)
    assert leftovers(root) == []


@pytest.mark.parametrize("point", ["gram", "after-first-run"])
def test_sigkilled_eval_then_rerun_ends_as_an_uninterrupted_one(world, reference, tmp_path, point):
    from visreps.cli import main
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
    from visreps.cli import main
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
