"""Benchmark visreps.inference against rsatoolbox and naive loops.

    .venv/bin/python benchmarks/bench_inference.py          # the issue's sizes; rsatoolbox at reduced size, extrapolated
    .venv/bin/python benchmarks/bench_inference.py --quick  # smaller sizes (a smoke run)

1. Two-factor bootstrap (stimuli x subjects, ceiling, Schuett et al. 2023 correction): 1,000 draws,
   N = 1,000 stimuli x 8 subjects x 6 models, method "pearson" (rsatoolbox "corr"). Baseline:
   rsatoolbox `eval_dual_bootstrap` on the same data, timed on a few draws and extrapolated to 1,000
   (its cost is linear in the draws). Agreement: at N = 60 both run 1,000 draws of their own; the
   corrected standard errors must agree within Monte Carlo error (the SD of a variance estimate from
   B draws is about sqrt(2 / B), ~4.5% at B = 1,000, so ~2.2% on the SE; both sides have it).
   Also the exact Spearman route, timed on a few draws and extrapolated.
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

from visreps.inference import bootstrap_draws, permutation_test_rsa, two_factor_bootstrap
from visreps.rsa import rdm_to_vector


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


def rsatoolbox_dual(mods, subj, n_boot, seed=0):
    import rsatoolbox
    from rsatoolbox.inference import eval_dual_bootstrap
    n = subj.shape[1]
    data = rsatoolbox.rdm.RDMs(subj, pattern_descriptors={"index": np.arange(n)}, rdm_descriptors={"index": np.arange(len(subj))})
    models = [rsatoolbox.model.ModelFixed(k, rsatoolbox.rdm.RDMs(v[None])) for k, v in mods.items()]
    np.random.seed(seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return eval_dual_bootstrap(models, data, method="corr", N=n_boot)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    N, NS, NM, B = (300, 8, 6, 200) if a.quick else (1000, 8, 6, 1000)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f} at start")
    rows = []

    # 1. two-factor bootstrap
    mods, subj = rdms(N, NS, NM)
    t_ours, res = timed(lambda: two_factor_bootstrap(mods, subj, "pearson", n_boot=B, seed=0))
    rows.append(("two-factor bootstrap, pearson, visreps", f"N={N} x {NS} subj x {NM} models, {B} draws", t_ours))
    b_tb = 3 if not a.quick else 2
    t_tb, _ = timed(lambda: rsatoolbox_dual(mods, subj, b_tb))
    t_tb_full = t_tb / b_tb * B
    rows.append(("two-factor bootstrap, rsatoolbox eval_dual_bootstrap", f"timed {b_tb} draws, x{B // b_tb} extrapolated", t_tb_full))
    b1, b2 = (2, 6) if not a.quick else (2, 4)  # the per-draw cost is the slope (the jackknife is a fixed cost)
    t1, _ = timed(lambda: two_factor_bootstrap(mods, subj, "spearman", draws=bootstrap_draws(N, NS, b1, 0)))
    t2, _ = timed(lambda: two_factor_bootstrap(mods, subj, "spearman", draws=bootstrap_draws(N, NS, b2, 0)))
    per = max(t2 - t1, 0) / (b2 - b1)
    rows.append(("two-factor bootstrap, spearman (exact re-ranking), visreps", f"{b1} and {b2} draws timed, {t1 - b1 * per:.0f} s fixed + {per:.2f} s/draw, extrapolated to {B}", t1 - b1 * per + per * B))
    print(f"speed-up over rsatoolbox (pearson, same sizes): {t_tb_full / t_ours:.0f}x")

    # agreement of the corrected SEs with rsatoolbox at a size where it can run all draws
    n_small, b_small = (60, 1000) if not a.quick else (30, 200)
    m2, s2 = rdms(n_small, NS, NM, seed=1)
    t_small_tb, tb = timed(lambda: rsatoolbox_dual(m2, s2, b_small, seed=2))
    t_small, ours = timed(lambda: two_factor_bootstrap(m2, s2, "pearson", n_boot=b_small, seed=3))
    se_ours = np.sqrt([ours.variance(*ours.contrast_draws({m: 1})[:4])[0] for m in m2])
    se_tb = np.sqrt(tb.model_var)
    mean_tb = np.nanmean(tb.evaluations[:, :, 0, 0, 0], 0)
    rows.append(("  agreement run: rsatoolbox, all draws", f"N={n_small} x {NS} x {NM}, {b_small} draws", t_small_tb))
    rows.append(("  agreement run: visreps, all draws", f"N={n_small} x {NS} x {NM}, {b_small} draws", t_small))
    print(f"\nagreement at N={n_small}, {b_small} independent draws each (corrected SE per model):")
    print("model  estimate   boot-mean(rsatoolbox)  SE visreps  SE rsatoolbox  ratio")
    for i, m in enumerate(m2):
        print(f"{m:5s}  {ours.estimate[i]:.4f}     {mean_tb[i]:.4f}               {se_ours[i]:.4f}      {se_tb[i]:.4f}         {se_ours[i] / se_tb[i]:.3f}")
    print(f"SE ratio: mean {np.mean(se_ours / se_tb):.3f}, range {np.min(se_ours / se_tb):.3f}-{np.max(se_ours / se_tb):.3f} "
          f"(Monte Carlo SD of a ratio of two independent SEs from {b_small} draws: ~{np.sqrt(2 / b_small):.3f})")

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
    rows.append(("permutation test, naive (permute + scipy spearmanr)", f"timed {k}, extrapolated to {n_perm}", t_naive / k * n_perm))

    print(f"\n| task | size | seconds |\n|---|---|---|")
    for name, size, t in rows: print(f"| {name} | {size} | {t:.1f} |")
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
