"""Issue 25: nothing lost to a second writer, a full disk or an absurd size.

Two `visreps train` runs started into one `out_dir` (item 7): the second stops at once with one sentence naming the
folder and the first run's pid; a run that was killed does not block the next. A full disk (item 9) while a data set,
a checkpoint or features are written is one sentence naming the folder and 'no space left' (exit 2), with nothing
half-written, instead of SIGBUS (features go through a memory map), torch's `inline_container.cc` traceback, or a
SIGSEGV in HDF5. Absurd sizes (item 12) are refused where the options are read."""
import collections
import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap

import pytest
import torch

from visreps.app.cli import parse_config
from visreps.data.world import make_world
from visreps.training.trainer import load_train_state

WO = ["n_levels=3", "n_subjects=2", "n_train_per_subject=40", "n_test=20", "image_size=32",
      "n_voxels_early=16", "n_voxels_mid=16", "n_voxels_ventral=16"]
EO = ["width=0.25", "n_classes=8", "image_size=64", "n_select=30", "projection=64", "n_boot=20",
      "n_ceiling_splits=2", "device=cpu", "analyses=[rsa]", "readouts=[conv1.post,fc2.post]"]
TRAIN = ["labels=column:category", "n_classes=8", "width=0.125", "epochs=1", "batch_size=16", "device=cpu",
         "image_size=64", "progress=false"]


from cli_run import run  # visreps ARGV in this process, output captured


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return make_world(0, **dict(a.split("=") for a in WO)).save(tmp_path_factory.mktemp("res") / "w")


# ---- item 7: one training run per folder

# the first run: holds the folder, says so, then waits (inside `train`, after the folder's lock is taken)
FIRST = textwrap.dedent('''
    import sys, time
    from pathlib import Path
    import visreps.training.trainer as T
    real, go = T.declare_output, Path(sys.argv[1])
    def hold(p):
        print("holding", flush=True)
        t0 = time.time()
        while not go.exists() and time.time() - t0 < 120: time.sleep(0.05)
        return real(p)
    T.declare_output = hold
    from visreps.app.cli import main
    sys.exit(main(sys.argv[2:]))
''')


def start_first(world, out, go, *extra):
    p = subprocess.Popen([sys.executable, "-c", FIRST, str(go), "train", f"dataset={world}", *TRAIN, *extra,
                          f"out_dir={out}"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env={**os.environ, "OMP_NUM_THREADS": "1"})
    line = p.stdout.readline().strip()
    assert line == "holding", p.communicate(timeout=60)[1]
    return p


def test_a_second_training_run_into_the_same_folder_is_refused_naming_the_holder(world, tmp_path):
    out, go = tmp_path / "run", tmp_path / "go"
    first = start_first(world, out, go, "seed=0")
    try:
        rc, _, err = run(["train", f"dataset={world}", *TRAIN, "seed=1", f"out_dir={out}"])  # another config
        assert rc == 2, err
        assert f"{str(out)!r} is being written by another training run (pid {first.pid} on" in err, err
        assert len(err.strip().splitlines()) == 1, err
    finally:
        go.touch()
    assert first.wait(timeout=300) == 0, first.stderr.read()
    ck = load_train_state(out / "checkpoints" / "last.pt")  # the first run's, whole, not overwritten
    assert ck["config"]["seed"] == 0 and ck["epoch"] == 1
    assert not (out.parent / f".{out.name}.holder.json").exists()


def test_a_killed_training_run_does_not_block_the_next(world, tmp_path):
    ("SIGKILL while it holds the folder: no cleanup runs and its holder file stays, but the kernel released "
     "its lock (flock): the next run trains.")
    out, go = tmp_path / "run", tmp_path / "go"
    first = start_first(world, out, go)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=60)
    assert (out.parent / f".{out.name}.holder.json").exists()
    rc, _, err = run(["train", f"dataset={world}", *TRAIN, f"out_dir={out}"])
    assert rc == 0, err
    assert load_train_state(out / "checkpoints" / "last.pt")["epoch"] == 1


