"""Benchmark visreps.metrics.inference against rsatoolbox and naive loops.

    .venv/bin/python benchmarks/bench_inference.py          # the issue's sizes; rsatoolbox at reduced size,
                                                            #   extrapolated
    .venv/bin/python benchmarks/bench_inference.py --quick  # smaller sizes (a smoke run)
    .venv/bin/python benchmarks/bench_inference.py --only spearman  # only the Spearman rows

1. Two-factor bootstrap (stimuli x subjects, ceiling, Schuett et al. 2023 correction): 1,000 draws,
   N = 1,000 stimuli x 8 subjects x 6 models, method "pearson" (rsatoolbox "corr"). Baseline:
   rsatoolbox `eval_dual_bootstrap` on the same data, timed on a few draws and extrapolated to 1,000
   (its cost is linear in the draws). Agreement: at N = 60 both run 1,000 draws of their own; the
   corrected standard errors must agree within Monte Carlo error (the SD of a variance estimate from
   B draws is about sqrt(2 / B), ~4.5% at B = 1,000, so ~2.2% on the SE; both sides have it).
   Also the exact Spearman route (method "spearman"), all 1,000 draws timed, and its agreement with
   rsatoolbox's dual bootstrap (method "spearman") at N = 60 in the same way.
2. Permutation test: 10,000 permutations at N = 1,000 (Spearman). Baseline: permute the RDM and call
   scipy.stats.spearmanr per permutation, timed on 100 permutations and extrapolated.
"""
import argparse
import os
import platform
import time
import warnings

import numpy as np
import scipy.stats

from visreps.metrics.inference import permutation_test_rsa, two_factor_bootstrap
from visreps.metrics.rsa import rdm_to_vector


def rdms(n, n_subjects, n_models, seed=0, d=20):
    "Subject and model RDMs (Euclidean) of noisy copies of one latent geometry."
    r = np.random.default_rng(seed)
    f = r.standard_normal((n, d))
    def rdm(x):
        sq = (x * x).sum(1)
        return np.sqrt(np.clip(sq[:, None] + sq[None] - 2 * x @ x.T, 0, None) * (1 - np.eye(n)))
    subj = np.stack([rdm(f + 1.0 * r.standard_normal((n, d))) for _ in range(n_subjects)])
    mods = {f"m{i}": rdm(f + (0.5 + 0.3 * i) * r.standard_normal((n, d))) for i in range(n_models)}
    return mods, subj


def timed(f):
    t = time.perf_counter(); out = f(); return time.perf_counter() - t, out


def rsatoolbox_dual(mods, subj, n_boot, seed=0, method="corr"):
    import rsatoolbox
    from rsatoolbox.inference import eval_dual_bootstrap
    n = subj.shape[1]
    data = rsatoolbox.rdm.RDMs(
        subj, pattern_descriptors={"index": np.arange(n)}, rdm_descriptors={"index": np.arange(len(subj))}
    )
    models = [rsatoolbox.model.ModelFixed(k, rsatoolbox.rdm.RDMs(v[None])) for k, v in mods.items()]
    np.random.seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eval_dual_bootstrap(models, data, method=method, N=n_boot)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", choices=["pearson", "spearman", "permutation"], default=None)
    a = ap.parse_args()
    do = lambda part: a.only in (None, part)
    N, NS, NM, B = (300, 8, 6, 200) if a.quick else (1000, 8, 6, 1000)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start")
    rows = []

    if a.only == "permutation": return permutation(rows, a, N)
    # 1. two-factor bootstrap
    mods, subj = rdms(N, NS, NM)
    n_small, b_small = (60, 1000) if not a.quick else (30, 200)
    if do("spearman"):
        t_sp, _ = timed(lambda: two_factor_bootstrap(mods, subj, "spearman", n_boot=B, seed=0))
        rows.append(
            (
                "two-factor bootstrap, spearman (exact), visreps",
                f"N={N} x {NS} subj x {NM} models, {B} draws (all timed)",
                t_sp,
            )
        )
        print(f"spearman, {B} draws: {t_sp:.1f} s; load average now {os.getloadavg()[0]:.1f}", flush=True)
        agreement(rows, "spearman", n_small, b_small, NS, NM)
    if not do("pearson"): return finish(rows)
    t_ours, res = timed(lambda: two_factor_bootstrap(mods, subj, "pearson", n_boot=B, seed=0))
    rows.append(("two-factor bootstrap, pearson, visreps", f"N={N} x {NS} subj x {NM} models, {B} draws", t_ours))
    b_tb = 3 if not a.quick else 2
    t_tb, _ = timed(lambda: rsatoolbox_dual(mods, subj, b_tb))
    t_tb_full = t_tb / b_tb * B
    rows.append(
        (
            "two-factor bootstrap, rsatoolbox eval_dual_bootstrap",
            f"timed {b_tb} draws, x{B // b_tb} extrapolated",
            t_tb_full,
        )
    )
    print(f"speed-up over rsatoolbox (pearson, same sizes): {t_tb_full / t_ours:.0f}x")

    agreement(rows, "pearson", n_small, b_small, NS, NM)
    return finish(rows) if a.only else permutation(rows, a, N)


