("Sweeps: timeouts kill the kernel, submitit executors, the "
 "`visreps sweep` command, and the shipped plans expand as designed.")
import collections
import json
import os
import time
from pathlib import Path

import psutil
import pytest
import yaml

from visreps.app.cli import main
from visreps.app.sweep import expand_plan, load_plan, read_status, run_dir_for, run_notebook, run_sweep, CommandError

from toy_data import toy_notebook

ROOT = Path(__file__).resolve().parents[1]


def toy(path, body, params="a = 1\nb = 'x'\nresults_root = ''"):
    return toy_notebook(path, body, params)


def test_timeout_kills_the_run_and_its_kernel(tmp_path):
    nb = toy(
        tmp_path / "hang.ipynb",
        "import os, time\nopen(os.path.join(results_root, 'kernel.pid'), 'w').write(str(os.getpid()))\ntime.sleep(300)",
    )
    t0 = time.time()
    with pytest.raises(CommandError, match="timed out after 10 s"):
        run_notebook(nb, {}, tmp_path / "res", timeout=10)
    assert time.time() - t0 < 60
    pid = int((tmp_path / "res" / "kernel.pid").read_text())
    deadline = time.time() + 10
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE and time.time() < deadline:
        time.sleep(0.2)
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, (
        "the kernel outlived the timeout"
    )
    st = read_status(run_dir_for(nb, {}, tmp_path / "res"))
    assert st["status"] == "failed" and st["timeout"] == 10 and "timed out" in st["error"]
    assert Path(st["log"]).exists()


@pytest.mark.parametrize("executor", ["submitit-local", "submitit-debug"])
def test_submitit_executors_run_the_same_runs(tmp_path, executor):
    toy(tmp_path / "a.ipynb", "assert a != 2, 'two is refused'\nopen('out.txt', 'w').write(str(a * 10))")
    plan = load_plan(
        dict(name="sub", timeout=120, stages=[dict(name="s", notebook="a", grid={"a": [1, 2, 3]})]),
        notebooks_dir=tmp_path,
    )
    summ = run_sweep(plan, tmp_path / "res", executor=executor, workers=2, log=None)
    assert [r["status"] for r in summ.rows] == ["done", "failed", "done"]
    assert summ.rows[1]["error"] == "AssertionError: two is refused"
    outs = sorted((Path(r["run_dir"]) / "out.txt").read_text() for r in summ.rows if r["status"] == "done")
    assert outs == ["10", "30"]
    for r in summ.rows:  # the status file stores the parameters the run was given
        assert read_status(r["run_dir"])["parameters"]["a"] == r["parameters"]["a"]
    if executor == "submitit-local":  # the jobs really went through submitit's folder
        assert list((tmp_path / "res" / "sweeps" / "sub" / "submitit").glob("*_submitted.pkl"))


