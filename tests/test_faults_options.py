"""Issue 25: options are read as typed and every YAML read is bounded.

A string option keeps the text as typed (YAML 1.1 reads `2024_12_07` as 20241207, `0123` as octal 83, `12:30` as 750);
an alias bomb in a config file, a plan or a value is refused at once, naming the file."""
import time

import pytest

from visreps.app.cli import parse_config

WO = ["n_levels=3", "n_subjects=2", "n_train_per_subject=40", "n_test=20", "image_size=32",
      "n_voxels_early=16", "n_voxels_mid=16", "n_voxels_ventral=16"]


from cli_run import run  # visreps ARGV in this process, output captured


def bomb(levels=9):
    "The billion laughs as one flow list: `levels` lists of ten aliases of the list before (10**levels values)."
    names = [chr(97 + i) for i in range(levels)]
    return ("[&a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol], "
            + "".join(f"&{n} [{', '.join(['*' + p] * 10)}], " for p, n in zip(names, names[1:]))
            + f"[{', '.join(['*' + names[-1]] * 10)}]]")


def test_world_out_is_the_folder_as_typed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rc, out, err = run(["world", "out=2024_12_07", *WO])
    assert rc == 0, err
    assert (tmp_path / "2024_12_07" / "dataset.json").exists() and not (tmp_path / "20241207").exists()


@pytest.mark.parametrize("text", ["0123", "2024_12_07", "12:30", "1.50", "0x1F"])
def test_string_options_keep_the_text(text):
    from visreps.study.evaluate import EvalConfig
    cfg = parse_config(EvalConfig, None, [f"model_name=m{text}" if ":" in text else f"model_name={text}",
                                          f"results_root={text}"])
    assert cfg.results_root == text
    assert cfg.model_name in (text, f"m{text}")


def test_numbers_are_decimal():
    from visreps.app.cli import WorldJob
    assert parse_config(WorldJob, None, ["seed=0123"]).seed == 123
    assert parse_config(WorldJob, None, ["noise=1.50"]).noise == 1.5
    rc, out, err = run(["world", "seed=12:30"])
    assert rc == 2 and "seed='12:30': expected an integer" in err


@pytest.mark.parametrize("where", ["config", "plan", "value"])
def test_alias_bomb_fails_at_once_naming_the_file(tmp_path, where):
    f = tmp_path / "bomb.yaml"
    f.write_text(f"targets: {bomb()}\n" if where == "config" else f"name: p\nstages: []\ndefaults:\n  seed: {bomb()}\n")
    argv = {"config": ["world", "--config", str(f)],
            "plan": ["sweep", str(f), "--dry-run", f"--results-root={tmp_path / 'r'}"],
            "value": ["sweep", "demo", "--dry-run", f"--results-root={tmp_path / 'r'}", f"seed={bomb(6)}"]}[where]
    t = time.perf_counter()
    rc, out, err = run(argv)
    assert time.perf_counter() - t < 5
    assert rc == 2 and "values once its aliases (*name) are expanded" in err, err
    if where != "value": assert "bomb.yaml" in err


def test_plans_with_anchors_still_load(tmp_path):
    from visreps.core.config import load_yaml
    want = {"x": {"n": 1}, "y": {"n": 1}, "z": {"n": 1, "m": 2}}
    assert load_yaml("x: &a {n: 1}\ny: *a\nz: {<<: *a, m: 2}\n", "t") == want


@pytest.mark.parametrize("seed", ["-1", "123456789012345678901"])
def test_a_bad_seed_names_the_key(seed):
    rc, out, err = run(["world", f"seed={seed}", *WO])
    assert rc == 2 and f"WorldJob.seed={seed}: expected a seed, an integer from 0 to 2**63 - 1" in err, err


@pytest.mark.parametrize("key", ["subjects", "targets", "readouts"])
def test_an_empty_subset_is_not_all(key):
    from visreps.core.config import ConfigError
    from visreps.study.evaluate import EvalConfig
    with pytest.raises(ConfigError, match=rf"EvalConfig.{key}=\[\]: expected at least one value"):
        parse_config(EvalConfig, None, ["dataset=world", f"{key}=[]"])