def agreement(rows, method, n_small, b_small, NS, NM):
    "Corrected SEs and 95% percentile intervals from independent draws of visreps and rsatoolbox (method = comparison)."
    m2, s2 = rdms(n_small, NS, NM, seed=1)
    t_small_tb, tb = timed(
        lambda: rsatoolbox_dual(m2, s2, b_small, seed=2, method="corr" if method == "pearson" else method)
    )
    t_small, ours = timed(lambda: two_factor_bootstrap(m2, s2, method, n_boot=b_small, seed=3))
    se_ours = np.sqrt([ours.variance(*ours.contrast_draws({m: 1})[:4])[0] for m in m2])
    se_tb = np.sqrt(tb.model_var)
    ev = tb.evaluations[:, :, 0, 0, 0]
    mean_tb = np.nanmean(ev, 0)
    ci_ours = np.nanquantile(ours.both[:, :NM], [0.025, 0.975], axis=0)
    ci_tb = np.nanquantile(ev, [0.025, 0.975], axis=0)
    rows.append(
        (
            f"  agreement run ({method}): rsatoolbox, all draws",
            f"N={n_small} x {NS} x {NM}, {b_small} draws",
            t_small_tb,
        )
    )
    rows.append(
        (f"  agreement run ({method}): visreps, all draws", f"N={n_small} x {NS} x {NM}, {b_small} draws", t_small)
    )
    print(
        f"\nagreement ({method}) at N={n_small}, {b_small} independent draws each "
        "(corrected SE; uncorrected 95% percentile CI of the two-factor draws):"
    )
    print(
        "model  estimate  boot-mean(tb)  SE visreps  SE tb   ratio "
        "  CI visreps       CI rsatoolbox    endpoint diff / SE"
    )
    for i, m in enumerate(m2):
        dd = np.abs(ci_ours[:, i] - ci_tb[:, i]).max() / se_tb[i]
        print(
            f"{m:5s}  {ours.estimate[i]:.4f}    {mean_tb[i]:.4f}         "
            f"{se_ours[i]:.4f}      {se_tb[i]:.4f}  {se_ours[i] / se_tb[i]:.3f}   "
            f"[{ci_ours[0, i]:.4f}, {ci_ours[1, i]:.4f}]  [{ci_tb[0, i]:.4f}, {ci_tb[1, i]:.4f}]  {dd:.2f}"
        )
    print(
        f"SE ratio: mean {np.mean(se_ours / se_tb):.3f}, range "
        f"{np.min(se_ours / se_tb):.3f}-{np.max(se_ours / se_tb):.3f} "
        f"(Monte Carlo SD of a ratio of two independent SEs from {b_small} draws: ~{np.sqrt(2 / b_small):.3f})",
        flush=True,
    )


def permutation(rows, a, N):
    # 2. permutation test
    n_perm = 10_000 if not a.quick else 1000
    mp, sp = rdms(N, 1, 1, seed=4)
    A, Bm = next(iter(mp.values())), sp[0]
    t_perm, (v, p) = timed(lambda: permutation_test_rsa(A, Bm, n_perm=n_perm, method="spearman", seed=0))
    rows.append(("permutation test, spearman, visreps", f"N={N}, {n_perm} permutations", t_perm))
    rng = np.random.default_rng(0); k = 100 if not a.quick else 20
    x = rdm_to_vector(A)
    def naive():
        for _ in range(k):
            q = rng.permutation(N); scipy.stats.spearmanr(x, rdm_to_vector(Bm[np.ix_(q, q)]))
    t_naive, _ = timed(naive)
    rows.append(
        (
            "permutation test, naive (permute + scipy spearmanr)",
            f"timed {k}, extrapolated to {n_perm}",
            t_naive / k * n_perm,
        )
    )

    return finish(rows)


def finish(rows):
    print(f"\n| task | size | seconds |\n|---|---|---|")
    for name, size, t in rows: print(f"| {name} | {size} | {t:.1f} |")
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