def test_sweep_command_reports_failures_with_logs_and_resumes(tmp_path, capsys):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    toy(nbs / "work.ipynb", "assert a < 3, f'a={a} is too big'\nopen('out.txt', 'w').write(b)")
    toy(nbs / "fig.ipynb", "open('fig.txt', 'w').write(b)")
    plan = tmp_path / "p.yaml"
    plan.write_text(yaml.safe_dump(dict(name="cmd", notebooks_dir="nbs", defaults={"b": "hello"},
                                        stages=[dict(name="work", notebook="work", grid={"a": [1, 2, 3]}),
                                                dict(name="fig", notebook="fig")])))
    res = tmp_path / "res"
    assert main(["sweep", str(plan), "--results-root", str(res), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.count("queued") == 4 and "dry run of plan cmd: 4 runs" in out
    assert not (res / "work").exists()  # a dry run runs nothing
    assert main(["sweep", str(plan), "--results-root", str(res), "b=bye"]) == 2
    err = capsys.readouterr().err
    assert "FAILED work work.ipynb" in err and "AssertionError: a=3 is too big" in err and "log: " in err
    assert "BLOCKED fig" in err and "stage 'work' had 1 failed run(s)" in err
    logs = [l.split("log: ")[1].strip() for l in err.splitlines() if "log: " in l]
    assert logs and all(Path(l).exists() for l in logs)
    summary = json.loads((res / "sweeps" / "cmd.json").read_text())
    assert collections.Counter(r["status"] for r in summary["runs"]) == {"done": 2, "failed": 1, "blocked": 1}
    done = [Path(r["run_dir"]) for r in summary["runs"] if r["status"] == "done"]
    assert all((d / "out.txt").read_text() == "bye" for d in done)  # the override reached the runs
    # the executed notebook is kept next to its results, and a second sweep reuses the finished runs
    assert all((d / "work.ipynb").exists() and (d / "run.json").exists() for d in done)
    mtimes = [(d / "run.json").stat().st_mtime_ns for d in done]
    assert main(["sweep", str(plan), "--results-root", str(res), "b=bye", "--keep-going"]) == 2
    assert [(d / "run.json").stat().st_mtime_ns for d in done] == mtimes
    summary = json.loads((res / "sweeps" / "cmd.json").read_text())
    # keep-going ran the figure stage
    assert [r["status"] for r in summary["runs"]] == ["done", "done", "failed", "done"]


def test_demo_plan_expands_to_the_demo_design():
    plan = load_plan("demo")
    specs = expand_plan(plan, "/nonexistent/results")
    by = collections.defaultdict(list)
    for s in specs: by[s.stage].append(s)
    assert [st.name for st in plan.stages] == [
        "world",
        "source",
        "train",
        "evaluate",
        "bank",
        "real",
        "real_ed",
        "figures",
    ]
    assert [s.name for s in by["real"]] == ["real92_reference", "real92_rsa", "closest_real92"]
    assert by["real"][1].parameters["image_size"] is None  # each network's own input size, not the world's 64 px
    assert [s.name for s in by["real_ed"]] == ["real92_ed"] and by["real_ed"][0].parameters["image_size"] is None
    assert sorted(s.parameters["n_classes"] for s in by["train"]) == [2, 4, 8, 16, 32, 64]
    assert {s.parameters["labels"] for s in by["train"]} == {"pca"} and by["source"][0].parameters["labels"] == "fine"
    finals = collections.defaultdict(set)
    for s in by["evaluate"]:
        if s.parameters.get("epoch") == "final":
            for a in s.parameters["analyses"]: finals[a].add(s.parameters["model"])
    models = {"untrained", "pca2", "pca4", "pca8", "pca16", "pca32", "pca64", "fine"}
    # every model, every analysis
    assert dict(finals) == {a: models for a in ("rsa", "pca_reconstruction", "encoding", "pls")}
    trained = {s.parameters["run_name"].format(**s.parameters) for s in by["train"] + by["source"]}
    # every evaluated model is trained by the plan
    assert {s.parameters["model"] for s in by["evaluate"]} - {"untrained"} <= trained
    assert all(s.parameters["width"] == 0.25 and s.parameters["image_size"] == 64 for s in by["train"])
    names = {s.name for s in specs}
    toc = (ROOT / "book" / "_toc.yml").read_text()
    assert all(
        n in names
        for n in [l.split("generated/")[1].strip() for l in toc.splitlines() if "generated/" in l and "file:" in l]
    )


def test_paper_plan_parses_and_expands_to_the_full_design():
    plan = load_plan("paper")
    specs = expand_plan(plan, "/nonexistent/results")
    train = [s for s in specs if s.stage == "train"]
    fine = [s for s in specs if s.stage == "train_fine"]
    assert len(train) == 4 * 6 * 3  # label sources x granularities x seeds
    names = {s.parameters["run_name"] for s in train}
    assert len(names) == len(train) and "dino-pca16-s2" in names
    assert {s.parameters["label_file"] for s in train if s.parameters["run_name"] == "vit-pca8-s3"} == {
        "/data/visreps_labels/vit/pca_labels_8.csv"
    }
    assert all(s.parameters["images"] == "/data/imagenet_packed_224" and s.parameters["epochs"] == 20 for s in train)
    assert all(s.parameters["warmup_epochs"] == 3 for s in train + fine)  # the authors' cluster configuration
    assert sorted(s.parameters["run_name"] for s in fine) == ["imagenet1000-s1", "imagenet1000-s2", "imagenet1000-s3"]
    ev = [s for s in specs if s.stage == "evaluate"]
    trained = names | {s.parameters["run_name"] for s in fine}
    # every trained network is evaluated
    assert {s.parameters["model"] for s in ev if s.parameters["model"] != "untrained"} == trained
    assert {s.parameters.get("epoch") for s in ev if s.parameters["model"] != "untrained"} == {0, 10, 20}
    assert all(s.parameters["dataset"] == "nsd:/data/nsd" for s in ev)
    assert plan.slurm["gpus_per_node"] == 1 and plan.stages[[s.name for s in plan.stages].index("evaluate")].after == [
        "train",
        "train_fine",
    ]
