"""Resuming a killed training run ends with exactly the weights of an uninterrupted run.

A real CustomCNN (width 0.125, 64 px, BatchNorm, dropout) trains in a subprocess; the test
SIGKILLs it once epoch 1's checkpoint exists, restarts it and makes it die in the middle of
writing a checkpoint, restarts it again, and compares the final weights and metrics bit for bit with a run
that was never interrupted.
"""
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from visreps.training.trainer import TrainConfig, list_checkpoints, load_train_state, train

from toy_data import training_case

SCRIPT = textwrap.dedent('''
    import os, sys
    import numpy as np, torch
    from visreps.training.trainer import TrainConfig, train
    data = np.load(sys.argv[1])
    if os.environ.get("CRASH_IN_SAVE"):  # die half-way through writing the n-th file torch.save writes
        real_save, count = torch.save, [0]
        def save(obj, f, *a, **k):
            count[0] += 1
            if count[0] == int(os.environ["CRASH_IN_SAVE"]):
                import io; buf = io.BytesIO(); real_save(obj, buf)
                half = buf.getvalue()[: len(buf.getvalue()) // 2]
                if hasattr(f, "write"): f.write(half); f.flush()  # the open temporary file it was given
                else:
                    with open(f, "wb") as fh: fh.write(half); fh.flush()
                os.kill(os.getpid(), 9)
            return real_save(obj, f, *a, **k)
        torch.save = save
    cfg = TrainConfig.from_overrides(sys.argv[3:])
    train(cfg, data["images"], data["labels"], sys.argv[2])
''')

OVERRIDES = ["arch=custom_cnn", "n_classes=4", "width=0.125", "epochs=3", "batch_size=16", "lr=2e-3",
             "warmup_epochs=1", "image_size=64", "crop_fraction=0.889", "checkpoint_every=1", "device=cpu",
             "progress=false", "seed=3"]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("resume")
    env = training_case(d, 64, SCRIPT)
    ref = d / "ref"
    res = subprocess.run(
        [sys.executable, d / "run.py", d / "data.npz", ref, *OVERRIDES],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    return d, env, ref


def _cmd(d, out):
    return [sys.executable, str(d / "run.py"), str(d / "data.npz"), str(out), *OVERRIDES]


def _same_run(a: Path, b: Path):
    ka, kb = load_train_state(a / "checkpoints/epoch_0003.pt"), load_train_state(b / "checkpoints/epoch_0003.pt")
    assert ka["model"].keys() == kb["model"].keys()
    for k in ka["model"]:
        assert torch.equal(ka["model"][k], kb["model"][k]), f"{k} differs after resuming"
    ma, mb = pd.read_csv(a / "metrics.csv"), pd.read_csv(b / "metrics.csv")
    cols = [c for c in ma.columns if c != "seconds"]
    pd.testing.assert_frame_equal(ma[cols], mb[cols], check_exact=True)
    assert list(ma.epoch) == [0, 1, 2, 3]


def test_killed_twice_then_resumed(setup):
    """1) SIGKILL from outside once epoch 1's checkpoint exists; 2) the restarted process dies half-way
    through writing its first checkpoint (epoch 2); 3) a third process finishes the run. The result
    equals the uninterrupted run bit for bit."""
    d, env, ref = setup
    out = d / "killed"
    proc = subprocess.Popen(_cmd(d, out), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 90
    while not (out / "checkpoints/epoch_0001.pt").exists():
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.time() < deadline, "epoch 1 never finished"
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    done = list(list_checkpoints(out))
    assert 3 not in done and 1 in done, done  # really interrupted mid-run
    assert len(pd.read_csv(out / "metrics.csv")) < 4

    res = subprocess.run(_cmd(d, out), env={**env, "CRASH_IN_SAVE": "1"}, capture_output=True, text=True, timeout=120)
    assert res.returncode == -signal.SIGKILL, res.stderr
    ck_dir = out / "checkpoints"
    assert list(ck_dir.glob(".*.tmp")), "the half-written temporary file should be there"
    for p in ck_dir.glob("*.pt"):  # every file under its final name is complete
        load_train_state(p)
    assert 2 not in list_checkpoints(out)

    res = subprocess.run(_cmd(d, out), env=env, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    _same_run(ref, out)
    assert not list(ck_dir.glob(".*.tmp"))  # stale temporaries are cleaned up
    # the untrained control is the same too (it was written by the first process)
    k0r, k0 = load_train_state(ref / "checkpoints/epoch_0000.pt"), load_train_state(out / "checkpoints/epoch_0000.pt")
    assert all(torch.equal(k0r["model"][k], k0["model"][k]) for k in k0r["model"])
    kl = load_train_state(ref / "checkpoints/epoch_0003.pt")["model"]
    conv = [k for k, v in kl.items() if v.ndim == 4]
    assert conv and not any(k0r["model"][k].equal(kl[k]) for k in conv)  # epoch 0 is really untrained


def test_other_config_in_out_dir_is_refused(setup):
    d, env, ref = setup
    before = {p: p.stat().st_mtime_ns for p in ref.rglob("*")}
    data = np.load(d / "data.npz")
    with pytest.raises(ValueError, match=r"n_classes: 4 \(saved\) vs 8 \(now\)"):
        train(TrainConfig.from_overrides(OVERRIDES + ["n_classes=8"]), data["images"], data["labels"], ref)
    assert {p: p.stat().st_mtime_ns for p in ref.rglob("*")} == before
