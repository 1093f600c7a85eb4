"""Benchmark visreps' cross-validated RDMs and CKA against rsatoolbox and plain numpy.

    .venv/bin/python benchmarks/bench_measures.py          # the issue's sizes
    .venv/bin/python benchmarks/bench_measures.py --quick  # smaller sizes (a smoke run)

1. crossnobis: 200 conditions x 4 runs x 5,000 voxels. visreps `compute_rdm_cv(metric="crossnobis")`
   (noise estimated per fold from the training runs, shrinkage to the diagonal, Woodbury whitening),
   and with one given noise covariance; baseline rsatoolbox: `prec_from_residuals(method="shrinkage_diag")`
   on the residuals + `calc_rdm(method="crossnobis")` with that precision. The RDM with the same given
   precision is compared between the two.
2. linear CKA: 10,000 stimuli x 4,096 features (both representations). Baseline: plain numpy
   (X'Y, X'X, Y'Y with `@`, Kornblith et al.'s feature-space formula).
"""
import argparse
import os
import platform
import time

import numpy as np


def timed(f):
    t = time.perf_counter(); out = f(); return time.perf_counter() - t, out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["crossnobis", "cka"], default=None, help="run one of the two benchmarks")
    a = ap.parse_args()
    from visreps.metrics.cka import linear_cka
    from visreps.metrics.crossval_rdm import compute_rdm_cv, noise_residuals
    import rsatoolbox
    from rsatoolbox.data.noise import prec_from_residuals
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start")
    rows = []
    r = np.random.default_rng(0)
    if a.only != "cka": crossnobis(a, rows, r, compute_rdm_cv, noise_residuals, rsatoolbox, prec_from_residuals)
    if a.only != "crossnobis": cka(a, rows, r, linear_cka)
    print(f"\n| task | size | seconds |\n|---|---|---|")
    for name, size, t in rows: print(f"| {name} | {size} | {t:.2f} |")
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


def crossnobis(a, rows, r, compute_rdm_cv, noise_residuals, rsatoolbox, prec_from_residuals):
    n_c, n_r, P = (200, 4, 5000) if not a.quick else (50, 4, 800)
    cond = np.tile(np.arange(n_c), n_r); run = np.repeat(np.arange(n_r), n_c)
    mix = r.standard_normal((50, P)) / np.sqrt(50)
    X = r.standard_normal((n_c, P))[cond] + r.standard_normal((n_c * n_r, 50)) @ mix + r.standard_normal((n_c * n_r, P))
    t_ours, D = timed(lambda: compute_rdm_cv(X, cond, run, "crossnobis"))
    rows.append(("crossnobis, visreps (noise per fold, Woodbury)", f"{n_c} cond x {n_r} runs x {P} vox", t_ours))
    R, dof = noise_residuals(X, cond, n_c)
    t_prec, prec = timed(lambda: prec_from_residuals(R.copy(), dof=dof, method="shrinkage_diag"))
    ds = rsatoolbox.data.Dataset(X, obs_descriptors={"cond": cond, "run": run})
    t_tb, rd = timed(
        lambda: rsatoolbox.rdm.calc_rdm(
            ds, method="crossnobis", descriptor="cond", cv_descriptor="run", noise=prec
        ).get_matrices()[0]
    )
    rows.append(("crossnobis, rsatoolbox: prec_from_residuals", "", t_prec))
    rows.append(("crossnobis, rsatoolbox: calc_rdm with that precision", "", t_tb))
    rows.append(("crossnobis, rsatoolbox total", "", t_prec + t_tb))
    cov = np.linalg.inv(prec)
    t_given, D2 = timed(lambda: compute_rdm_cv(X, cond, run, "crossnobis", noise=cov))
    rows.append(("crossnobis, visreps with rsatoolbox's noise (dense Cholesky)", "", t_given))
    print(
        "crossnobis with the same precision: max |visreps - rsatoolbox| "
        f"= {np.abs(D2 - rd).max():.2e} (RDM scale {np.abs(rd).max():.2e})"
    )
    print(f"speed-up (noise estimate + RDM): {(t_prec + t_tb) / t_ours:.1f}x")



def cka(a, rows, r, linear_cka):
    n, p = (10_000, 4096) if not a.quick else (2000, 1024)
    Xf = r.standard_normal((n, p))
    Yf = Xf @ (r.standard_normal((p, p)) / np.sqrt(p))[:, :p] + r.standard_normal((n, p))
    def plain():
        x = Xf - Xf.mean(0); y = Yf - Yf.mean(0)
        return np.linalg.norm(x.T @ y) ** 2 / (np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y))
    t_cka, c1 = timed(lambda: linear_cka(Xf, Yf, debiased=False))
    t_plain, c0 = timed(plain)
    t_deb, c2 = timed(lambda: linear_cka(Xf, Yf, debiased=True))
    rows.append(("linear CKA, visreps", f"{n} x {p} (both)", t_cka))
    rows.append(("linear CKA debiased, visreps", f"{n} x {p}", t_deb))
    rows.append(("linear CKA, plain numpy", f"{n} x {p}", t_plain))
    X32, Y32 = Xf.astype(np.float32), Yf.astype(np.float32)
    t32, c3 = timed(lambda: linear_cka(X32, Y32, debiased=False))
    rows.append(("linear CKA, visreps, float32 input", f"{n} x {p}", t32))
    print(f"CKA: visreps {c1:.10f}, numpy {c0:.10f} (|diff| {abs(c1 - c0):.1e}); debiased {c2:.6f}; float32 {c3:.6f}; "
          f"speed-up {t_plain / t_cka:.2f}x (float64), {t_plain / t32:.2f}x (float32 input)")


if __name__ == "__main__":
    main()
