"""The trainer under torchrun (DistributedDataParallel, gloo, 2 CPU processes) matches one process.

Each global batch is split in two equal slices, one per process; DDP averages the two
gradients, which is the full batch's gradient, so both runs take the same steps up to
floating-point summation order. The network has no BatchNorm and no dropout (per-process
batch statistics and dropout masks are the two things that legitimately differ).
"""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import torch

from visreps.training.trainer import list_checkpoints, load_train_state

from toy_data import toy_class_images

SCRIPT = textwrap.dedent('''
    import sys
    import numpy as np, torch, torch.nn as nn
    from visreps.training.trainer import TrainConfig, train
    data = np.load(sys.argv[1])
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, 2), nn.ReLU(), nn.Conv2d(8, 16, 3, 2), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(2), nn.Flatten(), nn.Linear(64, 4))
    cfg = TrainConfig.from_overrides(sys.argv[3:])
    out = train(cfg, data["images"], data["labels"], sys.argv[2], model=net)
    if torch.distributed.is_initialized():
        assert torch.distributed.get_world_size() == 2
        torch.distributed.destroy_process_group()
''')

OVERRIDES = [
    "n_classes=4",
    "epochs=3",
    "batch_size=16",
    "lr=3e-3",
    "warmup_epochs=1",
    "image_size=20",
    "crop_fraction=0.8334",
    "dropout=0",
    "checkpoint_every=1",
    "device=cpu",
    "progress=false",
    "eval_batch_size=32",
]


def test_two_processes_match_one(tmp_path):
    imgs, y = toy_class_images(200, 24, mean=100, sd=30, red=80, top=60)
    np.savez(tmp_path / "data.npz", images=imgs, labels=y)
    (tmp_path / "run.py").write_text(SCRIPT)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"): env.pop(k, None)
    args = [str(tmp_path / "run.py"), str(tmp_path / "data.npz")]
    one = subprocess.run(
        [sys.executable, *args, str(tmp_path / "one"), *OVERRIDES], env=env, capture_output=True, text=True, timeout=60
    )
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", *args,
                          str(tmp_path / "two"), *OVERRIDES], env=env, capture_output=True, text=True, timeout=90)
    assert two.returncode == 0, two.stderr[-3000:]
    a, b = (load_train_state(tmp_path / r / "checkpoints/epoch_0003.pt") for r in ("one", "two"))
    w0 = load_train_state(tmp_path / "one/checkpoints/epoch_0000.pt")["model"]
    for k in a["model"]:
        change = (a["model"][k] - w0[k]).norm()
        assert change > 1e-2, k  # the weights really trained, so the comparison is not vacuous
        # Adam divides by sqrt(v): summation-order noise in near-zero gradients is amplified a little,
        # so the runs agree to a small fraction of how far training moved the weights, not to 1e-7
        assert (b["model"][k] - a["model"][k]).norm() < 0.01 * change, k
        torch.testing.assert_close(b["model"][k], a["model"][k], rtol=0, atol=2e-3)
    ma, mb = pd.read_csv(tmp_path / "one/metrics.csv"), pd.read_csv(tmp_path / "two/metrics.csv")
    cols = ["train_loss", "train_top1", "test_loss", "test_top1", "lr"]
    np.testing.assert_allclose(mb[cols].to_numpy(float), ma[cols].to_numpy(float), atol=2e-3, equal_nan=True)
    assert ma.test_top1.iloc[-1] > ma.test_top1[0]
    assert list(list_checkpoints(tmp_path / "two")) == [0, 1, 2, 3]  # written once, by rank 0
    assert not list((tmp_path / "two/checkpoints").glob(".*.tmp"))
