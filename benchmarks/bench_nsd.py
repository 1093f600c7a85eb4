"""Reading one NSD session's ROI voxels: streamed ROI-only reads (visreps.data.loaders.nsd.read_session_betas) vs the
baseline of loading the whole-brain session then masking. Synthetic session at NSD's 1.8 mm volume size
(81 x 104 x 83), int16, HDF5 laid out as NSD ships it (trial, Z, Y, X) and .nii.gz (X, Y, Z, trial).

    .venv/bin/python benchmarks/bench_nsd.py          # 150 trials per session (a fifth of NSD's 750)
    .venv/bin/python benchmarks/bench_nsd.py --full   # 750 trials, as NSD
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import nibabel as nib
import numpy as np
import pandas as pd

from visreps.data.loaders.nsd import read_session_betas

SHAPE = (81, 104, 83)


def _rss_mib():
    return int(Path("/proc/self/statm").read_text().split()[1]) * resource.getpagesize() / 2**20


def _hwm_mib():
    "Peak resident memory of this process (VmHWM: per address space, so not inherited across exec)."
    line = next(ln for ln in Path("/proc/self/status").read_text().splitlines() if ln.startswith("VmHWM"))
    return int(line.split()[1]) / 1024


def child(fmt, method, d):
    "Run one read in a fresh process; print seconds and the extra peak resident memory (MiB)."
    d = Path(d)
    mask = np.load(d/"mask.npy"); xyz = np.argwhere(mask)
    vox = pd.DataFrame(dict(x=xyz[:, 0], y=xyz[:, 1], z=xyz[:, 2]))
    path = d/("s.hdf5" if fmt == "hdf5" else "s.nii.gz")
    if method == "visreps":
        fn = lambda: read_session_betas(path, vox, SHAPE)
    elif fmt == "hdf5":
        def fn():
            with h5py.File(path, "r") as f: a = f["betas"][:]
            return a[:, xyz[:, 2], xyz[:, 1], xyz[:, 0]] / 300.0
    else:
        fn = lambda: np.asarray(nib.load(path).dataobj)[mask].T / 300.0
    base = _rss_mib()
    t = time.perf_counter(); out = fn(); dt = time.perf_counter() - t
    peak = _hwm_mib()
    np.save(d/f"out_{fmt}_{method}.npy", out)
    print(json.dumps(dict(seconds=dt, extra_mib=peak - base)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child: return child(*args.child)
    n_trials = 750 if args.full else 150
    rng = np.random.default_rng(0)
    d = Path(tempfile.mkdtemp())
    betas = rng.integers(-3000, 3000, size=SHAPE + (n_trials,), dtype=np.int16)
    with h5py.File(d/"s.hdf5", "w") as f:
        f.create_dataset("betas", data=betas.T, chunks=(1,) + SHAPE[::-1])
    img = nib.Nifti1Image(betas, np.eye(4)); img.header.set_data_dtype(np.int16)
    nib.save(img, d/"s.nii.gz")
    # a ventral-stream-like ROI: ~8,000 voxels scattered in a box of a quarter of the volume
    box = np.zeros(SHAPE, bool); box[10:45, 10:55, 5:40] = True
    mask = box & (rng.random(SHAPE) < 0.15)
    xyz = np.argwhere(mask)
    np.save(d/"mask.npy", mask)
    del betas
    rows = []
    for fmt in ("hdf5", "nifti"):
        res = {}
        for method in ("baseline", "visreps"):
            r = subprocess.run(
                [sys.executable, __file__, "--child", fmt, method, str(d)], capture_output=True, text=True, check=True
            )
            res[method] = json.loads(r.stdout.strip().splitlines()[-1])
        assert np.allclose(np.load(d/f"out_{fmt}_visreps.npy"), np.load(d/f"out_{fmt}_baseline.npy"))
        rows.append(
            (
                fmt,
                res["baseline"]["seconds"],
                res["visreps"]["seconds"],
                res["baseline"]["extra_mib"],
                res["visreps"]["extra_mib"],
            )
        )
    print(f"one session, {SHAPE} volume, ROI of {len(xyz):,} voxels, {n_trials} trials")
    print(f"{'format':7} {'baseline s':>10} {'visreps s':>10} {'base peak MiB':>13} {'ours peak MiB':>12}")
    for fmt, t0, t1, m0, m1 in rows:
        print(f"{fmt:7} {t0:10.2f} {t1:10.2f} {m0:13.0f} {m1:12.0f}")


if __name__ == "__main__":
    main()