# ---- item 9: a full disk

Usage = collections.namedtuple("Usage", "total used free")


def test_world_save_on_a_full_disk_is_one_sentence_and_leaves_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "disk_usage", lambda p: Usage(10**9, 10**9 - 4096, 4096))
    rc, out, err = run(["world", f"out={tmp_path / 'w'}", *WO])
    assert rc == 2, err
    assert err.startswith(f"visreps world: error: no space left on the device of {str(tmp_path)!r}"), err
    assert "(--debug" not in err and len(err.strip().splitlines()) == 1
    assert not [p for p in tmp_path.iterdir() if not p.name.endswith(".lock")]


def test_checkpoint_save_on_a_full_disk_is_one_sentence(world, tmp_path, monkeypatch):
    "Every checkpoint write goes to /dev/full (a device that is always full), as torch would write it."
    real = torch.save
    def save(obj, f, *a, **kw):
        if isinstance(f, (str, os.PathLike)): return real(obj, "/dev/full", *a, **kw)  # torch writes the path itself
        with open("/dev/full", "wb") as full: return real(obj, full, *a, **kw)
    monkeypatch.setattr(torch, "save", save)
    out = tmp_path / "run"
    rc, _, err = run(["train", f"dataset={world}", *TRAIN, f"out_dir={out}"])
    assert rc == 2, err
    assert f"no space left on the device of {str(out / 'checkpoints')!r} for 'epoch_0000.pt'" in err, err
    assert not list((out / "checkpoints").iterdir())  # no temporary or half-written checkpoint


def test_features_on_a_full_disk_are_one_sentence_not_sigbus(world, tmp_path, monkeypatch):
    ("The feature files are memory maps; a write through one to a full disk is a SIGBUS. Preallocating their "
     "blocks turns the full disk into an error first (here: fallocate says ENOSPC).")
    real = getattr(os, "posix_fallocate", None)
    def fallocate(fd, offset, length):
        if "features" in os.readlink(f"/proc/self/fd/{fd}"): raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, offset, length)
    monkeypatch.setattr(os, "posix_fallocate", fallocate, raising=False)
    root = tmp_path / "r"
    rc, _, err = run(["eval", f"dataset={world}", f"results_root={root}", *EO])
    assert rc == 2, err
    assert f"no space left on the device of {str(root / 'features')!r}"[:-1] in err and "readout" in err, err
    assert not [p for p in root.rglob("*.npy*")]  # no half-written feature file


def _unshare_ok():
    try: return subprocess.run(["unshare", "-rm", "true"], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.SubprocessError): return False


TINY_DISK = textwrap.dedent('''
    set -e
    mkdir -p "$1"; mount -t tmpfs -o size=$2 tmpfs "$1"; shift 2
    set +e; "$@"; echo "rc=$?"
''')


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _unshare_ok(),
                    reason="needs `unshare -rm` (user namespaces) to mount a tiny tmpfs")
@pytest.mark.parametrize("what,size", [("world", "100k"), ("train", "200k"), ("eval", "300k")])
def test_a_real_full_disk(world, tmp_path, what, size):
    "A real tiny file system (tmpfs in a user namespace): before, SIGSEGV (world), a torch traceback, SIGBUS (eval)."
    disk = tmp_path / "disk"
    argv = {"world": ["world", f"out={disk / 'w'}", *WO],
            "train": ["train", f"dataset={world}", *TRAIN, f"out_dir={disk / 't'}"],
            "eval": ["eval", f"dataset={world}", f"results_root={disk / 'r'}", *EO]}[what]
    cmd = [sys.executable, "-c", "import sys; from visreps.app.cli import main; sys.exit(main(sys.argv[1:]))", *argv]
    res = subprocess.run(["unshare", "-rm", "sh", "-c", TINY_DISK, "sh", str(disk), size, *cmd], capture_output=True,
                         text=True, timeout=300, env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert res.stdout.strip().endswith("rc=2"), (res.stdout, res.stderr)
    err = res.stderr.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"visreps {what}: error: no space left on the device of "
                                                         f"{str(disk)!r}"[:-1]), err


