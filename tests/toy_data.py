"Toy image classification data shared by the training tests: four classes told apart by colour and layout."
import os
from pathlib import Path

import numpy as np


def toy_class_images(n: int, side: int, mean: float, sd: float, red: float, top: float, seed: int = 0):
    ("n noisy uint8 images (side x side x 3) and labels 0..3: classes 2-3 "
     "are redder by `red`, odd classes brighter in the top half by `top`.")
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    imgs = rng.normal(mean, sd, (n, side, side, 3))
    imgs[y >= 2, :, :, 0] += red
    imgs[:, :side // 2][y % 2 == 1] += top
    return np.clip(imgs, 0, 255).astype(np.uint8), y


def training_case(d: Path, n: int, script: str) -> dict:
    ("Write a training test's folder: `n` toy 72-px images as data.npz, the training "
     "`script` as run.py; returns the subprocess environment (one thread, fixed hash seed).")
    imgs, y = toy_class_images(n, 72, mean=110, sd=40, red=70, top=50)
    np.savez(d / "data.npz", images=imgs, labels=y)
    (d / "run.py").write_text(script)
    return {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONHASHSEED": "0"}


def toy_notebook(path: Path, body: str, params: str) -> Path:
    ("Write a two-cell notebook for sweep tests: a `parameters`-tagged "
     "cell (`params`) and `body`, with a python3 kernelspec.")
    import nbformat
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(params, metadata={"tags": ["parameters"]}),
                                         nbformat.v4.new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path
