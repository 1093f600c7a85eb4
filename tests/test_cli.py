"""The `visreps` command: subcommand parsing, option errors, `visreps world` and `visreps run` on tiny inputs."""
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from visreps.app.cli import COMMANDS, find_runs, main, run_notebook
from visreps.data.dataset import load_dataset
from visreps.data.world import WorldConfig, make_world, world_id

ROOT = Path(__file__).resolve().parents[1]
VISREPS = str(Path(sys.executable).parent / "visreps")
TINY = ["n_levels=2", "n_subjects=2", "n_train_per_subject=4", "n_test=8", "image_size=32",
        "n_voxels_early=4", "n_voxels_mid=4", "n_voxels_ventral=4"]


def cli(*args, cwd=ROOT):
    return subprocess.run([VISREPS, *args], capture_output=True, text=True, cwd=cwd)


def helptext(capsys, *args):
    with pytest.raises(SystemExit) as e:
        main([*args, "--help"])
    assert e.value.code == 0
    return capsys.readouterr().out


def test_console_script_lists_commands_and_options(capsys):
    res = cli("--help")  # the installed console script
    assert res.returncode == 0
    for name in ("world", "run", "book", "reproduce"):
        assert name in res.stdout
    world = helptext(capsys, "world")
    # every option is listed with its default and the explanation written beside the field
    for f in WorldConfig.keys():
        assert f"  {f}=" in world, f
    assert "depth L of the category tree" in world and "folder to save the world to" in world
    assert "world.n_test=100" in helptext(capsys, "reproduce")


@pytest.mark.parametrize("args, message", [
    (["world", "n_levls=3"], "Unknown WorldJob key(s) ['n_levls']"),
    (["world", "image_size=0"], "image_size=0: expected an integer between 32 and 224"),
    (["world", "n_levels=-2"], "n_levels=-2: expected an integer between 1 and 8"),
    (["world", "targets=[early, IT]"], "unknown: ['IT']"),
    (["world", "seed=abc"], "WorldJob.seed='abc': expected an integer"),
    (["world", "n_levels"], "'n_levels' is not of the form key=value"),
    (["book", "bild=false"], "Unknown BookConfig key(s) ['bild']"),
    (["reproduce", "world.seed=3"], "set ['seed'] at the top level"),
    (["reproduce", "world.n_tset=3"], "Unknown WorldConfig key(s) ['n_tset']"),
    (["world", "--config", "/nonexistent/w.yaml"], "does not exist"),
])
def test_bad_options_give_clear_errors(args, message, capsys):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith(f"visreps {args[0]}: error:")


def test_unknown_command_is_rejected(capsys):
    with pytest.raises(SystemExit) as e:
        main(["trian"])
    assert e.value.code == 2 and "invalid choice: 'trian'" in capsys.readouterr().err


def test_world_command_saves_a_loadable_world(tmp_path, capsys):
    cfg_file = tmp_path / "w.yaml"
    cfg_file.write_text("seed: 3\nn_levels: 2\n")
    out = tmp_path / "w"
    assert main(["world", "--config", str(cfg_file), *TINY[1:], f"out={out}"]) == 0
    stdout = capsys.readouterr().out
    assert stdout.strip().endswith(str(out)) and stdout.startswith("world ")
    ds = load_dataset(out)
    # the saved world is exactly the one make_world generates in memory
    ref = make_world(config=WorldConfig.from_overrides(TINY + ["seed=3"]))
    assert ds.attrs["world_id"] == world_id(WorldConfig.from_overrides(TINY + ["seed=3"]))
    np.testing.assert_array_equal(ds.stimuli.images_for(ds.stimuli.stimulus_id), ref.stimuli.images)
    np.testing.assert_allclose(ds.get("subj02").values, ref.get("subj02").values)
    # run again: reused, not regenerated; --force regenerates
    mtime = (out / "dataset.json").stat().st_mtime_ns
    assert main(["world", "--config", str(cfg_file), *TINY[1:], f"out={out}"]) == 0
    assert (out / "dataset.json").stat().st_mtime_ns == mtime
    assert main(["world", "--force", "--config", str(cfg_file), *TINY[1:], f"out={out}"]) == 0
    assert (out / "dataset.json").stat().st_mtime_ns != mtime


