"""Benchmark visreps.metrics.rsa against scipy and rsatoolbox.

    .venv/bin/python benchmarks/bench_rsa.py          # default sizes (about 1-2 minutes on 2 cores)
    .venv/bin/python benchmarks/bench_rsa.py --full   # also the baselines at N=10,000 and the full naive bootstrap

With a CUDA GPU it also times the GPU route (RDMs, upper triangles, ranks and sums on the device)
at N = 1,000 / 3,000 / 10,000 (target: under 1 s at N = 10,000).

RSA = two correlation RDMs (model, brain) + Spearman of their upper triangles.
Baselines: scipy (pdist 'correlation' x2 + spearmanr) and rsatoolbox (calc_rdm 'correlation' x2 +
compare 'spearman'). Bootstrap: 1,000 resamples of 90% of N=1,000 stimuli, against the naive loop
(sub-index both RDMs, scipy spearmanr per resample) on the same resamples.
"""
import argparse
import os
import platform
import resource
import time

import numpy as np
import scipy.stats
import torch
from scipy.spatial.distance import pdist

from visreps.metrics.resampling import draw
from visreps.metrics.rsa import bootstrap_rsa, compare_rdms, compute_rdm, rdm_to_vector


def make_data(n, n_features=2000, seed=0):
    "Model and brain patterns sharing a 50-dimensional latent structure."
    rng = np.random.default_rng(seed)
    latent = rng.normal(size=(n, 50))
    X = latent @ rng.normal(size=(50, n_features)) + 3 * rng.normal(size=(n, n_features))
    Y = latent @ rng.normal(size=(50, n_features)) + 6 * rng.normal(size=(n, n_features))
    return X, Y


CPU = {}  # CPU seconds (all threads) of the last timed call, by label


def timed(f, repeat=1, label=None):
    "Best wall time over `repeat` runs (and the CPU seconds of that run under `label`)."
    best, out = np.inf, None
    for _ in range(repeat):
        c = time.process_time(); t = time.perf_counter(); out = f()
        wall = time.perf_counter() - t
        if wall < best: best = wall; CPU[label] = time.process_time() - c
    return best, out


def ours(X, Y): return compare_rdms(compute_rdm(X, device="cpu"), compute_rdm(Y, device="cpu"))
def scipy_rsa(X, Y): return scipy.stats.spearmanr(pdist(X, "correlation"), pdist(Y, "correlation")).statistic
def rsatoolbox_rsa(X, Y):
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm, compare
    a, b = calc_rdm(Dataset(X), method="correlation"), calc_rdm(Dataset(Y), method="correlation")
    return float(compare(a, b, method="spearman")[0, 0])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true", help="baselines at N=10,000 and all 1,000 naive bootstrap resamples")
    args = ap.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, torch threads {torch.get_num_threads()}, "
          f"GPU: {torch.cuda.get_device_name() if torch.cuda.is_available() else 'none (CPU only)'}, "
          f"load average at start {os.getloadavg()[0]:.1f}")
    ours(*make_data(200, 50))  # warm-up (BLAS threads, imports)

    print("\nwall seconds (CPU seconds of all threads in brackets)")
    print(
        "\n| N | features | visreps (s) | scipy (s) | rsatoolbox (s) | speed-up "
        "vs scipy | speed-up vs rsatoolbox | rho visreps | max abs diff |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for n in (1000, 3000, 10000):
        X, Y = make_data(n)
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t_o, r_o = timed(lambda: ours(X, Y), repeat=3 if n < 10000 else 1, label="ours")
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        if n < 10000 or args.full:
            t_s, r_s = timed(lambda: scipy_rsa(X, Y), label="scipy")
            t_r, r_r = timed(lambda: rsatoolbox_rsa(X, Y), label="rsatoolbox")
            diff = max(abs(r_o - r_s), abs(r_o - r_r))
            print(
                f"| {n:,} | 2,000 | {t_o:.2f} ({CPU['ours']:.2f}) | {t_s:.2f} "
                f"({CPU['scipy']:.2f}) | {t_r:.2f} ({CPU['rsatoolbox']:.2f}) "
                f"| {t_s / t_o:.1f}x | {t_r / t_o:.1f}x | {r_o:.6f} | {diff:.1e} |"
            )
        else:
            print(f"| {n:,} | 2,000 | {t_o:.2f} ({CPU['ours']:.2f}) | not run | not run | | | {r_o:.6f} | |")
        if n == 10000:
            print(f"\npeak RSS of this process after N=10,000: {rss1 / 2**20:.1f} GiB (before: {rss0 / 2**20:.1f} GiB)")

    if torch.cuda.is_available():  # the GPU route: float32 RDMs and ranking on the device
        print(
            f"\n| N | features | visreps GPU, patterns on the device (s) | incl. "
            f"host-to-device copy (s) | rho GPU | abs diff vs CPU float64 |"
        )
        print("|---|---|---|---|---|---|")
        for n in (1000, 3000, 10000):
            X, Y = make_data(n)
            ref = ours(X, Y)
            Xg, Yg = torch.from_numpy(X).cuda(), torch.from_numpy(Y).cuda()
            gpu = lambda: compare_rdms(compute_rdm(Xg), compute_rdm(Yg))  # float() of the result synchronises
            gpu()  # warm-up (kernels, allocator)
            t_g, r_g = timed(gpu, repeat=3, label="gpu")
            t_c, _ = timed(
                lambda: compare_rdms(compute_rdm(torch.from_numpy(X).cuda()), compute_rdm(torch.from_numpy(Y).cuda())),
                repeat=3,
                label="gpu_copy",
            )
            print(f"| {n:,} | 2,000 | {t_g:.3f} | {t_c:.3f} | {r_g:.6f} | {abs(r_g - ref):.1e} |")
            del Xg, Yg; torch.cuda.empty_cache()

    n, n_boot = 1000, 1000
    X, Y = make_data(n, seed=1)
    A, B = compute_rdm(X, device="cpu"), compute_rdm(Y, device="cpu")
    t_b, res = timed(lambda: bootstrap_rsa(A, B, n_boot=n_boot, frac=0.9, seed=0), label="boot")
    n_naive = n_boot if args.full else 50
    idx = draw("stimuli", n, n_boot, 0, "bootstrap_rsa", frac=0.9, min_distinct=3, sort=True)[:n_naive]
    def naive():
        return np.array([scipy.stats.spearmanr(rdm_to_vector(A[np.ix_(s, s)]), rdm_to_vector(B[np.ix_(s, s)])).statistic
                         for s in idx])
    t_n, dist_n = timed(naive, label="naive")
    t_n_all = t_n * n_boot / n_naive
    diff = np.abs(res.distribution[:n_naive] - dist_n).max()
    print(
        f"\n| bootstrap N={n:,}, {n_boot} x 90% | visreps (s) | naive scipy loop "
        f"(s) | speed-up | estimate | 95% CI | max abs diff (first {n_naive}) |"
    )
    print("|---|---|---|---|---|---|---|")
    naive_txt = f"{t_n_all:.1f}" + ("" if args.full else f" (extrapolated from {n_naive})")
    print(f"| spearman | {t_b:.1f} ({CPU['boot']:.1f}) | {naive_txt} | {t_n_all / t_b:.0f}x | {res.estimate:.4f} | "
          f"[{res.ci[0]:.4f}, {res.ci[1]:.4f}] | {diff:.1e} |")
    print(f"\nload average at end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
