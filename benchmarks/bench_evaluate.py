"""Benchmark of the evaluation pipeline: features + scores for one model, 14 readouts x 3 ROIs x 4 subjects.

Default: a small world (200 test stimuli, 200 selection stimuli per subject, width-0.25 CustomCNN at 64 px).
--full: the issue's sizes (1,000 test stimuli, 1,000 selection stimuli per subject, width-1 CustomCNN at 224 px).
Baseline, in the same run: the test RDM of the widest readout from activations held in memory
(`visreps.metrics.rsa.compute_rdm` on the full n x D matrix) against the pipeline's streamed Gram matrix.

    .venv/bin/python benchmarks/bench_evaluate.py [--full] [--analyses rsa,encoding,pls,pca_reconstruction]
"""
import argparse
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from visreps.study.evaluate import EvalConfig, FeatureCache, rdm_from_gram, run_eval
from visreps.models.identity import load_eval_model
from visreps.data.world import make_world


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--full", action="store_true")
    p.add_argument("--analyses", default="rsa,encoding,pls,pca_reconstruction")
    p.add_argument(
        "--score-model",
        action="store_true",
        help="also time visreps.score_model (in memory) on the same model and data",
    )
    a = p.parse_args()
    n_test, n_train, size, width = (1000, 1000, 224, 1.0) if a.full else (200, 200, 64, 0.25)
    torch.set_num_threads(2)
    rows = []
    t = time.time()
    ds = make_world(0, n_levels=6, n_subjects=4, n_train_per_subject=n_train, n_test=n_test, image_size=size,
                    n_voxels_early=128, n_voxels_mid=128, n_voxels_ventral=128)
    rows.append(("world generation (not part of eval)", time.time() - t, ""))
    with tempfile.TemporaryDirectory() as d:
        cfg = EvalConfig(width=width, n_classes=64, image_size=size, n_select=n_train, analyses=a.analyses.split(","),
                         pca_n_boot=100, device="cpu", results_root=d)
        t, c = time.time(), time.process_time(); s = run_eval(cfg, data=ds, progress=False); total = time.time() - t
        rows.append(
            (
                f"run_eval: {len(s.written)} runs, {s.n_records} records ({a.analyses})",
                total,
                f"CPU time {time.process_time() - c:.0f} s",
            )
        )
        t = time.time(); s2 = run_eval(cfg, data=ds, progress=False)
        rows.append(("run_eval again (all runs finished: no-op)", time.time() - t, f"{len(s2.skipped)} skipped"))
        if a.score_model:  # the in-memory API on the same network and data (nothing written), same numbers as the store
            import visreps
            model0, _ = load_eval_model(cfg)
            opts = {
                k: v
                for k, v in cfg.to_dict().items()
                if k
                not in (
                    "checkpoint",
                    "results_root",
                    "force",
                    "arch",
                    "n_classes",
                    "width",
                    "model_seed",
                    "dataset",
                    "readouts",
                    "analyses",
                    "model_name",
                )
            }
            t, c = time.time(), time.process_time()
            sc = visreps.score_model(model0, ds, cfg.readouts, cfg.analyses, **opts)
            rows.append(
                (
                    f"score_model in memory: {len(sc)} score rows (same analyses)",
                    time.time() - t,
                    f"CPU time {time.process_time() - c:.0f} s",
                )
            )
        # baseline vs streamed Gram, widest readout, test stimuli
        model, info = load_eval_model(cfg)
        cache = FeatureCache(Path(d) / "bench_features", model, info["weights"], ds.stimuli, 0, 64, "cpu", size, False)
        ids = ds.shared_ids()
        t = time.time()
        st = cache.gram(ids, ["conv1.post"], None)["conv1.post"]
        A = rdm_from_gram(st["G"], st["s"], int(st["D"]))
        t_stream = time.time() - t
        from visreps.models.features import ExtractionOptions, extract_features
        from visreps.metrics.rsa import compute_rdm
        t = time.time()
        X = extract_features(
            model,
            ds.stimuli.images_for(ids),
            "conv1.post",
            ExtractionOptions(device="cpu", image_size=size),
            stimulus_ids=ids,
            progress=False,
        )["conv1.post"].values
        B = compute_rdm(X, device="cpu"); t_mem = time.time() - t
        err = float(np.abs(A - B).max())
        mb = X.nbytes / 2**20
        rows.append(
            (
                f"test RDM conv1.post, streamed Gram (D={int(st['D'])})",
                t_stream,
                f"activations on disk; max |diff| vs baseline {err:.1e}",
            )
        )
        rows.append(("  baseline: in-memory activations + compute_rdm", t_mem, f"{mb:.0f} MB of activations in memory"))
    print(
        f"\nevaluation benchmark ({'full' if a.full else 'default'}): "
        f"{n_test} test stimuli, {n_train} selection stimuli/subject, "
        f"4 subjects x 3 ROIs x 14 readouts, CustomCNN width {width} at {size} px, {torch.get_num_threads()} threads"
    )
    print(f"{'step':<72} {'seconds':>8}  note")
    for name, sec, note in rows: print(f"{name:<72} {sec:8.1f}  {note}")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10:.0f} MB")


if __name__ == "__main__":
    main()
