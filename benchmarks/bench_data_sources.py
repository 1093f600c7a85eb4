"""Loading the new native-format sources at (a fraction of) their release sizes, each against the minimum raw read:

- TVSD, one monkey: `load_tvsd_responses` (MATLAB v7.3 via h5py, areas, ids, checks) vs reading `train_MUA`,
  `test_MUA_reps` and the image paths with h5py alone (paths decoded per cell with `f[ref][()]`); 1,024 electrodes,
  22,248 x `--fraction` training images,
  100 test images x 30 repetitions.
- BrainIO, a MajajHong2015-shaped assembly (5,760 images x 25.8 reps x `--fraction` presentations, 256 neuroids,
  one 70-170 ms bin): `load_brainio_dataset(..., stimulus_set=False)` (MultiIndex rebuilt, per-animal split,
  validation) vs `xr.open_dataset(...).load()` alone.
- Images read on demand: `LazyImages` decoding 128 JPEGs (500 x 500, THINGS-like) to 224 px vs a PIL loop
  (`decode_image` per file).

    .venv/bin/python benchmarks/bench_data_sources.py              # a quarter of the release sizes
    .venv/bin/python benchmarks/bench_data_sources.py --fraction 1 # full sizes
"""
import argparse
import os
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
import xarray as xr
from PIL import Image

from visreps.data.loaders.brainio import load_brainio_dataset, write_brainio_fixture
from visreps.data.loaders.images import LazyImages, decode_image
from visreps.data.loaders.tvsd import load_tvsd_responses, tvsd_paths, write_tvsd_fixture


def timed(fn, repeat=3):
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter(); out = fn(); best = min(best, time.perf_counter() - t)
    return best, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--fraction", type=float, default=0.25)
    a = ap.parse_args()
    d = Path(tempfile.mkdtemp())
    rows = []
    n_train = int(22248 * a.fraction)
    t = time.perf_counter()
    write_tvsd_fixture(d/"tvsd", monkeys="F", n_train=n_train, n_test=100, n_reps=30)
    print(f"TVSD fixture ({n_train} train images) written in {time.perf_counter() - t:.1f} s")
    mua = tvsd_paths(d/"tvsd", "F")["mua"]

    log = tvsd_paths(d/"tvsd", "F")["images"]

    def raw_tvsd():  # the arrays, plus the image paths decoded cell by cell with f[ref][()] as public loaders do
        with h5py.File(mua, "r") as f:
            tr, te = f["train_MUA"][()], f["test_MUA_reps"][()]
        with h5py.File(log, "r") as f:
            names = [
                ["".join(map(chr, f[r][()].ravel())) for r in f[f"{s}_imgs/things_path"][()].ravel()]
                for s in ("train", "test")
            ]
        assert len(names[0]) == tr.shape[0]
        return np.concatenate([tr, te.reshape(-1, te.shape[-1])])
    tb, xb = timed(raw_tvsd)
    tv, xv = timed(lambda: load_tvsd_responses(d/"tvsd", "F"))
    assert np.allclose(xv.values, xb, atol=1e-6)
    rows.append(("TVSD monkey F", f"{xv.shape[0]:,} x {xv.shape[1]:,}", tb, tv))

    n_img, n_rep = max(4, int(5760 * a.fraction)), 26
    t = time.perf_counter()
    fx = write_brainio_fixture(
        d / "bio",
        "dicarlo.BenchMajajHong2015.public",
        "dicarlo.bench-hvm",
        n_images=n_img,
        n_reps=n_rep,
        animals=(("Chabo", 168, "IT"), ("Tito", 88, "V4")),
        image_size=(4, 4),
    )
    print(f"BrainIO fixture ({n_img * n_rep:,} presentations) written in {time.perf_counter() - t:.1f} s")
    tb2, _ = timed(lambda: xr.open_dataset(fx["assembly"], engine="h5netcdf").load())
    tv2, ds = timed(lambda: load_brainio_dataset(fx["assembly"], stimulus_set=False))
    assert np.allclose(ds.get("Tito").values, fx["values"][:, 168:, 0])
    rows.append(("BrainIO assembly", f"{n_img * n_rep:,} x 256 x 1", tb2, tv2))

    rng = np.random.default_rng(0)
    files = []
    for i in range(128):
        p = d / f"im{i}.jpg"
        Image.fromarray(rng.integers(0, 256, (500, 500, 3), dtype=np.uint8)).save(p, quality=90)
        files.append(p)
    tb3, xb3 = timed(lambda: np.stack([decode_image(p, 224) for p in files]), 1)
    tv3, xv3 = timed(lambda: LazyImages(files, 224)[:], 1)
    assert (xb3 == xv3).all()
    rows.append(("128 JPEGs 500 -> 224 px", "128 x 224 x 224 x 3", tb3, tv3))

    print(f"\nload average {os.getloadavg()[0]:.1f}\n")
    print("| what | size | baseline s | visreps s | ratio |")
    print("|---|---|---|---|---|")
    for name, size, b, v in rows: print(f"| {name} | {size} | {b:.2f} | {v:.2f} | {v / b:.2f} |")


if __name__ == "__main__":
    main()
