"""`reproduce` on a tiny world and a small plan: the sweep's runs, then a Jupyter Book (built with -W) whose pages show
the figures with numbers and captions, the tables behind them as CSV files, paths relative to the results root, an
abstract quoting the run's own numbers, and the API reference. The reproduce itself is the session fixture
`small_reproduce` (tests/conftest.py), shared with test_book_browser."""
import json
import shutil
import re
from pathlib import Path

import numpy as np
import pandas as pd
import yaml
import pytest
from PIL import Image

from conftest import ROOT, TINY_WORLD, run_reproduce, small_book
from visreps.app.cli import ReproduceConfig, find_runs
from visreps.core.config import ConfigError
from visreps.app.sweep import load_plan, read_status


def text_of(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def pasted(html: str) -> list[str]:
    "The values myst-nb pasted into a page ({glue:text} roles), in order."
    return re.findall(r'<span class="pasted-text">([^<]*)</span>', html)


def test_reproduce_builds_a_book_with_the_figure(small_reproduce):
    r = small_reproduce
    assert r.index == r.html / "index.html" and r.index.exists()
    # the executed notebooks are the results, with the parameters the plan and the overrides gave them
    run = find_runs("first_rsa", r.results)[-1]
    meta = json.loads((run / "run.json").read_text())
    assert (
        meta["parameters"]["seed"] == 1 and meta["parameters"]["world"]["n_test"] == 24 and meta["stage"] == "figures"
    )
    assert read_status(run)["status"] == "done"
    # one world, shared by every notebook
    assert len([w for w in (r.results / "worlds").iterdir() if not w.name.startswith(".")]) == 1
    scores = pd.read_csv(run / "first_rsa_scores.csv")
    assert set(scores.target) == {"early", "mid", "ventral"} and scores.subject.nunique() == 2
    assert scores.rho.between(-1, 1).all() and scores.rho.std() > 0

    # the page shows the figure (a real PNG) with its number and caption, the table of numbers, the seed and the command
    html = (r.html / "generated" / "first_rsa.html").read_text()
    imgs = re.findall(r'<img[^>]+src="([^"]+\.png)"', html)
    assert imgs, "no figure on the first_rsa page"
    with Image.open((r.html / "generated" / imgs[0]).resolve()) as im:
        assert im.size[0] > 300 and im.size[1] > 150
        assert np.asarray(im.convert("L")).std() > 10  # not a blank image
    mean_ventral = scores[scores.target == "ventral"].groupby("readout").rho.mean()
    assert f"{mean_ventral['conv1.post']:.3f}" in html  # the numbers behind the figure
    text = text_of(html)
    assert re.search(r"Figure \d+ An untrained network against the simulated regions\.", text), (
        "figure without number or caption"
    )
    assert re.search(r"One bar per readout point and region \( Figure \d+ \)", text)  # cross-referenced from the text
    best = mean_ventral.idxmax()
    assert ("the best readout "
            f"point is {best} (") in text and f"{mean_ventral.max():.3f}" in text  # glued into the caption
    assert (
        "Seed 1" in text
        and "visreps run experiments/first_rsa.ipynb seed=1 image_size=64 arch=custom_cnn world." in text
    )
    assert "world.n_levels=3" in text and "world.n_test=24" in text
    assert "synthetic" in (r.html / "methods" / "reproduce.html").read_text()

    # the table behind the figure is downloadable, and is the run's file
    links = re.findall(r'href="([^"]+first_rsa_scores\.csv)"', html)
    assert links, "no download link to first_rsa_scores.csv"
    assert (r.html / "generated" / links[0]).resolve().read_bytes() == (run / "first_rsa_scores.csv").read_bytes()

    # the provenance note names the notebook, the run and the parameters, with paths relative to the results root
    assert f"as run {run.relative_to(r.results).as_posix()} of the results root" in text
    for page in r.html.rglob("*.html"):
        assert str(r.results) not in page.read_text() and str(r.results.parent) not in page.read_text(), page
    assert str(ROOT) not in (r.html / "generated" / "world.html").read_text()


def test_front_page_quotes_the_runs_numbers(small_reproduce):
    r = small_reproduce
    numbers = pd.read_csv(find_runs("summary", r.results)[-1] / "summary_numbers.csv").set_index("key").value
    shown = pasted((r.html / "intro.html").read_text())
    assert shown[:8] == [numbers[k] for k in ("n_subjects", "n_test", "n_levels", "n_classes", "regions", "seed",
                                               "untrained_best_readout", "top_region")]
    assert shown[:2] == ["2", "24"] and shown[5] == "1"  # the tiny world of this run, seed 1
    assert shown[8] == f"{float(numbers['untrained_best_rho']):.3f}"
    assert "trained and evaluated no networks" in shown[9]  # this plan has no evaluation stage: the abstract says so
    assert (
        shown[10:12] == [numbers["published_ed_n"], f"{float(numbers['published_ed_r']):.3f}"] and shown[11] == "0.588"
    )
    assert shown[12:] == [numbers["real_sentences"]] and ("no real "
                                                          "stage") in shown[12]  # this plan has no real stage: said so
    text = text_of((r.html / "intro.html").read_text())
    assert "{glue" not in text and "summary.ipynb::" not in text
    # the untrained network's number is the one the first_rsa page computes for the same world and network
    scores = pd.read_csv(find_runs("first_rsa", r.results)[-1] / "first_rsa_scores.csv")
    best = scores[scores.target == "ventral"].groupby("readout").rho.mean()
    assert (
        numbers["untrained_best_readout"] == best.idxmax()
        and abs(float(numbers["untrained_best_rho"]) - best.max()) < 1e-9
    )


def test_a_second_world_rewrites_the_front_page(small_reproduce, tmp_path):
    ("Same book, another world (seed 2, 32 test images): the abstract's "
     "numbers follow the run; a plan without first_rsa still builds.")
    other = run_reproduce(
        tmp_path, seed=2, world_overrides={"n_levels": 3, "n_test": 32}, plan_pages=("world", "summary")
    )
    first = pasted((small_reproduce.html / "intro.html").read_text())
    second = pasted((other.html / "intro.html").read_text())
    assert len(first) == len(second) >= 8
    assert first != second
    numbers = pd.read_csv(find_runs("summary", other.results)[-1] / "summary_numbers.csv").set_index("key").value
    assert second[1] == numbers["n_test"] == "32" and second[5] == numbers["seed"] == "2"
    assert second[8] == f"{float(numbers['untrained_best_rho']):.3f}" != first[8]
    assert not (other.html / "generated" / "first_rsa.html").exists() # left out of the build: the plan does not make it
    assert any("makes no ['first_rsa']" in m for m in other.log)
    assert (other.html / "generated" / "summary.html").exists()


def test_api_reference_pages(small_reproduce):
    api = small_reproduce.html / "api"
    pages = {p.stem for p in api.glob("*.html")}
    assert {"index", "metrics_rsa", "app_sweep", "app_book", "data_loaders_nsd", "core_config"} <= pages
    from visreps.app.book import notebook_module

    assert len(pages) - 1 == sum(
        notebook_module(json.loads(p.read_text())) is not None for p in (ROOT / "nbs").rglob("*.ipynb")
    )
    index = text_of((api / "index.html").read_text())
    assert "visreps.metrics.rsa" in index and "nbs/metrics/30_rsa.ipynb" in index
    rsa = (api / "metrics_rsa.html").read_text()
    text = text_of(rsa)
    assert "Module visreps.metrics.rsa ; source: the literate notebook nbs/metrics/30_rsa.ipynb" in text
    assert re.search(r"def\s+compute_rdm", text) and "#|" not in rsa  # the exported source, without nbdev directives
    # the methods page links each module to its API page
    metrics = (small_reproduce.html / "methods" / "metrics.html").read_text()
    assert 'href="../api/metrics_rsa.html"' in metrics and 'href="../api/metrics_encoding.html"' in metrics


def test_reproduce_refuses_a_book_whose_front_page_the_plan_cannot_make(tmp_path):
    from visreps.app.book import reproduce
    book, plan = small_book(tmp_path, ("world", "first_rsa"))
    (tmp_path / "p").mkdir()
    _, plan = small_book(tmp_path / "p", ("world", "first_rsa"))
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: intro\nchapters:\n- file: generated/world\n- file: generated/summary\n"
    )
    cfg = ReproduceConfig(plan=str(plan), book=str(book), results_root=str(tmp_path / "r"))
    with pytest.raises(ConfigError, match=r"the book's pages \['summary'\] are required"):
        reproduce(cfg)
    assert not (tmp_path / "r").exists()  # refused before any work


