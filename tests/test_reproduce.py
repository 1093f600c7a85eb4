"""`visreps reproduce` on a tiny world: world, experiment notebooks, and a Jupyter Book whose page shows the figure."""
import json
import re
import shutil
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
from PIL import Image

from visreps.cli import ReproduceConfig, find_runs, main

ROOT = Path(__file__).resolve().parents[1]


def test_reproduce_builds_a_book_with_the_figure(tmp_path, capsys, monkeypatch):
    book = tmp_path / "book"
    book.mkdir()
    for f in ("_config.yml", "intro.md"):
        shutil.copy(ROOT / "book" / f, book / f)
    # the pages this test is about (the real book may list more)
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nparts:\n- caption: Methods\n  chapters:\n  - file: generated/world\n"
                                   "- caption: Results\n  chapters:\n  - file: generated/first_rsa\n")
    results = tmp_path / "results"
    monkeypatch.chdir(tmp_path)
    args = ["reproduce", "seed=1", f"book={book}", f"results_root={results}", f"experiments={ROOT / 'experiments'}",
            "world.n_levels=3", "world.n_subjects=2", "world.n_train_per_subject=8", "world.n_test=24",
            "world.n_voxels_early=16", "world.n_voxels_mid=16", "world.n_voxels_ventral=16"]
    assert main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    index = book / "_build" / "html" / "index.html"
    assert out.strip().endswith(f"reproduced: open {index.resolve()}") and index.exists()

    # the executed notebooks are the results, with the parameters the demo gave them
    run = find_runs("first_rsa", results)[-1]
    meta = json.loads((run / "run.json").read_text())
    assert meta["parameters"]["seed"] == 1 and meta["parameters"]["world"]["n_test"] == 24
    assert len(list((results / "worlds").iterdir())) == 1  # one world, shared by every notebook
    scores = pd.read_csv(run / "first_rsa_scores.csv")
    assert set(scores.roi) == {"early", "mid", "ventral"} and scores.subject.nunique() == 2
    assert scores.rho.between(-1, 1).all() and scores.rho.std() > 0

    # the page shows the figure (a real PNG), the table of numbers, the seed and the command
    html = (book / "_build" / "html" / "generated" / "first_rsa.html").read_text()
    imgs = re.findall(r'<img[^>]+src="([^"]+\.png)"', html)
    assert imgs, "no figure on the first_rsa page"
    png = (book / "_build" / "html" / "generated" / imgs[0]).resolve()
    with Image.open(png) as im:
        assert im.size[0] > 300 and im.size[1] > 150
        assert np.asarray(im.convert("L")).std() > 10  # not a blank image
    mean_ventral = scores[scores.roi == "ventral"].groupby("readout").rho.mean()
    assert f"{mean_ventral['conv1.post']:.3f}" in html  # the numbers behind the figure
    text = " ".join(re.sub(r"<[^>]+>", " ", html).split())
    assert "Seed 1" in text and "visreps run experiments/first_rsa.ipynb seed=1 image_size=64 arch=custom_cnn world." in text
    assert "world.n_levels=3" in text and "world.n_test=24" in text
    assert (book / "_build" / "html" / "generated" / "world.html").exists()

    # a second reproduce reuses every run (no new run folders) and still builds
    n_runs = {name: len(find_runs(name, results)) for name in ("world", "first_rsa")}
    assert main(args + ["build=false"]) == 0
    assert {name: len(find_runs(name, results)) for name in ("world", "first_rsa")} == n_runs


def test_reproduce_defaults_are_the_demo():
    cfg = ReproduceConfig()
    assert (cfg.seed, cfg.image_size, cfg.book, cfg.results_root) == (0, 64, "book", "results")
    wc = cfg.world_config()
    assert wc.n_subjects >= 2 and wc.n_test >= 100
