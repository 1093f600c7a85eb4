"""Benchmark the real-data stage (Kriegeskorte 92 images x EfficientNet-Lite) and compare with a baseline pipeline.

    .venv/bin/python benchmarks/bench_real92.py                  # the whole stage + the side-by-side
                                                                 #   (several minutes on 2 cores)
    .venv/bin/python benchmarks/bench_real92.py --networks 1     # only EfficientNet-Lite0 (trained) in the stage
    .venv/bin/python benchmarks/bench_real92.py --baseline-boot 1000   # the baseline's full bootstrap (slow)

Part 1, the stage: 6 networks (EfficientNet-Lite0/1/2 trained and untrained) x every readout x 92
images: extraction, one RDM per readout, Kendall tau-a against hIT, mIT and mean behaviour with
1,000 stimulus-bootstrap resamples (exact, with replacement) and --n-boot-subjects (200) subject resamples, and the
noise ceilings (what experiments/real92_rsa.ipynb does). Target: under 2 minutes on 2 cores.

Part 2, side by side: one network (trained Lite0), all its readouts, against hIT:
  visreps: extract_features (every readout, one pass) + rsa_scores (RDMs, tau-a, 1,000 stimulus
           resamples, noise ceiling);
  baseline: extraction by thingsvision 2.7.3 (`get_extractor_from_model(..., backend="pt")`,
           `extract_features(module_names=..., flatten_acts=True)`) run in its own venv, given with
           --thingsvision PYTHON (see benchmarks/README.md: it needs torch 2.0 and TensorFlow, so it is
           installed with --no-deps beside a link to the project's venv), on the same preprocessed
           input tensor; without that option, plain forward hooks stand in for it (what its torch
           extractor does: a forward hook per module, batches, flatten); plus
           rsatoolbox 0.3.2 (calc_rdm 'correlation', compare 'tau-a', bootstrap by
           subsample_pattern + compare per resample, boot_noise_ceiling).
  The baseline's bootstrap runs --baseline-boot resamples (default 100) and is scaled linearly to
  1,000 (each resample costs the same); both the measured and the scaled times are printed.
  Checked: the same tau-a values, the same ceiling (rsatoolbox pools ranked RDMs: pool='rank'),
  and the same bootstrap values on the same resamples (the first 20 of visreps' draws).
The baseline's extraction time includes the same preprocessing (visreps.models.features.preprocess_images).
"""
import argparse
import os
import platform
import time
import warnings

import numpy as np
import torch

from visreps.data.loaders.kriegeskorte92 import load_kriegeskorte92
from visreps.models.features import ExtractionOptions, extract_features, preprocess_images
from visreps.models.zoo import build_model, input_spec, readout_points
from visreps.metrics.rdm_scores import (
    _entry_weights,
    bootstrap_compare,
    noise_ceiling,
    rdm_scores,
    rsa_scores,
)
from visreps.metrics.resampling import counts as draw_counts, draw
from visreps.study.scoring import readout_summaries
from visreps.metrics.rsa import rdm_to_vector

NETWORKS = [(a, t) for a in ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2") for t in (True, False)]


def build(arch, trained):
    return (build_model(arch, pretrained=True) if trained else build_model(arch, seed=0)).eval()


def stage(ds, networks, n_boot, n_boot_subjects):
    rows, t0 = [], time.perf_counter()
    t_extract = t_score = 0.0
    for arch, trained in networks:
        a = time.perf_counter()
        s = readout_summaries(build(arch, trained), ds.stimuli, None, device="cpu")
        b = time.perf_counter()
        rdm_scores(s["rdms"], ds, ["hIT", "mIT", "behaviour"], "kendall_a", n_boot, 0, n_boot_subjects=n_boot_subjects)
        c = time.perf_counter()
        t_extract += b - a; t_score += c - b
        rows.append((f"{arch} {'trained' if trained else 'untrained'}", len(s["rdms"]), b - a, c - b))
    return rows, t_extract, t_score, time.perf_counter() - t0


def hook_features(model, x, paths, batch_size=64):
    "Plain forward hooks on the named modules (what thingsvision's torch extractor does), flattened per image."
    mods = dict(model.named_modules())
    out = {p: [] for p in paths}
    hs = [
        mods[p].register_forward_hook(lambda m, i, o, p=p: out[p].append(o.detach().flatten(1).clone())) for p in paths
    ]
    try:
        with torch.no_grad():
            for s in range(0, len(x), batch_size): model(x[s:s + batch_size])
    finally:
        for h in hs: h.remove()
    return {p: torch.cat(v).numpy() for p, v in out.items()}


TV_SCRIPT = """
import sys, time, numpy as np, torch
torch.set_num_threads(int(sys.argv[4]))
from thingsvision import get_extractor_from_model
from visreps.models.zoo import build_model
model = build_model("efficientnet_lite0", pretrained=True).eval()
x = torch.from_numpy(np.load(sys.argv[1]))
paths = sys.argv[3].split(",")
ext = get_extractor_from_model(model, device="cpu", backend="pt")
t0 = time.perf_counter()
f = ext.extract_features(batches=[x[s:s + 64] for s in range(0, len(x), 64)], module_names=paths, flatten_acts=True,
                         output_type="ndarray")
dt = time.perf_counter() - t0
np.savez(sys.argv[2], seconds=dt, **{p.replace(".", "__"): f[p] for p in paths})
"""


def thingsvision_features(python, x, paths, tmp):
    "Extraction by thingsvision in its own interpreter; returns (seconds inside it, {path: (n, d) features})."
    import subprocess
    from pathlib import Path
    here = Path(__file__).resolve().parents[1]
    np.save(tmp / "x.npy", x.numpy())
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(python).absolute().parents[1] / "stubs"), str(here)]))
    subprocess.run(
        [
            python,
            "-c",
            TV_SCRIPT,
            str(tmp / "x.npy"),
            str(tmp / "tv.npz"),
            ",".join(paths),
            str(torch.get_num_threads()),
        ],
        check=True,
        env=env,
    )
    z = np.load(tmp / "tv.npz")
    return float(z["seconds"]), {p: z[p.replace(".", "__")] for p in paths}


