"""Benchmark: feature extraction for layer selection (CustomCNN, 14 readouts, projection to min(4096, D)).

Compares, in the same run and on the same images:
  visreps   : visreps.models.features.extract_features (batched torch transform, hooks, per-batch seeded
              sparse projection, streamed to disk)
  baseline  : the straightforward way: PIL transform image by image, hooks that keep the full
              activations of every image in memory, then scikit-learn's SparseRandomProjection
              per readout at the end.
Reports wall time, images/s and the peak resident memory of each (each method runs in its own
subprocess so that peaks do not mix), and checks that the two agree on distances.

    .venv/bin/python benchmarks/bench_features.py            # 128 images, 224 px (~1-3 min on 2 cores)
    .venv/bin/python benchmarks/bench_features.py --full     # 1,000 images (the layer-selection set)
    .venv/bin/python benchmarks/bench_features.py --lite     # pretrained EfficientNet-Lite0, 92 images, every readout,
                                                             # max + avg pooling in one pass vs one pass per pooling
"""
import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def _images(n, seed=0):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)  # smooth-ish natural-size images
    return np.repeat(np.repeat(small, 8, 1), 8, 2)  # (n, 256, 256, 3)


def run_visreps(n, batch_size, out):
    import torch
    from visreps.models.features import ExtractionOptions, extract_features
    from visreps.models.zoo import build_model
    torch.set_num_threads(torch.get_num_threads())
    m = build_model("custom_cnn", 1000, seed=0).eval()
    imgs = _images(n)
    t = time.perf_counter()
    f = extract_features(
        m,
        imgs,
        None,
        ExtractionOptions(batch_size=batch_size, device="cpu", projection=4096),
        stimulus_ids=[f"s{i}" for i in range(n)],
        out_dir=out,
        overwrite=True,
        progress=False,
    )
    dt = time.perf_counter() - t
    np.save(Path(out)/"_check.npy", np.asarray(f["conv3.post"].values[:20]))
    return dt


def run_baseline(n, batch_size, out):
    import torch
    import torchvision.transforms as T
    from PIL import Image
    from sklearn.random_projection import SparseRandomProjection
    from visreps.models.zoo import build_model, readout_points
    m = build_model("custom_cnn", 1000, seed=0).eval()
    imgs = _images(n)
    tf = T.Compose([T.Resize(256), T.CenterCrop(224), T.ToTensor(),
                    T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))])
    mods = dict(m.named_modules())
    store = {r: [] for r in readout_points(m)}
    hooks = [mods[p].register_forward_hook(lambda mod, i, o, r=r: store[r].append(o.detach().flatten(1).clone()))
             for r, p in readout_points(m).items()]
    t = time.perf_counter()
    with torch.no_grad():
        for s in range(0, n, batch_size):
            x = torch.stack([tf(Image.fromarray(im)) for im in imgs[s:s + batch_size]])
            m(x)
    res = {}
    for r, chunks in store.items():
        X = torch.cat(chunks).numpy()
        res[r] = (
            SparseRandomProjection(min(4096, X.shape[1]), random_state=0).fit_transform(X) if X.shape[1] > 4096 else X
        )
    dt = time.perf_counter() - t
    for h in hooks: h.remove()
    np.save(Path(out)/"_check.npy", np.asarray(res["conv3.post"][:20]))
    return dt


def child(method, n, batch_size, out):
    dt = {"visreps": run_visreps, "baseline": run_baseline}[method](n, batch_size, out)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"method": method, "seconds": dt, "peak_rss_mb": peak_mb}))


def bench_lite(n=92, reps=2):
    ("EfficientNet-Lite0 (pretrained), every readout (16 blocks + "
     "head), pooling max and avg: one pass vs one pass per pooling.")
    import torch
    from visreps.models.features import ExtractionOptions, extract_features
    from visreps.models.zoo import build_model
    m = build_model("efficientnet_lite0", pretrained=True).eval()
    imgs = np.random.default_rng(0).integers(0, 256, (n, 175, 175, 3), dtype=np.uint8)  # the 92-image set's size
    opt = dict(batch_size=32, device="cpu")
    kw = dict(stimulus_ids=[f"s{i}" for i in range(n)], progress=False)
    extract_features(m, imgs[:8], None, opt, **{**kw, "stimulus_ids": kw["stimulus_ids"][:8]})  # warm-up
    def timed(f):
        best = None
        for _ in range(reps):
            w, c = time.perf_counter(), time.process_time()
            res = f()
            t = (time.perf_counter() - w, time.process_time() - c)
            best = t if best is None or t[0] < best[0] else best
        return best, res
    (w1, c1), one = timed(lambda: extract_features(m, imgs, None, {**opt, "pooling": ["max", "avg"]}, **kw))
    (w2, c2), sep = timed(
        lambda: {p: extract_features(m, imgs, None, {**opt, "pooling": p}, **kw) for p in ("max", "avg")}
    )
    same = all(np.array_equal(one[p][r].values, sep[p][r].values) for p in one for r in one[p])
    print(f"EfficientNet-Lite0 pretrained, {len(one['max'])} readouts, {n} images 175 px -> 224, batch 32, CPU, "
          f"torch threads {torch.get_num_threads()}, best of {reps}")
    print(f"{'method':<28} {'wall s':>8} {'CPU s':>8}")
    print(f"{'one pass, pooling=[max,avg]':<28} {w1:>8.2f} {c1:>8.2f}")
    print(f"{'one pass per pooling':<28} {w2:>8.2f} {c2:>8.2f}")
    print(f"speed-up {w2 / w1:.2f}x wall, {c2 / c1:.2f}x CPU; identical features: {same}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lite", action="store_true", help="EfficientNet-Lite0: several poolings in one pass")
    ap.add_argument("--full", action="store_true", help="1,000 images instead of 128")
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--out", default=None, help=argparse.SUPPRESS)
    a = ap.parse_args()
    n = a.n or (1000 if a.full else 128)
    if a.child: return child(a.child, n, a.batch_size, a.out)
    if a.lite: return bench_lite()
    rows, outs = [], {}
    for method in ("visreps", "baseline"):
        out = tempfile.mkdtemp(prefix=f"bench_features_{method}_")
        outs[method] = out
        r = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                method,
                "--n",
                str(n),
                "--batch-size",
                str(a.batch_size),
                "--out",
                out,
            ],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0: sys.exit(f"{method} failed:\n{r.stderr[-3000:]}")
        rows.append(json.loads(r.stdout.strip().splitlines()[-1]))
    # both give distances within JL error of each other (different random matrices)
    from scipy.spatial.distance import pdist
    dv, db = (pdist(np.load(Path(outs[m])/"_check.npy")) for m in ("visreps", "baseline"))
    agree = float(np.median(np.abs(dv / db - 1)))
    print(
        f"CustomCNN (width 1), 14 readouts, projection min(4096, D), {n} images 256->224 px, batch {a.batch_size}, CPU"
    )
    print(f"{'method':<10} {'seconds':>9} {'images/s':>9} {'peak RSS (MB)':>14}")
    for r in rows:
        print(f"{r['method']:<10} {r['seconds']:>9.1f} {n / r['seconds']:>9.1f} {r['peak_rss_mb']:>14.0f}")
    v, b = rows
    print(f"speed-up {b['seconds'] / v['seconds']:.2f}x, memory ratio {b['peak_rss_mb'] / v['peak_rss_mb']:.2f}x; "
          f"median |distance ratio - 1| between the two projections (conv3.post, 20 images): {agree:.3f}")


if __name__ == "__main__":
    main()