def test_reproduce_defaults_are_the_demo():
    cfg = ReproduceConfig()
    assert (cfg.plan, cfg.book, cfg.results_root, cfg.workers) == ("demo", "book", "results", 2)
    wc = cfg.world_config()
    assert wc.n_subjects >= 2 and wc.n_test >= 100 and wc.image_size == 64 and wc.seed == 0
    d = load_plan("demo").defaults
    assert d["width"] == 0.25 and d["image_size"] == 64


def test_the_demo_plan_makes_every_page_of_the_book():
    from visreps.app.book import book_pages, plan_notebooks
    made, left_out = book_pages(ROOT / "book", plan_notebooks(load_plan("demo")))
    # other helpers' parts, made by their own plans
    real = [p for p in left_out if p.startswith(("real92_", "closest_"))]
    assert [p for p in left_out if p not in real] == [] and "summary" in made and "fig_rsa" in made


# ---- the paper plan's structure on a miniature stand-in (issue 14 section 7) ----

def miniature_paper_plan(tmp: Path) -> Path:
    """plans/paper.yaml with its stages, notebooks, dependencies, run names and templates kept, and its data and sizes
    replaced: the synthetic world for ImageNet and NSD, label files written for the world's training images, one label
    source x one granularity x one seed, 1 epoch, a tiny model bank; the figures stage gains the summary page (when the
    plan lacks it); the stages on data sets the world cannot stand in for are left out."""
    from visreps.core.config import make_rng
    from visreps.data.world import WorldConfig, sample_design
    paper = yaml.safe_load((ROOT / "plans" / "paper.yaml").read_text())
    world, n_images = dict(TINY_WORLD, n_train_per_subject=32), 64  # enough selection stimuli for 4 PLS folds
    paper["name"] = "paper-miniature"
    paper["notebooks_dir"] = str(ROOT / "experiments")
    paper["timeout"] = 900
    paper.pop("slurm", None)
    paper["defaults"].update(
        seed=0,
        image_size=64,
        world=world,
        imagenet="world",
        label_dir=str(tmp / "labels"),
        nsd="world",
        width=0.25,
        epochs=1,
        checkpoint_every=1,
        device="cpu",
        n_images=n_images,
    )
    # stages on data with no stand-in here (NSD-synthetic, TVSD,
    core = ("train", "train_fine", "evaluate", "bank", "figures")
    paper["stages"] = [s for s in paper["stages"] if s["name"] in core]  # BrainIO) are left out
    for s in paper["stages"]: s["after"] = [a for a in s.get("after", []) if a in core]
    st = {s["name"]: s for s in paper["stages"]}
    assert set(st) == set(core), f"plans/paper.yaml lost a stage the miniature needs: {sorted(set(core) - set(st))}"
    st["train"]["grid"] = dict(label_source=["alexnet"], n_classes=[2], train_seed=[1])
    # the world's fine classes stand in for ImageNet's 1000
    st["train_fine"]["params"]["n_classes"] = 2 ** world["n_levels"]
    st["train_fine"]["grid"] = dict(train_seed=[1])
    ev = st["evaluate"]
    ev["params"].update(
        width=0.25,
        n_classes=2 ** world["n_levels"],
        eval_options=dict(
            n_boot=20, pca_n_boot=0, projection=64, fit_projection=64, device="cpu", n_ceiling_splits=2, pls_folds=4
        ),
    )
    ev["matrix"][0]["grid"] = dict(model=["alexnet-pca2-s1", "imagenet1000-s1"], epoch=[0, 1])
    ev["matrix"][1]["grid"] = dict(untrained_seed=[1])
    bank = tmp / "bank.yaml"
    bank.write_text(
        yaml.safe_dump(
            dict(
                name="miniature",
                defaults=dict(source="visreps-world"),
                models=[
                    dict(
                        name="trained",
                        checkpoints="{train_dir}/*/checkpoints/epoch_*.pt",
                        task="{run}",
                        kind="Supervised",
                        epochs=[-1],
                    ),
                    dict(name="untrained-customcnn", arch="custom_cnn", width=0.25, n_classes=8, seeds=[0]),
                ],
            )
        )
    )
    st["bank"]["params"].update(bank=str(bank), n_images=40,
                                study=dict(poolings=["max"], pls_components=2, pls_folds=2, analyses=["encoding_pls"]))
    if "summary" not in st["figures"]["notebooks"]: st["figures"]["notebooks"].append("summary")
    # the label files the paper's train stage reads: image,pca_label
    # for the world's training draw (as train.ipynb draws it)
    seed = int(make_rng(0, "training_images").integers(2 ** 31))
    design = sample_design(
        WorldConfig.from_dict(
            {**world, "seed": seed, "image_size": 64, "n_subjects": 1, "n_train_per_subject": 0, "n_test": n_images}
        )
    )
    f = tmp / "labels" / "alexnet" / "pca_labels_2.csv"
    f.parent.mkdir(parents=True)
    f.write_text(
        "image,pca_label\n"
        + "".join(f"{i},{c % 2}\n" for i, c in zip(design.stimulus_id.astype(str), design.category.values))
    )
    plan = tmp / "paper-miniature.yaml"
    plan.write_text(yaml.safe_dump(paper, sort_keys=False))
    return plan


