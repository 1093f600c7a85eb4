"""Benchmark: effective dimensionality of a 10,000 x 4,096 representation.

visreps (torch) against numpy and scikit-learn PCA baselines, in the same run, on the same data;
CPU seconds are reported beside wall seconds because the dev VM is shared; every method's ED must agree with the numpy
baseline to 1e-6 (relative).

    .venv/bin/python benchmarks/bench_dimensionality.py            # default: 10,000 x 4,096
    .venv/bin/python benchmarks/bench_dimensionality.py --full     # adds sklearn PCA(svd_solver="full"), slow on
                                                                   #   2 cores
    .venv/bin/python benchmarks/bench_dimensionality.py --n 2000 --d 512 --repeats 1   # quick check
"""
import argparse
import platform
import time

import numpy as np
import torch
from sklearn.decomposition import PCA

from visreps.metrics.dimensionality import (
    effective_dimensionality,
    effective_dimensionality_from_eigenvalues,
    eigenspectrum,
)


def ed_numpy(X):
    "Baseline: numpy covariance (ddof 1) + eigvalsh, then the participation ratio."
    return effective_dimensionality_from_eigenvalues(np.linalg.eigvalsh(np.cov(X, rowvar=False)))


def ed_sklearn(X, solver):
    "Baseline: scikit-learn PCA explained variances, then the participation ratio."
    return effective_dimensionality_from_eigenvalues(PCA(svd_solver=solver).fit(X).explained_variance_)


def timed(f, repeats):
    "Median wall time and median process CPU time over `repeats` calls, and the last value."
    walls, cpus, val = [], [], None
    for _ in range(repeats):
        if torch.cuda.is_available(): torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time(); val = f()
        if torch.cuda.is_available(): torch.cuda.synchronize()
        walls.append(time.perf_counter() - t0); cpus.append(time.process_time() - c0)
    return float(np.median(walls)), float(np.median(cpus)), val


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000, help="stimuli")
    ap.add_argument("--d", type=int, default=4_096, help="features")
    ap.add_argument("--repeats", type=int, default=1, help="timed calls per method (median reported)")
    ap.add_argument("--full", action="store_true", help="also time sklearn PCA(svd_solver='full') (exact SVD)")
    args = ap.parse_args()

    rng = np.random.default_rng(0)
    X = rng.standard_normal((args.n, args.d)) * np.arange(1, args.d + 1) ** -0.5  # power-law spectrum, alpha ~ 1
    print(f"# ED of X ({args.n} x {args.d}, float64); {platform.processor() or platform.machine()}, "
          f"torch {torch.__version__} ({torch.get_num_threads()} threads), cuda: {torch.cuda.is_available()}")

    methods = [
        ("numpy cov + eigvalsh (baseline)", "cpu", lambda: ed_numpy(X)),
        ("sklearn PCA covariance_eigh", "cpu", lambda: ed_sklearn(X, "covariance_eigh")),
        (
            "visreps eigenspectrum (torch eigvalsh)",
            "cpu",
            lambda: effective_dimensionality_from_eigenvalues(eigenspectrum(X)),
        ),
        ("visreps effective_dimensionality (trace)", "cpu", lambda: effective_dimensionality(X)),
    ]
    if args.full: methods.insert(2, ("sklearn PCA full SVD", "cpu", lambda: ed_sklearn(X, "full")))
    if torch.cuda.is_available():
        Xg = torch.as_tensor(X, dtype=torch.float32, device="cuda")
        methods += [
            (
                "visreps eigenspectrum (torch eigvalsh)",
                "cuda",
                lambda: effective_dimensionality_from_eigenvalues(eigenspectrum(Xg)),
            ),
            ("visreps effective_dimensionality (trace)", "cuda", lambda: effective_dimensionality(Xg)),
        ]

    rows, ref = [], None
    for name, device, f in methods:
        reps = 1 if "full SVD" in name else args.repeats
        sec, cpu, ed = timed(f, reps)
        ref = ed if ref is None else ref
        rows.append((name, device, sec, cpu, ed, abs(ed - ref) / ref))
    base = rows[0][3]
    print(
        f"| method | device | wall s (median of {args.repeats}) | CPU "
        "s | speed-up vs numpy (CPU s) | ED | rel. diff vs numpy |"
    )
    print("|---|---|---:|---:|---:|---:|---:|")
    for name, device, sec, cpu, ed, rel in rows:
        print(f"| {name} | {device} | {sec:.2f} | {cpu:.2f} | {base / cpu:.1f}x | {ed:.6f} | {rel:.1e} |")
    bad = [r for r in rows if r[1] == "cpu" and r[5] > 1e-6] + [r for r in rows if r[1] == "cuda" and r[5] > 1e-3]
    if bad: raise SystemExit(f"ED values disagree with the numpy baseline: {bad}")


if __name__ == "__main__":
    main()