def test_book_runs_of_an_unknown_page_name_the_pages(tmp_path):
    book = tmp_path / "book"
    book.mkdir()
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n"
                                   "- file: generated/first_rsa\n- file: generated/world\n")
    rc, out, err = run(["book", f"book={book}", f"results_root={tmp_path / 'res'}", "build=false",
                        "runs.frist_rsa=somewhere"])
    assert rc == 2, err
    assert "runs.frist_rsa='somewhere': the book has no page 'frist_rsa' (did you mean 'first_rsa'?)" in err
    assert "['first_rsa', 'world']" in err


def test_sweep_dry_run_checks_the_world(tmp_path):
    rc, out, err = run(["sweep", "demo", "--dry-run", f"--results-root={tmp_path / 'r'}", "world.n_test=0"])
    assert rc == 2 and "n_test=0: expected a positive integer" in err, err


def test_sweep_override_reaches_runs_whose_stage_sets_the_key():
    from visreps.app.sweep import expand_plan, load_plan
    specs = expand_plan(load_plan("demo", ["eval_options.n_boot=50", "image_size=32"]), "/nonexistent/results")
    ev = [s for s in specs if s.stage == "evaluate"]
    assert len(ev) == 24 and {s.parameters["eval_options"]["n_boot"] for s in ev} == {50}
    assert sum(s.parameters["eval_options"].get("projection") == 512 for s in ev) == 8  # the block's other keys stay
    assert {s.parameters["image_size"] for s in specs if "image_size" in s.parameters} == {32}
    # a notebook's own override (reproduce's params.<notebook>) is more specific than the plan-wide one
    plan = load_plan("demo", ["image_size=32"], notebook_params={"real92_rsa": {"image_size": None}})
    specs = expand_plan(plan, "/nonexistent/results")
    assert [s.parameters["image_size"] for s in specs if s.name == "real92_rsa"] == [None]


def test_sweep_override_of_a_grid_axis_names_the_stage(tmp_path):
    rc, out, err = run(["sweep", "demo", "--dry-run", f"--results-root={tmp_path / 'r'}", "model=fine"])
    assert rc == 2 and "override model='fine': stage 'evaluate' runs over model=" in err and "8 run(s)" in err, err


@pytest.fixture(scope="module")
def small_world(tmp_path_factory):
    d = tmp_path_factory.mktemp("small")
    assert run(["world", f"out={d / 'w'}", *WO])[0] == 0
    return d / "w"


@pytest.mark.parametrize("how", ["arch", "alexnet", "checkpoint"])
def test_an_image_size_below_the_architecture_minimum_is_refused_before_anything_is_written(small_world, tmp_path,
                                                                                           how):
    from visreps.models.zoo import build_model, save_checkpoint
    model = ["arch=alexnet"] if how == "alexnet" else ["width=0.25"]
    if how == "checkpoint":  # the architecture is known only once the checkpoint is read
        model = [f"checkpoint={save_checkpoint(tmp_path / 'net.pt', build_model('custom_cnn', 8, width=0.25))}"]
    rc, _, err = run(["eval", f"dataset={small_world}", *model, "image_size=32", "device=cpu", "analyses=[rsa]",
                      f"results_root={tmp_path / 'S'}"])
    arch = "alexnet" if how == "alexnet" else "custom_cnn"
    assert rc == 2 and f"image_size=32: arch='{arch}' takes images of at least 63x63 px" in err, err
    assert not (tmp_path / "S").exists()  # no empty features folder left


def test_train_refuses_an_image_size_below_the_architecture_minimum(small_world, tmp_path):
    rc, _, err = run(["train", f"dataset={small_world}", "width=0.25", "image_size=32", "epochs=1", "device=cpu",
                      f"out_dir={tmp_path / 'T'}"])
    assert rc == 2 and "TrainRunConfig.image_size=32: arch='custom_cnn' takes images of at least 63x63 px" in err, err
    assert not (tmp_path / "T").exists()