def baseline(ds, model, n_boot_baseline, counts):
    import rsatoolbox
    from rsatoolbox.inference import boot_noise_ceiling
    spec = input_spec(model)
    paths = readout_points(model)
    t0 = time.perf_counter()
    x = preprocess_images(
        ds.stimuli.images, spec["image_size"], spec["crop_fraction"], normalization=spec["normalization"]
    )
    t_pre = time.perf_counter() - t0  # the same input tensor goes to thingsvision (--thingsvision)
    feats = hook_features(model, x, list(paths.values()))
    t_ext = time.perf_counter() - t0
    hit = ds.select(target="hIT")
    S = hit.subject_rdms("hIT")
    subj = rsatoolbox.rdm.RDMs(S.values, rdm_descriptors=dict(subject=list(S["subject"].values)))
    index = dict(index=np.arange(ds.n_stimuli))
    target = rsatoolbox.rdm.RDMs(S.values.mean(0)[None], pattern_descriptors=index)
    t0 = time.perf_counter()
    vals, boots = {}, {}
    for name, p in paths.items():
        X = feats[p].astype(np.float64)
        r = rsatoolbox.rdm.calc_rdm(rsatoolbox.data.Dataset(X, obs_descriptors=index), method="correlation")
        vals[name] = float(rsatoolbox.rdm.compare(r, target, method="tau-a")[0, 0])
        b = []
        for c in counts[:n_boot_baseline]:
            idx = np.repeat(np.arange(ds.n_stimuli), c.astype(int))
            b.append(
                float(
                    rsatoolbox.rdm.compare(
                        r.subsample_pattern("index", idx), target.subsample_pattern("index", idx), method="tau-a"
                    )[0, 0]
                )
            )
        boots[name] = np.array(b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ceil = boot_noise_ceiling(subj, method="tau-a", rdm_descriptor="subject")
    t_score = time.perf_counter() - t0
    return t_ext, t_score, vals, boots, ceil, feats, paths, x, t_pre


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--networks", type=int, default=6, help="how many of the six networks the stage runs")
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument(
        "--n-boot-subjects", type=int, default=200, help="subject resamples in the stage (plans/real92.yaml: 200)"
    )
    ap.add_argument(
        "--baseline-boot", type=int, default=100, help="bootstrap resamples the baseline runs (scaled to --n-boot)"
    )
    ap.add_argument("--skip-stage", action="store_true")
    ap.add_argument(
        "--thingsvision",
        default="",
        help="python of a venv holding thingsvision 2.7.3 (benchmarks/README.md): its extraction as the baseline's",
    )
    a = ap.parse_args()
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch "
        f"{torch.__version__}, load average {os.getloadavg()[0]:.1f}"
    )
    ds = load_kriegeskorte92(fetch=False)

    if not a.skip_stage:
        rows, te, ts, tt = stage(ds, NETWORKS[:a.networks], a.n_boot, a.n_boot_subjects)
        print(
            f"\n## Part 1: the real-data stage ({a.networks} network(s), {a.n_boot} "
            f"stimulus + {a.n_boot_subjects} subject resamples, 3 targets)"
        )
        print(f"{'network':32s} {'readouts':>8s} {'extract s':>10s} {'score s':>8s}")
        for r in rows: print(f"{r[0]:32s} {r[1]:8d} {r[2]:10.1f} {r[3]:8.1f}")
        print(f"{'total':32s} {sum(r[1] for r in rows):8d} {te:10.1f} {ts:8.1f}   wall {tt:.1f} s (target < 120 s)")

    print(
        "\n## Part 2: one network (efficientnet_lite0 trained), all "
        f"readouts vs hIT, {a.n_boot} stimulus resamples + ceiling"
    )
    model = build("efficientnet_lite0", True)
    t0 = time.perf_counter()
    feats = extract_features(model, ds.stimuli, None, ExtractionOptions(device="cpu"), progress=False)
    t_v_ext = time.perf_counter() - t0
    t0, c0 = time.perf_counter(), time.process_time()
    # the plain mean of the subjects
    ours = rsa_scores(feats, ds, "hIT", "kendall_a", n_boot=a.n_boot, seed=0, n_boot_subjects=0)
    t_v_score, c_v_score = time.perf_counter() - t0, time.process_time() - c0
    counts = draw_counts(draw("stimuli", ds.n_stimuli, a.n_boot, 0, "rdmset_stimulus_bootstrap"), ds.n_stimuli)
    counts = counts.astype(np.float64)
    t_b_ext, t_b_score, vals, boots, ceil, bfeats, paths, x, t_pre = baseline(ds, model, a.baseline_boot, counts)
    t_hooks, tv_row = t_b_ext, None
    if a.thingsvision:
        import tempfile
        from pathlib import Path
        with tempfile.TemporaryDirectory() as tmp:
            t_tv, tvf = thingsvision_features(a.thingsvision, x, list(paths.values()), Path(tmp))
        d_tv = max(float(np.abs(tvf[p] - bfeats[p]).max()) for p in paths.values())
        t_b_ext = t_pre + t_tv  # the baseline's extraction is thingsvision's (+ the same preprocessing)
        tv_row = (t_pre, t_tv, d_tv)
    scale = a.n_boot / a.baseline_boot
    t_b_score_1000 = t_b_score * scale  # the per-readout RDM and ceiling are a small part; conservative upper bound
    ours = ours.set_index("readout")
    dv = max(abs(ours.loc[k, "value"] - v) for k, v in vals.items())
    ranked = noise_ceiling(ds, "hIT", "kendall_a", pool="rank")  # rsatoolbox pools ranked RDMs for tau-a
    dc = max(abs(ranked[0] - ceil[0]), abs(ranked[1] - ceil[1]))
    df = max(float(np.abs(feats[k].values.reshape(ds.n_stimuli, -1) - bfeats[p]).max()) for k, p in paths.items())
    # the same resamples: visreps' exact weighted bootstrap vs rsatoolbox on explicitly resampled RDMs
    Wt = _entry_weights(counts[:20])
    tgt = rdm_to_vector(ds.subject_rdms("hIT").values.mean(0))
    from visreps.metrics.rsa import compute_rdm
    db = 0.0
    for k, p in paths.items():
        X = bfeats[p].astype(np.float64)
        ours_b = bootstrap_compare(rdm_to_vector(compute_rdm(X)), tgt, Wt, "kendall_a")
        db = max(db, float(np.abs(ours_b - boots[k][:20]).max()))
    print(f"{'':28s} {'visreps s':>10s} {'baseline s':>11s} {'ratio':>7s}")
    if tv_row:
        print(f"{'extraction, thingsvision':28s} {t_v_ext:10.1f} {t_b_ext:11.1f} {t_b_ext / t_v_ext:7.2f}   "
              f"(preprocessing {tv_row[0]:.1f} s + thingsvision "
              f"{tv_row[1]:.1f} s; max |feature diff| vs hooks {tv_row[2]:.2e})")
        print(f"{'extraction, plain hooks':28s} {t_v_ext:10.1f} {t_hooks:11.1f} {t_hooks / t_v_ext:7.2f}")
    else:
        print(
            f"{'extraction (all readouts)':28s} {t_v_ext:10.1f} {t_b_ext:11.1f} "
            f"{t_b_ext / t_v_ext:7.2f}   (plain hooks; --thingsvision not given)"
        )
    print(
        f"{'scoring (measured)':28s} {t_v_score:10.1f} {t_b_score:11.1f}   "
        f"baseline ran {a.baseline_boot} resamples; visreps CPU {c_v_score:.1f} s"
    )
    print(
        f"{'scoring (1,000 resamples)':28s} {t_v_score:10.1f} {t_b_score_1000:11.1f} {t_b_score_1000 / t_v_score:7.1f}"
    )
    tot_v, tot_b = t_v_ext + t_v_score, t_b_ext + t_b_score_1000
    print(f"{'total':28s} {tot_v:10.1f} {tot_b:11.1f} {tot_b / tot_v:7.1f}   (target >= 5x)")
    print(f"same numbers: max |feature diff| {df:.2e}; max |tau-a diff| {dv:.2e}; max |ceiling diff| {dc:.2e}; "
          f"max |bootstrap diff| on the same 20 resamples {db:.2e}")
    print(f"load average at the end {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