def test_world_command_default_location_is_the_shared_cache(tmp_path, capsys):
    assert main(["world", *TINY, f"results_root={tmp_path}"]) == 0
    wid = world_id(WorldConfig.from_overrides(TINY))
    assert (tmp_path / "worlds" / f"world-{wid}" / "dataset.json").exists()
    assert capsys.readouterr().out.strip().endswith(str(tmp_path / "worlds" / f"world-{wid}"))


def _toy_notebook(path, body="open('out.txt', 'w').write(f'{a}-{b}')"):
    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("a = 1\nb = 'x'\nresults_root = ''", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_run_executes_once_per_setting(tmp_path, capsys):
    nb = _toy_notebook(tmp_path / "toy.ipynb")
    res_root = tmp_path / "results"
    assert main(["run", str(nb), "a=5", "--results-root", str(res_root)]) == 0
    assert capsys.readouterr().out.startswith("ran ")
    run = find_runs("toy", res_root)[-1]
    assert (run / "out.txt").read_text() == "5-x"  # the notebook ran in its run folder, with the parameter
    meta = json.loads((run / "run.json").read_text())
    assert meta["parameters"] == {"a": 5, "b": "x", "results_root": str(res_root.resolve())}
    executed = nbformat.read(run / "toy.ipynb", 4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)
    # the same setting again: skipped; another setting: a new run folder
    assert main(["run", str(nb), "a=5", "--results-root", str(res_root)]) == 0
    assert capsys.readouterr().out.startswith("already ran")
    assert run_notebook(nb, {"a": 6}, res_root) != run
    assert len(find_runs("toy", res_root)) == 2
    # no temp folders left (empty .lock files stay by design)
    assert not [p for p in (res_root / "toy").iterdir() if p.name.startswith(".") and not p.name.endswith(".lock")]


def test_run_errors(tmp_path, capsys):
    nb = _toy_notebook(tmp_path / "toy.ipynb")
    assert main(["run", str(nb), "c=1", "--results-root", str(tmp_path / "r")]) == 2
    assert (
        "toy.ipynb has no parameter(s) ['c']; its parameters are ['a', 'b', 'results_root']" in capsys.readouterr().err
    )
    assert main(["run", str(tmp_path / "missing.ipynb")]) == 2
    assert "missing.ipynb': no such file, and no experiment notebook of that name is shipped" in capsys.readouterr().err
    bad = _toy_notebook(tmp_path / "bad.ipynb", body="raise RuntimeError('boom in the notebook')")
    assert main(["run", str(bad), "--results-root", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "boom in the notebook" in err and ".failed" in err
    assert not find_runs("bad", tmp_path / "r")  # a failed run is not a finished one
    assert list((tmp_path / "r" / "bad").glob(".*.failed/bad.ipynb"))


def test_book_without_runs_says_what_to_run(tmp_path, capsys):
    book = tmp_path / "book"
    book.mkdir()
    (book / "_toc.yml").write_text("format: jb-book\nroot: intro\nchapters:\n- file: generated/first_rsa\n")
    assert main(["book", f"book={book}", f"results_root={tmp_path / 'results'}"]) == 2
    assert "run `visreps run experiments/first_rsa.ipynb`" in capsys.readouterr().err


def test_commands_are_registered_with_configs():
    for name in ("world", "run", "book", "reproduce"):
        assert name in COMMANDS and COMMANDS[name].help


def test_run_shipped_notebook_by_name_saves_its_figures(tmp_path, monkeypatch, capsys):
    "`visreps run world` from any folder runs the shipped notebook; each glued figure is also NAME.png and NAME.svg."
    import xml.etree.ElementTree as ET
    monkeypatch.chdir(tmp_path)
    world = "world={n_levels: 2, n_subjects: 1, n_train_per_subject: 8, n_test: 16, n_voxels_early: 4, " \
            "n_voxels_mid: 4, n_voxels_ventral: 4}"
    assert main(["run", "world", world, "--results-root", str(tmp_path / "r")]) == 0, capsys.readouterr().err
    (run,) = find_runs("world", tmp_path / "r")
    for name in ("world_levels", "world_voxels", "world_rdms"):
        assert (run / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert ET.parse(run / f"{name}.svg").getroot().tag == "{http://www.w3.org/2000/svg}svg"
    assert not [p for p in run.iterdir() if p.name.startswith(".")]  # no temporary left
