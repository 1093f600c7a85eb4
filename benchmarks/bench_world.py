"""Benchmark: generating a synthetic world (10,000 images of 64 px, 3 ROIs, responses), stage by stage.

Baseline (same run): rendering one image at a time (`render_images` on single rows), the
cost a per-image loop would have, measured on a subset and extrapolated.

    .venv/bin/python benchmarks/bench_world.py            # 10,000 images, 64 px (about half a minute)
    .venv/bin/python benchmarks/bench_world.py --full     # also 224 px
"""
import argparse
import time

import numpy as np
import torch

from visreps.data.world import (
    WorldConfig,
    make_world,
    render_images,
    target_features,
    sample_design,
    simulate_responses,
)


def bench(n_images: int, image_size: int, n_subjects: int = 4):
    n_test = n_images // 10
    cfg = WorldConfig(image_size=image_size, n_subjects=n_subjects, n_test=n_test,
                      n_train_per_subject=(n_images - n_test) // n_subjects)
    t = {}
    c0 = time.process_time()
    t0 = time.perf_counter(); design = sample_design(cfg); t["design"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    images = render_images(design, cfg.image_size, cfg.seed, cfg.pixel_noise)
    t["render"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    feats = target_features(images, design, cfg)
    t["target features"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    resp = [simulate_responses(feats, design, cfg, s) for s in range(cfg.n_subjects)]
    t["responses"] = time.perf_counter() - t0
    cpu = time.process_time() - c0
    n_pres = sum(r.sizes["presentation"] for r in resp)
    # baseline: one image at a time
    k = 100
    t0 = time.perf_counter()
    for i in range(k): render_images(design.iloc[i:i + 1], cfg.image_size, cfg.seed, cfg.pixel_noise)
    per_image = (time.perf_counter() - t0) / k
    return cfg, len(design), n_pres, t, cpu, per_image


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", action="store_true", help="also 224 px images")
    ap.add_argument("--n", type=int, default=10_000, help="number of images")
    args = ap.parse_args()
    print(f"torch threads: {torch.get_num_threads()}")
    sizes = [64, 224] if args.full else [64]
    print(
        "| images | px | presentations | design s | render s | ROI features s | responses s | total "
        "wall s | total CPU s | per-image render loop (baseline, extrapolated) s | render speed-up |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for px in sizes:
        cfg, n, n_pres, t, cpu, per_image = bench(args.n, px)
        total = sum(t.values())
        base = per_image * n
        print(
            f"| {n} | {px} | {n_pres} | {t['design']:.2f} | {t['render']:.2f} "
            f"| {t['target features']:.2f} | {t['responses']:.2f} | "
            f"{total:.1f} | {cpu:.1f} | {base:.1f} | {base / t['render']:.0f}x |"
        )


if __name__ == "__main__":
    main()
