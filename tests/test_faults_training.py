"""Fault injection for training: damaged checkpoints (a truncated `last.pt`, a truncated or altered `epoch_N.pt` in a
finished run, a garbage checksum sidecar) and a SIGKILL between a checkpoint's rename and its checksum entry. Every
repaired run ends with exactly the weights and metrics of a run that was never interrupted."""
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from visreps.core.storage import DataError, verify_checksum
from visreps.training.trainer import check_checkpoints, list_checkpoints, load_train_state

from toy_data import training_case

SCRIPT = textwrap.dedent('''
    import os, sys
    import numpy as np
    from visreps.training.trainer import TrainConfig, train
    # SIGKILL right after the n-th checkpoint is renamed into place, before its checksum entry
    if os.environ.get("KILL_AT_CHECKSUM"):
        import visreps.training.trainer as T
        real, count = T.record_checksum, [0]
        def record(p):
            count[0] += 1
            if count[0] == int(os.environ["KILL_AT_CHECKSUM"]): os.kill(os.getpid(), 9)
            return real(p)
        T.record_checksum = record
    if os.environ.get("KILL_AFTER_CHECKSUM"):  # SIGKILL right after the n-th checkpoint is renamed and vouched for
        import visreps.training.trainer as T
        real, count = T.record_checksum, [0]
        def record(p):
            out = real(p); count[0] += 1
            if count[0] == int(os.environ["KILL_AFTER_CHECKSUM"]): os.kill(os.getpid(), 9)
            return out
        T.record_checksum = record
    data = np.load(sys.argv[1])
    train(TrainConfig.from_overrides(sys.argv[3:]), data["images"], data["labels"], sys.argv[2])
''')

OVERRIDES = [
    "arch=custom_cnn",
    "n_classes=4",
    "width=0.125",
    "epochs=3",
    "batch_size=16",
    "lr=2e-3",
    "warmup_epochs=1",
    "image_size=64",
    "crop_fraction=0.889",
    "checkpoint_every=1",
    "device=cpu",
    "progress=false",
    "seed=5",
]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("faults_train")
    env = training_case(d, 48, SCRIPT)
    ref = d / "ref"
    res = run(d, ref, env)
    assert res.returncode == 0, res.stderr
    return d, env, ref


def run(d, out, env, **extra):
    return subprocess.run(
        [sys.executable, str(d / "run.py"), str(d / "data.npz"), str(out), *OVERRIDES],
        env={**env, **extra},
        capture_output=True,
        text=True,
        timeout=300,
    )


def same_run(a: Path, b: Path):
    for e in (0, 1, 2, 3):
        ka, kb = (
            load_train_state(a / f"checkpoints/epoch_{e:04d}.pt"),
            load_train_state(b / f"checkpoints/epoch_{e:04d}.pt"),
        )
        for k in ka["model"]:
            assert torch.equal(ka["model"][k], kb["model"][k]), f"epoch {e}: {k} differs"
    ma, mb = pd.read_csv(a / "metrics.csv"), pd.read_csv(b / "metrics.csv")
    cols = [c for c in ma.columns if c != "seconds"]
    pd.testing.assert_frame_equal(ma[cols], mb[cols], check_exact=True)
    assert check_checkpoints(b) == {}
    assert all(verify_checksum(p) is not False for p in list_checkpoints(b).values())


def test_truncated_last_pt_falls_back_to_the_newest_whole_checkpoint(setup, tmp_path):
    d, env, ref = setup
    out = tmp_path / "run"
    shutil.copytree(ref, out)
    ck = out / "checkpoints"
    for e in (3, 2):  # as if killed after epoch 1, with last.pt cut short (a full disk, a copy interrupted)
        (ck / f"epoch_{e:04d}.pt").unlink()
    last = ck / "last.pt"
    last.write_bytes(last.read_bytes()[:1000])
    res = run(d, out, env)
    assert res.returncode == 0, res.stderr
    assert (
        "last.pt' does not match its checksum" in res.stderr and "resuming from epoch_0001.pt (epoch 1)" in res.stderr
    ), res.stderr
    same_run(ref, out)


