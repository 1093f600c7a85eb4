"""Training throughput: visreps' trainer vs the model-only ceiling and a plain DataLoader pipeline.

For CustomCNN (width 1.0) at 64 px and 224 px, images/s of a full training step
(data + augmentation + forward + backward + AdamW step), measured three ways in the same run:

* visreps   `visreps.training.trainer.train` itself (uint8 images on the device, batched augmentation
            there), timed on its second epoch (warm), from the epoch's own timer;
* ceiling   the same model and optimiser on one fixed, pre-placed, pre-normalised batch;
* plain     torch DataLoader (2 workers) + torchvision transforms on PIL images on the CPU
            (Resize, CenterCrop, RandomHorizontalFlip, RandomRotation(10), ToTensor, Normalize).

Also the data side alone: visreps' augmentation on the device vs iterating the plain loader.

    .venv/bin/python benchmarks/bench_training.py          # CPU-sized (about 2-3 minutes on 2 cores)
    .venv/bin/python benchmarks/bench_training.py --full   # the issue's GPU sizes (bf16, compiled at 224 px)
"""
import argparse
import tempfile
import time

import numpy as np
import torch
import torch.nn as nn

from visreps.core.backend import get_device
from visreps.models.zoo import build_model
from visreps.training.trainer import ImageStore, TrainConfig, augment_batch, make_optimizer, sample_augmentation, train


def sync(dev):
    if dev.type == "cuda": torch.cuda.synchronize(dev)


def make_images(n, side, seed=0):
    "Smooth random uint8 images (n, side, side, 3) (noise upsampled), stored at side = crop / 0.875."
    g = torch.Generator().manual_seed(seed)
    small = torch.randint(0, 256, (n, 3, side // 8 + 1, side // 8 + 1), generator=g, dtype=torch.uint8).float()
    big = torch.nn.functional.interpolate(small, size=(side, side), mode="bilinear", align_corners=False)
    return big.clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).contiguous().numpy()


def cfg_for(size, batch, dev, full):
    # as the issue: bf16 at 224, fp32 at 64
    return TrainConfig(arch="custom_cnn", n_classes=64, width=1.0, epochs=2, batch_size=batch, image_size=size,
                       warmup_epochs=1, test_fraction=0.0, checkpoint_every=100, device=str(dev), progress=False,
                       amp=size == 224, compile=bool(full and size == 224 and dev.type == "cuda"), num_workers=2)


def bench_ceiling(cfg, dev, steps):
    model = build_model("custom_cnn", cfg.n_classes, width=cfg.width, seed=0).to(dev).train()
    cl = dev.type == "cuda"
    if cl: model = model.to(memory_format=torch.channels_last)
    net = torch.compile(model) if cfg.compile else model
    opt, _ = make_optimizer(model, cfg)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    x = torch.randn(cfg.batch_size, 3, cfg.image_size, cfg.image_size, device=dev)
    if cl: x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, cfg.n_classes, (cfg.batch_size,), device=dev)

    def step():
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.amp and dev.type == "cuda"):
            loss = crit(net(x).float(), y)
        opt.zero_grad(set_to_none=True); loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
    for _ in range(2 if cfg.compile else 1): step()
    sync(dev); t = time.perf_counter()
    for _ in range(steps): step()
    sync(dev)
    return steps * cfg.batch_size / (time.perf_counter() - t)


def bench_visreps(cfg, images, labels):
    with tempfile.TemporaryDirectory() as d:
        rows = train(cfg, images, labels, d)["metrics"]
    n_steps = len(images) // cfg.batch_size
    return n_steps * cfg.batch_size / rows[2]["seconds"]  # epoch 2: warm


def bench_visreps_data(cfg, images, dev, steps):
    store = ImageStore(images, dev, "auto", 2)
    h, w = images.shape[1:3]
    p = sample_augmentation(steps * cfg.batch_size, h, w, cfg, torch.Generator().manual_seed(0))
    idx = [torch.arange(s * cfg.batch_size, (s + 1) * cfg.batch_size) for s in range(steps)]
    sync(dev); t = time.perf_counter()
    for s, x in enumerate(store.batches(idx)):
        sl = slice(s * cfg.batch_size, (s + 1) * cfg.batch_size)
        out = augment_batch(x, {k: v[sl] for k, v in p.items()}, cfg.image_size, channels_last=dev.type == "cuda")
    sync(dev)
    return steps * cfg.batch_size / (time.perf_counter() - t)


