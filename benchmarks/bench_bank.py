"""Benchmark of the model bank study (visreps.study.bank).

1. Eigenspectrum metrics of one layer at 10,000 images x 4,096 features (an fc layer at the paper's
   image count): visreps `layer_eigen_metrics` (covariance or Gram, whichever is smaller, eigvalsh, float64)
   vs the baseline scikit-learn PCA(svd_solver="full") explained variances.
2. Features of one model in three pooling modes: visreps `pooled_features` (one forward pass feeds every
   pooling) vs the baseline of one `extract_features(pooling=...)` call per mode.
3. The whole demo bank study (banks/demo.yaml at the page's demo settings: the demo world, 500 held-out images,
   PLS 10 components x 3 splits, ridge 10 alphas x 3 folds, RSA, three regions, three poolings), cold cache, then
   warm (every model-layer cached).

Run: .venv/bin/python benchmarks/bench_bank.py [--skip-study] [--threads N]
"""
import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def timed(f, *a, **k):
    t = time.perf_counter(); out = f(*a, **k); return out, time.perf_counter() - t


def bench_ed(n=10_000, d=4096):
    from sklearn.decomposition import PCA
    from visreps.study.bank import layer_eigen_metrics
    rng = np.random.default_rng(0)
    # a power-law spectrum like a network layer's: X = Z diag(i^-0.5)
    # (axis-aligned: a rotation changes neither method's cost)
    X = rng.standard_normal((n, d), dtype=np.float32) * (np.arange(1, d + 1, dtype=np.float32) ** -0.5)
    ours, t_ours = timed(layer_eigen_metrics, X)
    def baseline(X):
        lam = PCA(svd_solver="full").fit(X.astype(np.float64)).explained_variance_
        return lam.sum() ** 2 / (lam ** 2).sum()
    base, t_base = timed(baseline, X)
    return dict(t_ours=t_ours, t_base=t_base, ed_ours=ours["effective dimensionality"], ed_base=base)


def bench_poolings(n=500):
    from visreps.study.bank import pooled_features, held_out_world_images
    from visreps.models.features import ExtractionOptions, extract_features
    from visreps.models.zoo import build_model
    images = held_out_world_images(n, 0, 64)
    net = build_model("resnet18", 64, seed=0).eval()
    ro = [r for r in __import__("visreps.study.bank", fromlist=["default_readouts"]).default_readouts("resnet18")]
    ours, t_ours = timed(pooled_features, net, images, ro, ("max", "avg", "none"), image_size=64)
    ids = [f"i{i}" for i in range(n)]
    def baseline():
        return {
            p: extract_features(
                net,
                images,
                ro,
                ExtractionOptions(device="cpu", image_size=64, pooling=p),
                stimulus_ids=ids,
                progress=False,
            )
            for p in ("max", "avg", "none")
        }
    base, t_base = timed(baseline)
    err = max(float(np.abs(ours[r, p] - base[p][r].values).max() / (np.abs(base[p][r].values).max() + 1e-12))
              for r in ro for p in ("max", "avg"))
    return dict(t_ours=t_ours, t_base=t_base, rel_err=err)


DEMO_WORLD = dict(n_subjects=2, n_train_per_subject=256, n_test=200)  # the demonstration's world


def bench_study(results_root):
    from visreps.study.bank import BankConfig, expand_bank, find_bank_file, load_bank, run_bank
    from visreps.training.steps import train_world_models
    train = Path(results_root) / "bank" / "train-seed0-64px"  # the page's fallback runs (reused when present)
    _, t_train = timed(
        train_world_models,
        train,
        ("coarse2", "coarse8", "fine", "shuffled"),
        seed=0,
        image_size=64,
        epochs=4,
        checkpoint_every=4,
    )
    out = Path(tempfile.mkdtemp(prefix="bench_bank_"))
    cfg = BankConfig(
        bank=str(find_bank_file("demo")),
        n_images=500,
        pls_components=10,
        pls_folds=3,
        n_alphas=10,
        encoding_cv=3,
        world=dict(DEMO_WORLD),
        results_root=str(results_root),
        train_dir=str(train),
        out_dir=str(out),
        progress=False,
    )
    models = expand_bank(load_bank(cfg.bank), **cfg.paths())
    table, t_cold = timed(run_bank, cfg, log=None)
    _, t_warm = timed(run_bank, cfg, log=None)
    shutil.rmtree(out, ignore_errors=True)
    return dict(t_train=t_train, t_cold=t_cold, t_warm=t_warm, n_models=len(models),
                n_layers=table.groupby(["model", "readout"]).ngroups, n_rows=len(table))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--skip-study", action="store_true", help="skip the whole-bank timing")
    ap.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
    ap.add_argument("--results-root", default=str(ROOT / "results"))
    a = ap.parse_args()
    if a.threads: torch.set_num_threads(a.threads)
    print(
        f"machine: {os.cpu_count()} CPUs, torch threads "
        f"{torch.get_num_threads()}, load average {os.getloadavg()[0]:.1f}; "
        f"GPU: {'yes' if torch.cuda.is_available() else 'not measured: no GPU in this session'}"
    )
    e = bench_ed()
    print("\n| step | visreps s | baseline s | speed-up | agreement |\n|---|---|---|---|---|")
    print(f"| ED of one layer, 10,000 x 4,096 (baseline: sklearn PCA full) | {e['t_ours']:.2f} | {e['t_base']:.2f} | "
          f"{e['t_base'] / e['t_ours']:.1f}x | ED {e['ed_ours']:.2f} vs {e['ed_base']:.2f} |")
    p = bench_poolings()
    print(f"| ResNet-18 features, 500 images, 8 blocks, 3 poolings (baseline: one extract_features per pooling) | "
          f"{p['t_ours']:.2f} | {p['t_base']:.2f} | "
          f"{p['t_base'] / p['t_ours']:.1f}x | max rel. diff {p['rel_err']:.1e} |")
    if not a.skip_study:
        s = bench_study(a.results_root)
        print(f"\nwhole demo bank ({s['n_models']} models, {s['n_layers']} model-layers, {s['n_rows']} rows): "
              f"study {s['t_cold']:.0f} s cold, {s['t_warm']:.1f} s warm (all cached); "
              f"fallback training {s['t_train']:.0f} s (0 when the runs exist)")


if __name__ == "__main__":
    main()