def test_truncated_epoch_checkpoint_in_a_finished_run_is_named_and_recomputed(setup, tmp_path):
    d, env, ref = setup
    out = tmp_path / "run"
    shutil.copytree(ref, out)
    bad = out / "checkpoints" / "epoch_0002.pt"
    bad.write_bytes(bad.read_bytes()[:-64])
    assert check_checkpoints(out) == {str(bad): "does not match its checksum (truncated or altered)"}
    with pytest.raises(DataError, match="epoch_0002.pt' does not match its checksum"):
        load_train_state(bad)
    res = run(d, out, env)
    assert res.returncode == 0, res.stderr
    assert "epoch_0002.pt' does not match its checksum" in res.stderr and "resuming from epoch_0001.pt" in res.stderr, (
        res.stderr
    )
    same_run(ref, out)
    assert all(verify_checksum(p) for p in list_checkpoints(out).values())
    # same size, other bytes (bit rot) is caught too
    b = bytearray(bad.read_bytes()); b[len(b) // 2] ^= 0xFF; bad.write_bytes(bytes(b))
    assert list(check_checkpoints(out)) == [str(bad)]


def test_garbage_checksum_sidecar_does_not_stop_a_resume(setup, tmp_path):
    d, env, ref = setup
    out = tmp_path / "run"
    shutil.copytree(ref, out)
    (out / "checkpoints" / "epoch_0003.pt").unlink()
    (out / "checkpoints" / "last.pt").unlink()
    (out / "checkpoints" / "checksums.json").write_text('{"epoch_0001.pt": {"sha2')
    res = run(d, out, env)
    assert res.returncode == 0, res.stderr
    same_run(ref, out)
    import json
    # a whole sidecar again, vouching for what was rewritten
    sums = json.loads((out / "checkpoints" / "checksums.json").read_text())
    assert {"epoch_0003.pt", "last.pt"} <= set(sums)


def test_sigkill_between_a_checkpoint_and_its_checksum(setup, tmp_path):
    d, env, ref = setup
    out = tmp_path / "run"
    res = run(d, out, env, KILL_AT_CHECKSUM="3")  # epoch_0000.pt, last.pt, then epoch_0001.pt: killed before its entry
    assert res.returncode == -signal.SIGKILL, res.stderr
    ck = out / "checkpoints"
    # renamed, not yet vouched for
    assert (ck / "epoch_0001.pt").exists() and verify_checksum(ck / "epoch_0001.pt") is None
    res = run(d, out, env)
    assert res.returncode == 0, res.stderr
    same_run(ref, out)
    # no temporaries left
    assert not [p for p in ck.iterdir() if p.name.startswith(".") and not p.name.endswith(".lock")]


def test_sigkill_as_the_final_checkpoint_appears_is_finished_on_resume(setup, tmp_path):
    "Killed once epoch_0003.pt is whole, before last.pt and metrics.csv: a resume rewrites both from it (issue 25.5)."
    d, env, ref = setup
    out = tmp_path / "run"
    # vouched for: epoch_0000, last, epoch_0001, last, epoch_0002, last, epoch_0003, then killed
    res = run(d, out, env, KILL_AFTER_CHECKSUM="7")
    assert res.returncode == -signal.SIGKILL, res.stderr
    assert load_train_state(out / "checkpoints" / "last.pt")["epoch"] == 2
    assert len(pd.read_csv(out / "metrics.csv")) == 3  # epochs 0..2: one short
    res = run(d, out, env)
    assert res.returncode == 0, res.stderr
    same_run(ref, out)
    last = load_train_state(out / "checkpoints" / "last.pt")
    ref_last = load_train_state(ref / "checkpoints" / "last.pt")
    assert last["epoch"] == 3 and all(torch.equal(last["model"][k], ref_last["model"][k]) for k in ref_last["model"])