class PILDataset(torch.utils.data.Dataset):
    def __init__(self, images, labels, size):
        import torchvision.transforms as T
        self.images, self.labels = images, labels
        self.tf = T.Compose(
            [
                T.Resize(round(size / 0.875)),
                T.CenterCrop(size),
                T.RandomHorizontalFlip(),
                T.RandomRotation(10),
                T.ToTensor(),
                T.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
            ]
        )
    def __len__(self): return len(self.images)
    def __getitem__(self, i):
        from PIL import Image
        return self.tf(Image.fromarray(self.images[i])), int(self.labels[i])


def plain_loader(images, labels, cfg, dev):
    return torch.utils.data.DataLoader(
        PILDataset(images, labels, cfg.image_size),
        batch_size=cfg.batch_size,
        shuffle=True,
        num_workers=2,
        pin_memory=dev.type == "cuda",
        drop_last=True,
        persistent_workers=False,
    )


def bench_plain(cfg, images, labels, dev, train_model=True):
    model = build_model("custom_cnn", cfg.n_classes, width=cfg.width, seed=0).to(dev).train()
    opt, _ = make_optimizer(model, cfg)
    crit = nn.CrossEntropyLoss(label_smoothing=0.1)
    it = iter(plain_loader(images, labels, cfg, dev))
    x, y = next(it)  # warm: workers started, first batch done
    n, t = 0, time.perf_counter()
    for x, y in it:
        x, y = x.to(dev, non_blocking=True), y.to(dev, non_blocking=True)
        if train_model:
            with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=cfg.amp and dev.type == "cuda"):
                loss = crit(model(x).float(), y)
            opt.zero_grad(set_to_none=True); loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0); opt.step()
        n += len(x)
    sync(dev)
    return n / (time.perf_counter() - t)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--full", action="store_true", help="the issue's GPU sizes (batch 512 at 64 px, 256 at 224 px, more steps)"
    )
    ap.add_argument("--device", default="auto")
    args = ap.parse_args()
    dev = get_device(args.device)
    if args.full: settings = [(64, 512, 40), (224, 256, 30)]
    elif dev.type == "cuda": settings = [(64, 512, 20), (224, 256, 10)]
    else: settings = [(64, 64, 6), (224, 32, 4)]  # CPU: a few steps each
    print(
        f"device: {dev} "
        f"({torch.cuda.get_device_name(dev) if dev.type == 'cuda' else f'{torch.get_num_threads()} CPU threads'}), "
        f"torch {torch.__version__}, CustomCNN width 1.0, K=64"
    )
    rows = []
    for size, batch, steps in settings:
        cfg = cfg_for(size, batch, dev, args.full)
        images = make_images(steps * batch, round(size / 0.875))
        labels = np.random.default_rng(0).integers(0, cfg.n_classes, len(images))
        r = dict(size=size, batch=batch, steps=steps)
        r["ceiling"] = bench_ceiling(cfg, dev, steps)
        r["visreps"] = bench_visreps(cfg, images, labels)
        r["plain"] = bench_plain(cfg, images, labels, dev)
        r["visreps_data"] = bench_visreps_data(cfg, images, dev, steps)
        r["plain_data"] = bench_plain(cfg, images, labels, dev, train_model=False)
        rows.append(r)
        print(f"  {size} px done", flush=True)
    hdr = (f"| size | batch | steps | model-only ceiling | visreps trainer | plain "
           f"pipeline | visreps / plain | visreps data only | plain loader only |")
    print(hdr); print("|" + "---|" * 9)
    for r in rows:
        print(
            f"| {r['size']} px | {r['batch']} | {r['steps']} | "
            f"{r['ceiling']:,.0f} | {r['visreps']:,.0f} | {r['plain']:,.0f} | "
            f"{r['visreps'] / r['plain']:.2f}x | {r['visreps_data']:,.0f} | {r['plain_data']:,.0f} |"
        )
    print("(images/s; full step = data + augmentation + forward + backward + AdamW step)")


if __name__ == "__main__":
    main()
