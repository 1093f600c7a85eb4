"""Shared fixtures. `small_reproduce`: one `reproduce` of a small book on a tiny world, shared by test_reproduce and
test_book_browser (a whole reproduce costs a minute of two cores: run it once per session)."""
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TINY_WORLD = dict(
    n_levels=3, n_subjects=2, n_train_per_subject=8, n_test=24, n_voxels_early=16, n_voxels_mid=16, n_voxels_ventral=16
)
BOOK_FILES = ("_config.yml", "intro.md", "references.bib", "bibliography.md")


def small_book(tmp_path, pages=("world", "first_rsa", "summary"), world=None, api=True):
    ("A copy of the book's front page, methods and bibliography with "
     "only the given generated pages, and a plan that makes them.")
    book = tmp_path / "book"
    book.mkdir()
    for f in BOOK_FILES:
        shutil.copy(ROOT / "book" / f, book / f)
    shutil.copytree(ROOT / "book" / "methods", book / "methods")
    shutil.copytree(ROOT / "book" / "_static", book / "_static")
    results = [dict(file=f"generated/{p}") for p in pages[1:] if p != "summary"]
    parts = [
        dict(
            caption="Methods",
            chapters=[dict(file=f"generated/{pages[0]}"), dict(file="methods/labels"), dict(file="methods/metrics")],
        ),
        dict(caption="Results", chapters=results + [dict(file="generated/summary"), dict(file="methods/reproduce")]),
    ]
    if api: parts.append(dict(caption="API reference", chapters=[dict(file="api/index")]))
    parts.append(dict(caption="References", chapters=[dict(file="bibliography")]))
    (book / "_toc.yml").write_text(yaml.safe_dump(dict(format="jb-book", root="intro", parts=parts), sort_keys=False))
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        yaml.safe_dump(
            dict(
                name="small",
                notebooks_dir=str(ROOT / "experiments"),
                timeout=600,
                defaults=dict(seed=0, image_size=64, world=dict(world or TINY_WORLD)),
                stages=[dict(name="world", notebook=pages[0]), dict(name="figures", notebooks=list(pages[1:]))],
            )
        )
    )
    return book, plan


@dataclass
class Reproduced:
    book: Path
    plan: Path
    results: Path
    html: Path
    index: Path
    log: list


def run_reproduce(tmp, seed=1, world_overrides=None, pages=("world", "first_rsa", "summary"), plan_pages=None):
    ("Make a small book with `pages` and reproduce it "
     "(visreps.app.book.reproduce) with a plan making `plan_pages` (default: all).")
    from visreps.app.book import reproduce
    from visreps.app.cli import ReproduceConfig
    book, plan = small_book(tmp, pages)
    if plan_pages is not None:  # a plan that makes fewer pages than the book has
        (tmp / "p").mkdir()
        _, plan = small_book(tmp / "p", plan_pages)
    results = tmp / "results"
    cwd = os.getcwd()
    os.chdir(tmp)
    log = []
    try:
        cfg = ReproduceConfig(
            plan=str(plan), seed=seed, book=str(book), results_root=str(results), world=dict(world_overrides or {})
        )
        index = reproduce(cfg, log=log.append)
    finally: os.chdir(cwd)
    return Reproduced(book, plan, results, book / "_build" / "html", index, log)


@pytest.fixture(scope="session")
def small_reproduce(tmp_path_factory):
    "The small book (world, first_rsa, summary pages; API reference; bibliography) reproduced once with seed 1."
    return run_reproduce(tmp_path_factory.mktemp("reproduce"), seed=1, world_overrides={"n_levels": 3})
