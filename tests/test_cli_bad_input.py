"""Bad input to every `visreps` command, as a table: each case exits with status 2 and one line
`visreps CMD: error: ...` that names the culprit (the file, key or value), without a traceback; and every
command's documented defaults work (`dataset="world"` included)."""
import dataclasses

import pytest

from visreps.app.cli import COMMANDS, main, parse_config
from visreps.data.world import make_world

TINY = dict(n_levels=2, n_subjects=1, n_train_per_subject=24, n_test=16, image_size=64,
            n_voxels_early=4, n_voxels_mid=4, n_voxels_ventral=4)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    r = tmp_path_factory.mktemp("bad")
    make_world(0, **TINY).save(r / "w")
    (r / "list.yaml").write_text("- a\n- b\n")
    (r / "empty_list.yaml").write_text("[]\n")
    (r / "bad.csv").write_text("x,y\n1,2\n")
    (r / "corrupt.pt").write_bytes(b"not a checkpoint")
    (r / "broken.ipynb").write_text('{"cells": [')
    (r / "notds").mkdir()
    (r / "notds" / "chapter1.tex").write_text("x")
    from visreps.models.zoo import build_model, save_checkpoint
    from visreps.core.storage import record_checksum

    ck = save_checkpoint(
        r / "run" / "checkpoints" / "epoch_0001.pt", build_model("custom_cnn", 4, width=0.25, image_size=64), epoch=1
    )
    record_checksum(ck)  # as training does; then one byte flips (the file still loads)
    b = bytearray(ck.read_bytes()); b[len(b) // 2] ^= 0xFF; ck.write_bytes(bytes(b))
    import shutil, xarray as xr
    shutil.copytree(r / "w", r / "nan")  # the world with one NaN response
    nc = r / "nan" / "responses_subj01.nc"
    da = xr.load_dataarray(nc)
    da.values[0, 0] = float("nan")
    nc.unlink(); da.to_netcdf(nc)
    return r


from cli_run import run  # visreps ARGV in this process, output captured


def EV(r):
    return [f"dataset={r / 'w'}", "width=0.25", "n_classes=4", "n_select=16", "n_boot=5", "device=cpu",
            f"results_root={r / 'res'}", "analyses=[rsa]"]


# (command, arguments given the fixture folder, text the message must contain: the culprit)
CASES = [
    ("world", lambda r: ["n_levls=2"], "'n_levls'"),
    ("world", lambda r: ["image_size=0"], "image_size=0"),
    ("world", lambda r: ["--config", str(r / "list.yaml")], "list.yaml' must hold a mapping"),
    ("world", lambda r: ["--config", str(r / "empty_list.yaml")], "empty_list.yaml' must hold a mapping"),
    ("world", lambda r: ["--config", str(r / "missing.yaml")], "missing.yaml' does not exist"),
    ("world", lambda r: ["name=../../evil", f"results_root={r / 'wr'}"], "name='../../evil'"),
    (
        "world",
        lambda r: [f"out={r / 'notds'}", *[f"{k}={v}" for k, v in TINY.items()]],
        "notds' is not empty and not a visreps data set",
    ),
    ("eval", lambda r: EV(r) + ["subjects=[subj09]"], "subjects=['subj09']"),
    ("eval", lambda r: EV(r) + ["targets=[V9]"], "targets=['V9']"),
    ("eval", lambda r: EV(r) + ["readouts=[fc9]"], "['fc9']"),
    ("eval", lambda r: EV(r) + ["device=gpu0"], "device='gpu0'"),
    ("eval", lambda r: EV(r) + ["model_name=../../evil"], "model_name='../../evil'"),
    ("eval", lambda r: EV(r) + ["analyses=[psl]"], "analyses=['psl']"),
    ("eval", lambda r: EV(r) + ["n_boot=many"], "n_boot='many'"),
    ("eval", lambda r: EV(r) + ["ceiling_splits=3"], "did you mean 'n_ceiling_splits'"),
    ("eval", lambda r: EV(r) + ["analyses=[pca_reconstruction]", "pca_ks=[500]"], "pca_ks=[500]"),
    (
        "eval",
        lambda r: [a for a in EV(r) if not a.startswith("n_select")] + ["n_select=5", "analyses=[pls]"],
        "n_select=5",
    ),
    ("eval", lambda r: EV(r) + [f"checkpoint={r / 'missing.pt'}"], "missing.pt"),
    ("eval", lambda r: EV(r) + [f"checkpoint={r / 'corrupt.pt'}"], "corrupt.pt"),
    (
        "eval",
        lambda r: EV(r) + [f"checkpoint={r / 'run' / 'checkpoints' / 'epoch_0001.pt'}"],
        "epoch_0001.pt' does not match its checksum",
    ),
    ("eval", lambda r: EV(r)[1:] + [f"dataset={r / 'nowhere'}"], "nowhere"),
    ("eval", lambda r: EV(r)[1:] + [f"dataset={r / 'nan'}"], "responses_subj01.nc: 1 non-finite values"),
    (
        "train",
        lambda r: [f"dataset={r / 'w'}", f"labels={r / 'bad.csv'}", "n_classes=4", f"out_dir={r / 't'}"],
        "bad.csv",
    ),
    ("train", lambda r: [f"dataset={r / 'w'}", "labels=column:nope", f"out_dir={r / 't'}"], "labels='column:nope'"),
    ("train", lambda r: ["epochs=two"], "epochs='two'"),
    ("labels", lambda r: [f"dataset={r / 'w'}", "readout=fc9", f"out_dir={r / 'l'}"], "['fc9']"),
    ("labels", lambda r: ["granularities=[1]"], "n_classes=1"),
    ("bank", lambda r: [f"bank={r / 'missing.yaml'}"], "missing.yaml"),
    ("bank", lambda r: ["analyses=[x]"], "analyses=['x']"),
    ("sweep", lambda r: [str(r / "nope.yaml")], "nope.yaml"),
    (
        "sweep",
        lambda r: [str(r / "nope.yaml")],
        "(shipped: ['demo'",
    ),  # the shipped plans, not the yaml files beside the path
    ("sweep", lambda r: ["demo", "epochz=1", "--dry-run"], "epochz"),
    ("run", lambda r: [str(r / "nope.ipynb")], "nope.ipynb"),
    ("run", lambda r: [str(r / "broken.ipynb")], "broken.ipynb"),
    ("run", lambda r: ["fig_rs"], "did you mean 'fig_rsa'?); shipped: fig_rsa, "),  # a shipped name, mistyped
    ("book", lambda r: [f"book={r / 'nowhere'}"], "nowhere"),
    ("reproduce", lambda r: ["plan=nope"], "plan 'nope'"),
    ("reproduce", lambda r: ["executor=x"], "executor='x'"),
    ("runs", lambda r: ["--results-root", str(r / "no_results")], "no_results"),
    ("results", lambda r: ["--results-root", str(r / "no_results")], "no_results"),
    ("results", lambda r: ["--results-root", str(r), "colour=red"], "colour"),
]
import torch
if not torch.cuda.is_available():  # device=cuda on a machine without a GPU
    CASES += [
        (c, a, "device='cuda' was requested but CUDA is not available")
        for c, a in [
            (
                "eval",
                lambda r: (
                    [x for x in EV(r) if x not in ("device=cpu", f"results_root={r / 'res'}")]
                    + ["device=cuda", f"results_root={r / 'rc'}"]
                ),
            ),
            (
                "train",
                lambda r: [f"dataset={r / 'w'}", "n_classes=4", "epochs=1", "device=cuda", f"out_dir={r / 'tc'}"],
            ),
            (
                "labels",
                lambda r: [
                    f"dataset={r / 'w'}",
                    "width=0.25",
                    "n_classes=4",
                    "granularities=[2]",
                    "device=cuda",
                    f"out_dir={r / 'lc'}",
                ],
            ),
        ]
    ]


def test_every_command_has_bad_input_cases():
    assert {c for c, _, _ in CASES} == set(COMMANDS)


@pytest.mark.parametrize("cmd,args,culprit", CASES, ids=[f"{c}-{i}" for i, (c, _, _) in enumerate(CASES)])
def test_bad_input_is_one_sentence_naming_the_culprit(files, cmd, args, culprit):
    rc, out, err = run([cmd, *args(files)])
    assert rc == 2, (rc, out, err)
    last = err.strip().splitlines()[-1]  # (progress bars may come first)
    assert last.startswith(f"visreps {cmd}: error: "), err
    assert culprit in last, err
    assert "Traceback" not in err
    assert "--debug shows" not in last, "every bad input is one of the user-facing family"


def test_debug_shows_the_traceback(files):
    with pytest.raises(Exception, match="n_boot='many'"):
        main(["eval", *EV(files), "n_boot=many", "--debug"])


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_documented_defaults_are_valid(name):
    "Every command's config builds from its defaults alone; a dataset default names a source the registry knows."
    from visreps.data.sources import SOURCES, parse_source
    cmd = COMMANDS[name]
    if cmd.free_overrides: return
    cfg = parse_config(cmd.config, None, [])
    for f in dataclasses.fields(cfg):
        if f.name in ("dataset", "data") and isinstance(getattr(cfg, f.name), str):
            assert parse_source(getattr(cfg, f.name))[0] in SOURCES


def test_default_dataset_world_works_for_eval(tmp_path):
    "`dataset` left at its default ('world'), sized down through dataset_options."
    opts = [f"dataset_options.{k}={v}" for k, v in TINY.items()]
    rc, out, err = run(["eval", *opts, "width=0.25", "n_classes=4", "n_select=16", "n_boot=5", "device=cpu",
                        "analyses=[rsa]", "image_size=64", f"results_root={tmp_path}"])
    assert rc == 0, err
    assert "1 run(s) written" in out


def test_default_dataset_world_works_for_train_and_labels(tmp_path):
    ("`dataset` left at its default ('world') for `visreps labels` "
     "and `visreps train`, sized down through dataset_options.")
    opts = [f"dataset_options.{k}={v}" for k, v in TINY.items()]
    rc, out, err = run(
        [
            "labels",
            *opts,
            "width=0.25",
            "n_classes=4",
            "granularities=[2]",
            "device=cpu",
            "image_size=64",
            f"out_dir={tmp_path / 'labels'}",
        ]
    )
    assert rc == 0, err
    assert (tmp_path / "labels" / "pca_labels_2.csv").exists()
    rc, out, err = run(
        [
            "train",
            *opts,
            "width=0.125",
            "n_classes=2",
            "epochs=1",
            "batch_size=16",
            "device=cpu",
            "image_size=64",
            "progress=false",
            f"labels={tmp_path / 'labels' / 'pca_labels_2.csv'}",
            f"out_dir={tmp_path / 'train'}",
        ]
    )
    assert rc == 0, err
    assert (tmp_path / "train" / "checkpoints" / "last.pt").exists()


def test_ctrl_c_is_one_line_and_status_130(monkeypatch):
    ("Ctrl-C in any command (a sweep raises KeyboardInterrupt once "
     "its runs are stopped): one line, exit status 130, no traceback.")
    def stopped(cfg, args): raise KeyboardInterrupt("sweep demo stopped by SIGINT")
    monkeypatch.setattr(COMMANDS["runs"], "func", stopped)
    rc, out, err = run(["runs"])
    assert rc == 130, err
    assert (
        err.strip()
        == "visreps runs: interrupted (sweep demo stopped by SIGINT); finished work is kept, rerun to continue"
    )
    with pytest.raises(KeyboardInterrupt):
        main(["runs", "--debug"])
