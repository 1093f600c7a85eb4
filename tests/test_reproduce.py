"""`visreps reproduce` on a tiny world and a small plan: the sweep's runs, then a Jupyter Book whose page shows the figure."""
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
from PIL import Image

from visreps.cli import ReproduceConfig, find_runs, main
from visreps.sweep import load_plan, read_status

ROOT = Path(__file__).resolve().parents[1]
TINY_WORLD = dict(n_levels=3, n_subjects=2, n_train_per_subject=8, n_test=24, n_voxels_early=16, n_voxels_mid=16, n_voxels_ventral=16)


def small_book(tmp_path, pages=("world", "first_rsa")):
    "A copy of the book's intro and methods with only the given generated pages, and a plan that makes them."
    book = tmp_path / "book"
    book.mkdir()
    for f in ("_config.yml", "intro.md"):
        shutil.copy(ROOT / "book" / f, book / f)
    shutil.copytree(ROOT / "book" / "methods", book / "methods")
    (book / "_toc.yml").write_text(yaml.safe_dump(dict(format="jb-book", root="intro", parts=[
        dict(caption="Methods", chapters=[dict(file=f"generated/{pages[0]}"), dict(file="methods/labels"), dict(file="methods/metrics")]),
        dict(caption="Results", chapters=[dict(file=f"generated/{p}") for p in pages[1:]] + [dict(file="methods/reproduce")])])))
    plan = tmp_path / "plan.yaml"
    plan.write_text(yaml.safe_dump(dict(name="small", notebooks_dir=str(ROOT / "experiments"), timeout=600,
                                        defaults=dict(seed=0, image_size=64, world=dict(TINY_WORLD)),
                                        stages=[dict(name="world", notebook=pages[0]), dict(name="figures", notebooks=list(pages[1:]))])))
    return book, plan


def test_reproduce_builds_a_book_with_the_figure(tmp_path, capsys, monkeypatch):
    book, plan = small_book(tmp_path)
    results = tmp_path / "results"
    monkeypatch.chdir(tmp_path)
    args = ["reproduce", f"plan={plan}", "seed=1", f"book={book}", f"results_root={results}", "world.n_levels=3"]
    assert main(args) == 0, capsys.readouterr().err
    out = capsys.readouterr().out
    index = book / "_build" / "html" / "index.html"
    assert out.strip().endswith(f"reproduced: open {index.resolve()}") and index.exists()

    # the executed notebooks are the results, with the parameters the plan and the overrides gave them
    run = find_runs("first_rsa", results)[-1]
    meta = json.loads((run / "run.json").read_text())
    assert meta["parameters"]["seed"] == 1 and meta["parameters"]["world"]["n_test"] == 24 and meta["stage"] == "figures"
    assert read_status(run)["status"] == "done"
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
    assert "synthetic" in (book / "_build" / "html" / "methods" / "reproduce.html").read_text()

    # a second reproduce reuses every run (no new run folders) and still builds
    n_runs = {name: len(find_runs(name, results)) for name in ("world", "first_rsa")}
    assert main(args + ["build=false"]) == 0
    assert {name: len(find_runs(name, results)) for name in ("world", "first_rsa")} == n_runs


def test_reproduce_refuses_a_book_the_plan_does_not_make(tmp_path, capsys):
    book, plan = small_book(tmp_path)
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: generated/world\n- file: generated/fig_rsa\n")
    assert main(["reproduce", f"plan={plan}", f"book={book}", f"results_root={tmp_path / 'r'}"]) == 2
    assert "the book's pages ['fig_rsa'] are not produced by plan 'small'" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # refused before any work


def test_reproduce_defaults_are_the_demo():
    cfg = ReproduceConfig()
    assert (cfg.plan, cfg.book, cfg.results_root, cfg.workers) == ("demo", "book", "results", 2)
    wc = cfg.world_config()
    assert wc.n_subjects >= 2 and wc.n_test >= 100 and wc.image_size == 64 and wc.seed == 0
    d = load_plan("demo").defaults
    assert d["width"] == 0.25 and d["image_size"] == 64
