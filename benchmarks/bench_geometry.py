"""Benchmark: the whole representation-geometry suite (visreps.metrics.geometry) for one layer.

Default: 2,500 images x 4,096 features, 50 categories of 50 images (the issue's size for one
layer), few-shot with 1/5/20 shots, 25 test images per category, 10 repeats, both classifiers.
Each stage is timed against a named baseline computed in the same run on the same data:

* few-shot linear: scikit-learn LogisticRegression (lbfgs) on z-scored features, per fit
* projection distances and manifold geometry: direct numpy loops over ordered pairs
  (per-pair projections, covariances applied to the centroid difference, cross-products)
* TwoNN: scikit-learn NearestNeighbors (3 neighbours) + the same MLE formula
* the values of each baseline are compared with visreps' (max abs difference printed).

    .venv/bin/python benchmarks/bench_geometry.py            # default (~1-3 min on 2 cores)
    .venv/bin/python benchmarks/bench_geometry.py --full     # 100 images per category, 1/5/20/50 shots, 50 test
    .venv/bin/python benchmarks/bench_geometry.py --device cuda
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
import pandas as pd
import torch

from visreps.core.backend import get_device, to_numpy
from visreps.metrics import geometry as G


def make_layer(n_cat: int, per_cat: int, d: int, seed: int = 0):
    "A synthetic layer: categories as anisotropic Gaussian clouds with a shared low-rank structure."
    rng = np.random.default_rng(seed)
    basis = rng.normal(size=(64, d)) / np.sqrt(d)
    cent = rng.normal(size=(n_cat, 64)) @ basis * 0.6
    z = rng.normal(size=(n_cat * per_cat, 64)) * np.linspace(2, 0.2, 64)
    X = np.repeat(cent, per_cat, 0) + z @ basis + 0.05 * rng.normal(size=(n_cat * per_cat, d))
    return X.astype(np.float64), np.repeat(np.arange(n_cat), per_cat)


def timed(f, *a, **k):
    t = time.perf_counter(); out = f(*a, **k); return out, time.perf_counter() - t


def baseline_pairs(X, y):
    "Direct loops over ordered pairs: projection distances and the manifold-geometry overlaps."
    cats = np.unique(y); K = len(cats)
    cen = {k: X[y == k].mean(0) for k in cats}; Xc = {k: X[y == k] - cen[k] for k in cats}
    R2 = {k: (Xc[k] ** 2).sum() / (len(Xc[k]) - 1) for k in cats}
    raw = np.full((K, K), np.nan)
    ov_self = np.full((K, K), np.nan)
    ov_other = np.full((K, K), np.nan)
    nn = np.full((K, K), np.nan)
    for i, a in enumerate(cats):
        for j, b in enumerate(cats):
            if a == b: continue
            d = cen[a] - cen[b]
            u = (cen[b] - cen[a]) / np.linalg.norm(d)
            raw[i, j] = np.abs(Xc[a] @ u).mean()
            ov_self[i, j] = ((Xc[a] @ d) ** 2).sum() / (len(Xc[a]) - 1) / R2[a] ** 2
            ov_other[i, j] = ((Xc[b] @ d) ** 2).sum() / (len(Xc[b]) - 1) / R2[a] ** 2
            nn[i, j] = ((Xc[a] @ Xc[b].T) ** 2).sum() / ((len(Xc[a]) - 1) * (len(Xc[b]) - 1)) / R2[a] ** 2
    return raw, ov_self, ov_other, nn


def baseline_twonn(X):
    from sklearn.neighbors import NearestNeighbors
    X = np.unique(X, axis=0)
    dist, _ = NearestNeighbors(n_neighbors=3).fit(X).kneighbors(X)
    return len(X) / np.log(dist[:, 2] / dist[:, 1]).sum()


def baseline_logistic_fit(Xtr, ytr, Xte, C=1.0):
    from sklearn.linear_model import LogisticRegression
    mu, sd = Xtr.mean(0), Xtr.std(0, ddof=1); sd[sd == 0] = 1
    return LogisticRegression(C=C, max_iter=100).fit((Xtr - mu) / sd, ytr).decision_function((Xte - mu) / sd)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="100 images per category; 1/5/20/50 shots, 50 test images")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.threads: torch.set_num_threads(args.threads)
    dev = get_device(args.device)
    per_cat, shots, n_test = (100, [1, 5, 20, 50], 50) if args.full else (50, [1, 5, 20], 25)
    X, y = make_layer(50, per_cat, 4096)
    cfg = G.GeometryConfig(n_train=shots, n_categories=50, n_test=n_test, n_repeats=10, device=str(dev))
    print(
        f"layer {X.shape[0]} images x {X.shape[1]} features, 50 categories; "
        f"device {dev}; torch threads {torch.get_num_threads()}; "
        f"load average at start {os.getloadavg()[0]:.1f}"
    )

    rows = []
    # warm-up (first torch calls allocate)
    G.manifold_geometry(X[:200], y[:200], device=dev)
    res, t_suite = timed(G.compute_layer_geometry, X, y, cfg)
    Xt, codes, names = G.check_features_labels(X, y, dev)

    # stage by stage, each against its baseline
    fs_p, t = timed(
        G.few_shot_transfer, Xt, y, n_train=shots, n_test=n_test, n_repeats=10, classifiers=("prototype",), device=dev
    )
    rows.append(("few-shot prototype (10 repeats x %d shots)" % len(shots), t, None, "-"))
    fs_l, t = timed(
        G.few_shot_transfer, Xt, y, n_train=shots, n_test=n_test, n_repeats=1, classifiers=("linear",), device=dev
    )
    # baseline: sklearn on the same first-repeat episodes
    rng = G.make_rng(0, "few_shot", 0)
    cats = np.sort(rng.choice(50, 50, replace=False))
    perm = [rng.permutation(np.flatnonzero(codes == k)) for k in cats]
    te = np.concatenate([p[:n_test] for p in perm]); yte = np.repeat(np.arange(50), n_test)
    t_sk, mrr_sk = 0.0, []
    for n in shots:
        tr = np.concatenate([p[n_test:n_test + n] for p in perm])
        sc, dt = timed(baseline_logistic_fit, X[tr], np.repeat(np.arange(50), n), X[te])
        t_sk += dt; mrr_sk.append(G.rank_scores(sc, yte)["mrr"])
    rows.append((f"few-shot linear, 1 repeat x {len(shots)} shots", t, t_sk,
                 f"MRR diff {np.max(np.abs(np.array(mrr_sk) - fs_l.mrr.values)):.3f}"))

    st, t_st = timed(G._category_stats, Xt, codes, 50, 1)
    pdist, t1 = timed(G.projection_distances, Xt, y, device=dev, _stats=st)
    mg, t2 = timed(G.manifold_geometry, Xt, y, shots=shots, device=dev, _stats=st)
    (raw_b, ovs_b, ovo_b, nn_b), t_b = timed(baseline_pairs, X, y)
    diff = max(
        np.nanmax(np.abs(pdist.sel(metric="raw").values - raw_b)),
        np.nanmax(np.abs(mg.overlap_self.values - ovs_b)),
        np.nanmax(np.abs(mg.overlap_other.values - ovo_b)),
        np.nanmax(np.abs(mg.noise_noise.values - nn_b)),
    )
    rows.append(
        ("category stats + projection distances + manifold geometry", t_st + t1 + t2, t_b, f"max abs diff {diff:.1e}")
    )

    idim, t = timed(G.intrinsic_dimensions, Xt, y, device=dev)
    base_vals, tb = [], 0.0
    for P in [X] + [X[y == k] for k in range(50)] + [np.stack([X[y == k].mean(0) for k in range(50)])]:
        v, dt = timed(baseline_twonn, P); base_vals.append(v); tb += dt
    bdiff = max(
        abs(idim["global"] - base_vals[0]),
        abs(idim["within"] - np.mean(base_vals[1:-1])),
        abs(idim["means"] - base_vals[-1]),
    )
    rows.append(("TwoNN (global + 50 within + means)", t, tb, f"max abs diff {bdiff:.1e}"))
    ed, t = timed(G._effective_dimensionality, Xt)
    ed_np, tb = timed(lambda: (lambda e: e.sum() ** 2 / (e ** 2).sum())(np.linalg.eigvalsh(np.cov(X.T))))
    rows.append(("effective dimensionality", t, tb, f"abs diff {abs(ed - ed_np):.1e}"))
    rows.append(("WHOLE SUITE (compute_layer_geometry, 10 repeats)", t_suite, None, "-"))

    df = pd.DataFrame(rows, columns=["stage", "visreps_s", "baseline_s", "agreement"])
    df["speedup"] = df.baseline_s / df.visreps_s
    with pd.option_context("display.width", 200, "display.max_colwidth", 60):
        print(df.to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    s = res.summary()
    print(
        "\nsummary (selection):",
        {
            k: round(v, 3)
            for k, v in s.items()
            if k
            in (
                "effective_dimensionality",
                "fewshot_prototype_5shot_mrr",
                "fewshot_linear_5shot_mrr",
                "snr_5shot",
                "error_5shot",
                "manifold_dimension",
                "twonn_global",
                "projection_scaled",
            )
        },
    )
    print(f"load average at end {os.getloadavg()[0]:.1f} (other jobs share this machine)")


if __name__ == "__main__":
    main()
