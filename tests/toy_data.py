"Toy image classification data shared by the training tests: four classes told apart by colour and layout."
import numpy as np


def toy_class_images(n: int, side: int, mean: float, sd: float, red: float, top: float, seed: int = 0):
    "n noisy uint8 images (side x side x 3) and labels 0..3: classes 2-3 are redder by `red`, odd classes brighter in the top half by `top`."
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 4, n)
    imgs = rng.normal(mean, sd, (n, side, side, 3))
    imgs[y >= 2, :, :, 0] += red
    imgs[:, :side // 2][y % 2 == 1] += top
    return np.clip(imgs, 0, 255).astype(np.uint8), y
