"""Benchmark: voxelwise ridge encoding (visreps.metrics.encoding.RidgeEncoder, himalaya torch backend) against
scikit-learn, and cross-validated PLS-SVD (visreps.metrics.pls) against scikit-learn's PLSSVD.

    .venv/bin/python benchmarks/bench_encoding.py            # default size (a few minutes on 2 cores)
    .venv/bin/python benchmarks/bench_encoding.py --full     # the issue's size: 5,000 x 4,096 x 10,000

Data are synthetic: activations with a decaying (power-law) spectrum, responses = a linear map of the
activations plus noise (per-voxel signal-to-noise drawn at random), n_test = n_train / 5 held-out stimuli.

Baselines, on the same z-scored data:
- sklearn RidgeCV(alphas, alpha_per_target=True, fit_intercept=False): scikit-learn's per-voxel-alpha ridge.
  It only supports leave-one-out (GCV) for per-target alphas, so its alpha choice differs from 5-fold;
  the test r must nevertheless agree closely. Only meaningful with more stimuli than features: with
  n_features >= n_stimuli, z-scoring on the whole fit set lets leave-one-out predict each held-out row
  from the others (the column sums are zero), and RidgeCV then picks alpha=1e-10 for every voxel. Run on a subset of
  voxels (--sk-voxels) when the full set
  is too slow or too big in memory; the table says how many.
- brute-force 5-fold on exactly our folds (--bf-voxels voxels), written out in numpy (one SVD per fold,
  closed-form ridge for every alpha, float64): the same protocol, so the chosen alphas must match (up to
  float32 near-ties) and r must agree to ~1e-4. (The notebook checks the same against sklearn Ridge.)
- sklearn PLSSVD on one fold's training data: singular vectors must match up to sign.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from visreps.metrics.encoding import DEFAULT_ALPHAS, RidgeEncoder, pearson_columns
from visreps.metrics.pls import PLSSVD, cross_decompose


def make_data(n_train, n_test, n_features, n_voxels, seed=0, dtype=np.float32):
    rng = np.random.default_rng(seed)
    n = n_train + n_test
    rank = min(n_features, 512)
    spectrum = (np.arange(1, rank + 1) ** -0.5).astype(dtype)
    X = (rng.standard_normal((n, rank), dtype=dtype) * spectrum) @ rng.standard_normal((rank, n_features), dtype=dtype)
    X += 0.1 * rng.standard_normal((n, n_features), dtype=dtype)
    W = rng.standard_normal((n_features, 64), dtype=dtype) @ rng.standard_normal((64, n_voxels), dtype=dtype)
    S = X @ W
    S /= S.std(0)
    snr = rng.uniform(0.05, 1.5, n_voxels).astype(dtype)
    Y = S * np.sqrt(snr) + rng.standard_normal((n, n_voxels), dtype=dtype)
    return X[:n_train], Y[:n_train], X[n_train:], Y[n_train:]


def zscore(tr, te):
    m, s = tr.mean(0), tr.std(0)
    s[s == 0] = 1
    return (tr - m) / s, (te - m) / s


def timed(f):
    t = time.perf_counter()
    out = f()
    return out, time.perf_counter() - t


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--full", action="store_true", help="5,000 stimuli x 4,096 features x 10,000 voxels")
    ap.add_argument("--n-stimuli", type=int, default=2000, help="training stimuli (default run)")
    ap.add_argument("--n-features", type=int, default=1024)
    ap.add_argument("--n-voxels", type=int, default=2000)
    ap.add_argument(
        "--sk-voxels", type=int, default=None, help="voxels for sklearn RidgeCV (default: all, or 2,000 with --full)"
    )
    ap.add_argument("--bf-voxels", type=int, default=500, help="voxels for the brute-force sklearn 5-fold check")
    ap.add_argument("--pls-components", type=int, default=10)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's choice)")
    args = ap.parse_args(argv)
    if args.full: args.n_stimuli, args.n_features, args.n_voxels = 5000, 4096, 10000
    n, p, v = args.n_stimuli, args.n_features, args.n_voxels
    sk_v = min(v, args.sk_voxels or (2000 if args.full else v))
    bf_v = min(v, args.bf_voxels)
    import torch
    if args.threads:   # both torch and the BLAS under numpy/scipy/sklearn
        torch.set_num_threads(args.threads)
        from threadpoolctl import threadpool_limits
        threadpool_limits(args.threads)
    print(f"# bench_encoding: n_train={n}, n_test={n // 5}, n_features={p}, n_voxels={v}, device={args.device}, "
          f"torch threads={torch.get_num_threads()}, cpus={os.cpu_count()}", flush=True)

    Xtr, Ytr, Xte, Yte = make_data(n, n // 5, p, v)
    rows = []

    # --- visreps ridge (himalaya, torch backend, float32)
    enc, t_fit = timed(lambda: RidgeEncoder(device=args.device).fit(Xtr, Ytr))
    r_ours, t_score = timed(lambda: enc.score(Xte, Yte))
    rows.append(("ridge visreps RidgeEncoder (himalaya torch, float32, 5-fold)", f"{n}x{p}x{v}", t_fit + t_score,
                 f"form={enc.form_}, mean r={np.nanmean(r_ours):.4f}, median r={np.nanmedian(r_ours):.4f}, "
                 f"batches: voxels={enc.n_targets_batch_}, alphas={enc.n_alphas_batch_}, "
                 f"est. memory={enc.memory_estimate_ / 2**30:.2f} GB"))
    print(rows[-1], flush=True)

    # --- sklearn RidgeCV, per-voxel alpha (LOO / GCV), same z-scored data, float32
    from sklearn.linear_model import RidgeCV
    Xz, Xtz = zscore(Xtr, Xte)
    Yz, Ytz = zscore(Ytr[:, :sk_v], Yte[:, :sk_v])
    if p >= n:
        print(
            "# note: n_features >= n_stimuli, sklearn's leave-one-out choice degenerates (see the docstring)",
            flush=True,
        )
    sk, t_sk = timed(lambda: RidgeCV(alphas=DEFAULT_ALPHAS, alpha_per_target=True, fit_intercept=False).fit(Xz, Yz))
    r_sk = pearson_columns(sk.predict(Xtz), Ytz)
    d = np.abs(r_sk - r_ours[:sk_v])
    rows.append(("sklearn RidgeCV(alpha_per_target=True) [LOO-GCV]", f"{n}x{p}x{sk_v}", t_sk,
                 f"vs ours on these voxels: max|dr|={np.nanmax(d):.4f}, mean|dr|={np.nanmean(d):.5f}, "
                 f"corr(r)={np.corrcoef(r_sk, r_ours[:sk_v])[0, 1]:.5f}, same "
                 f"alpha={np.mean(sk.alpha_ == enc.best_alphas_[:sk_v]):.2f}"))
    print(rows[-1], flush=True)

    # --- brute force: the same 5 folds, closed-form ridge per alpha from a numpy SVD per fold (float64)
    def brute():
        Xz64, Yb, Xt64 = Xz.astype(np.float64), Yz[:, :bf_v].astype(np.float64), Xtz.astype(np.float64)
        loss = np.zeros((len(DEFAULT_ALPHAS), bf_v))
        for tr, te in enc.folds_:
            U, s, Vt = np.linalg.svd(Xz64[tr], full_matrices=False)
            UtY, XV = U.T @ Yb[tr], Xz64[te] @ Vt.T
            for i, a in enumerate(DEFAULT_ALPHAS):
                loss[i] += ((XV @ ((s / (s**2 + a))[:, None] * UtY) - Yb[te]) ** 2).mean(0)
        best = DEFAULT_ALPHAS[loss.argmin(0)]
        U, s, Vt = np.linalg.svd(Xz64, full_matrices=False)
        UtY, XV = U.T @ Yb, Xt64 @ Vt.T
        pred = np.column_stack([XV @ ((s / (s**2 + a)) * UtY[:, j]) for j, a in enumerate(best)])
        return best, pearson_columns(pred, Ytz[:, :bf_v])
    (best_bf, r_bf), t_bf = timed(brute)
    rows.append(("numpy SVD brute-force 5-fold, same folds (float64)", f"{n}x{p}x{bf_v}", t_bf,
                 f"same alpha={np.mean(best_bf == enc.best_alphas_[:bf_v]):.3f}, "
                 f"max|dr|={np.nanmax(np.abs(r_bf - r_ours[:bf_v])):.2e}"))
    print(rows[-1], flush=True)

    # --- PLS-SVD: 8-fold cross-decomposition (float64 CPU) and one fold against sklearn
    k = args.pls_components
    cd, t_cd = timed(lambda: cross_decompose(Xtr, Ytr, n_components=k, n_folds=8, device=args.device))
    rows.append((f"pls visreps cross_decompose (8 folds, {k} comps, float64, {cd.method})", f"{n}x{p}x{v}", t_cd,
                 f"test r comp1..3={np.round(cd.mean_test_r[:3], 3).tolist()}, "
                 f"cov. explained comp1={cd.covariance_explained[:, 0].mean():.3f}"))
    print(rows[-1], flush=True)
    from sklearn.cross_decomposition import PLSSVD as SkPLSSVD
    tr = enc.folds_[0][0]
    ours, t_o = timed(lambda: PLSSVD(k, device=args.device).fit(Xtr[tr], Ytr[tr]))
    skp, t_s = timed(lambda: SkPLSSVD(n_components=k).fit(Xtr[tr].astype(np.float64), Ytr[tr].astype(np.float64)))
    u = ours.x_weights_.cpu().numpy()
    sign = np.sign((u * skp.x_weights_).sum(0))
    rows.append(("pls visreps PLSSVD.fit (one fold)", f"{len(tr)}x{p}x{v}", t_o, f"method={ours.method_}"))
    rows.append(("sklearn PLSSVD.fit (one fold)", f"{len(tr)}x{p}x{v}", t_s,
                 f"max|dU| vs ours={np.abs(u * sign - skp.x_weights_).max():.2e}"))
    print(rows[-2], rows[-1], sep="\n", flush=True)

    print("\n| what | size (n x p x voxels) | seconds | notes |\n|---|---|---|---|")
    for what, size, t, note in rows:
        print(f"| {what} | {size} | {t:.1f} | {note} |")


if __name__ == "__main__":
    sys.exit(main())