def test_the_paper_plan_renders_its_book(tmp_path, monkeypatch):
    ("The paper plan's structure (its run names, stages and figure pages) "
     "through to a built book with the real book's table of contents.")
    from visreps.app.book import reproduce
    plan = miniature_paper_plan(tmp_path)
    book = tmp_path / "book"
    shutil.copytree(ROOT / "book", book, ignore=shutil.ignore_patterns("_build", "generated", "api"))
    monkeypatch.chdir(tmp_path)
    log = []
    index = reproduce(
        ReproduceConfig(plan=str(plan), book=str(book), results_root=str(tmp_path / "results")), log=log.append
    )
    html = index.parent
    assert index.exists()
    for page in ("fig_rsa", "fig_encoding", "fig_pca_control", "fig_pls", "ed_reference", "summary"):
        assert (html / "generated" / f"{page}.html").exists(), page
    assert not (html / "generated" / "world.html").exists()  # not made by the paper plan: left out of its book
    assert any("left out of this build" in m for m in log)
    rsa = pd.read_csv(find_runs("fig_rsa", tmp_path / "results")[-1] / "fig_rsa_granularity.csv")
    # found by their number of classes, not by the demo's run names
    assert set(rsa.granularity) == {"untrained", "2", "fine (8)"}
    text = text_of((html / "generated" / "fig_rsa.html").read_text())
    assert re.search(r"Figure \d+ RSA by granularity and region\.", text)
    intro = pasted((html / "intro.html").read_text())
    assert any("3 networks" in p for p in intro)  # the abstract speaks of this run's trained networks