# ---- item 12: absurd sizes

ABSURD = {
    "eval width=2000": (["eval", *EO, "width=2000"], "EvalConfig.width=2000.0: expected at most 64"),
    "train width=2000": (["train", *TRAIN, "width=2000"], "TrainRunConfig.width=2000.0: expected at most 64"),
    "eval image_size=60000": (["eval", *EO, "image_size=60000"], "EvalConfig.image_size=60000: expected at most 4,096"),
    "train image_size=60000": (["train", *TRAIN, "image_size=60000"],
                               "TrainRunConfig.image_size=60000: expected at most 4,096"),
    "world n_train_per_subject=200000000": (
        ["world", *WO, "n_train_per_subject=200000000"],
        "WorldJob n_subjects=2, n_train_per_subject=200000000, n_test=20, image_size=32, n_reps=3: the world's "
        "images and responses would need about"),
    "eval n_boot=2000000000": (["eval", *EO, "n_boot=2000000000"],
                               "EvalConfig.n_boot=2000000000: expected at most 10,000,000"),
}

# every case in one process (one start-up) with 4 GB of address space; each result is written as it comes
DRIVER = textwrap.dedent('''
    import contextlib, io, json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))
    from visreps.app.cli import main
    for name, argv in json.loads(sys.argv[2]).items():
        err = io.StringIO()
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err): rc = main(argv)
        except BaseException as e: rc, err = 1, io.StringIO(f"{type(e).__name__}: {e}")
        with open(sys.argv[1], "a") as f: f.write(json.dumps(dict(name=name, rc=rc, err=err.getvalue())) + "\\n")
''')


@pytest.fixture(scope="module")
def absurd(world, tmp_path_factory):
    d = tmp_path_factory.mktemp("absurd")
    where = dict(eval=[f"dataset={world}", f"results_root={d / 'results'}"], train=[f"dataset={world}"], world=[])
    cases = {k: [*a, *where[a[0]]] for k, (a, _) in ABSURD.items()}
    log = d / "results.jsonl"
    try:
        subprocess.run([sys.executable, "-c", DRIVER, str(log), json.dumps(cases)], timeout=180, cwd=d,
                       env={**os.environ, "OMP_NUM_THREADS": "1"})
    except subprocess.TimeoutExpired: pass  # a case that ran on (two billion resamples): it has no result
    got = {r["name"]: r for r in map(json.loads, log.read_text().splitlines())} if log.exists() else {}
    return got, d


@pytest.mark.parametrize("case", list(ABSURD))
def test_absurd_sizes_are_one_sentence_before_anything_is_allocated(absurd, case):
    ("Before: the allocator aborted with a traceback, or two billion resamples ran on. Now: exit 2, one "
     "sentence naming the key, the value and the limit (or the estimate), nothing written.")
    got, d = absurd
    assert case in got, f"{case}: did not finish within the time limit"
    r = got[case]
    assert r["rc"] == 2 and ABSURD[case][1] in r["err"] and len(r["err"].strip().splitlines()) == 1, r
    assert sorted(p.name for p in d.iterdir()) == ["results.jsonl"]


def test_real_sizes_still_pass():
    from visreps.data.world import WorldConfig
    from visreps.study.evaluate import EvalConfig
    from visreps.training.steps import TrainRunConfig
    parse_config(EvalConfig, None, ["n_boot=100000", "image_size=600", "width=4"])
    parse_config(TrainRunConfig, None, ["image_size=600", "width=4"])
    # an NSD-size world: 73000 images of 224 px (11 GB)
    if os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") > 16e9:
        WorldConfig(n_subjects=8, n_train_per_subject=9000, n_test=1000, image_size=224)
