"""Fault injection for sweeps: SIGKILL at several points, SIGTERM, two sweeps of one plan at once, deleted outputs,
truncated status and run files, and bad overrides or names. Real sweeps run in subprocesses; a rerun must end exactly
where an uninterrupted sweep ends, with no process left behind and no temporary folder left over."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from visreps.app.sweep import expand_plan, list_runs, load_plan, read_status, run_sweep, status_path

from toy_data import toy_notebook

SWEEP = """
import json, sys
from visreps.app.sweep import load_plan, run_sweep
plan = load_plan(json.loads(sys.argv[1]), notebooks_dir=sys.argv[2])
summary = run_sweep(plan, sys.argv[3], workers=2, log=lambda m: print(m, flush=True))
print(summary, flush=True)
sys.exit(2 if summary.failures else 0)
"""

# a run: notes its kernel's pid, counts its executions, sleeps (long only when the test asks), writes its output
WORK = """import os, time
os.makedirs(os.path.join(results_root, 'pids'), exist_ok=True)
open(os.path.join(results_root, 'pids', f'{a}-{os.getpid()}'), 'w').write(str(os.getpid()))
open(os.path.join(results_root, f'count-{a}.txt'), 'a').write('x')
time.sleep(float(os.environ.get('TOY_SLEEP', '0')) if a == 2 else 0)
open('out.txt', 'w').write(str(a * 10))"""
SUM = """import glob, os
open('sum.txt', 'w').write(str(sum(int(open(p).read())
                                   for p in sorted(glob.glob(os.path.join(results_root, 'work', '*', 'out.txt'))))))"""
PLAN = dict(
    name="faults", stages=[dict(name="work", notebook="work", grid={"a": [1, 2]}), dict(name="sum", notebook="total")]
)


def toy(path, body, params="a = 1\nresults_root = ''"):
    return toy_notebook(path, body, params)


@pytest.fixture(scope="module")
def nbs(tmp_path_factory):
    d = tmp_path_factory.mktemp("nbs")
    toy(d / "work.ipynb", WORK)
    toy(d / "total.ipynb", SUM)
    return d


def start_sweep(nbs, root, plan=PLAN, **env):
    return subprocess.Popen(
        [sys.executable, "-c", SWEEP, json.dumps(plan), str(nbs), str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1", **env},
    )


def wait_for(cond, proc, timeout=60, what="condition"):
    deadline = time.time() + timeout
    while not cond():
        assert proc.poll() is None, f"the sweep ended before {what}: {proc.stdout.read()}"
        assert time.time() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def all_gone(pids, timeout=15):
    "Every pid exits (or is a zombie) within `timeout` s; returns the survivors."
    deadline = time.time() + timeout
    def alive():
        out = []
        for p in pids:
            try:
                if psutil.Process(p).status() != psutil.STATUS_ZOMBIE: out.append(p)
            except psutil.NoSuchProcess: pass
        return out
    while alive() and time.time() < deadline: time.sleep(0.2)
    return alive()


def leftovers(root):
    return sorted(str(p) for p in Path(root).rglob(".*") if ".tmp-" in p.name or ".old-" in p.name)


def outcome(root):
    "What a sweep leaves that matters: the runs (ids, statuses, outputs) and the final sum."
    root = Path(root)
    runs = {}
    for sp in sorted(root.glob("*/*.status.json")):
        rid = sp.name[: -len(".status.json")]
        d = sp.with_name(rid)
        outs = {p.name: p.read_text() for p in d.glob("*.txt")}
        runs[f"{sp.parent.name}/{rid}"] = (read_status(d)["status"], outs)
    return runs


@pytest.fixture(scope="module")
def reference(nbs, tmp_path_factory):
    root = tmp_path_factory.mktemp("ref") / "res"
    p = start_sweep(nbs, root)
    out, _ = p.communicate(timeout=180)
    assert p.returncode == 0, out
    ref = outcome(root)
    assert len(ref) == 3 and all(s == "done" for s, _ in ref.values())
    assert any(o.get("sum.txt") == "30" for _, o in ref.values())
    return ref


def finished(root):
    "Run folders in place (not the hidden temporary folders runs execute in)."
    return [q for q in Path(root).glob("work/*/run.json") if not q.parent.name.startswith(".")]


def kernel_pids(root):
    d = Path(root) / "pids"
    return [int(p.read_text()) for p in d.iterdir()] if d.is_dir() else []


@pytest.mark.parametrize("point", ["mid-run", "after-first-stage"])
def test_sigkill_then_rerun_ends_as_an_uninterrupted_sweep(nbs, reference, tmp_path, point):
    root = tmp_path / "res"
    p = start_sweep(nbs, root, TOY_SLEEP="120")  # run a=2 hangs until killed
    if point == "mid-run":  # a=2's kernel has started (and sleeps); a=1 may or may not be finished
        wait_for(
            lambda: (
                any(p.name.startswith("2-") for p in (root / "pids").glob("*")) if (root / "pids").is_dir() else False
            ),
            p,
            what="the kernel of a=2",
        )
    else:  # a=1 is finished (its run folder is in place); a=2 still runs
        wait_for(lambda: len(finished(root)) == 1 and len(kernel_pids(root)) == 2, p, what="a finished run")
    family = [c.pid for c in psutil.Process(p.pid).children(recursive=True)]
    assert family, "the sweep had no child processes"
    p.send_signal(signal.SIGKILL)
    p.wait()
    # the runs die with the sweep: papermill gets SIGKILL from the
    # kernel (PR_SET_PDEATHSIG), the kernel follows its parent
    assert all_gone(family + kernel_pids(root)) == [], "processes outlived the SIGKILLed sweep"
    stale = [
        read_status(sp.with_name(sp.name[: -len(".status.json")]))["status"] for sp in root.glob("work/*.status.json")
    ]
    assert "running" in stale  # what the kill left
    assert leftovers(root), "a killed run leaves its temporary folder"
    p2 = start_sweep(nbs, root, TOY_SLEEP="0")
    out, _ = p2.communicate(timeout=180)
    assert p2.returncode == 0, out
    assert "its process is gone: run again" in out
    assert outcome(root) == reference
    assert leftovers(root) == []
    # finished runs were reused, not executed again; only the interrupted one ran twice
    assert (root / "count-2.txt").read_text() == "xx"
    if point == "after-first-stage": assert (root / "count-1.txt").read_text() == "x"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_sigterm_and_ctrl_c_stop_cleanly_and_say_so(nbs, tmp_path, sig):
    root = tmp_path / "res"
    p = start_sweep(nbs, root, TOY_SLEEP="120")
    wait_for(lambda: len(kernel_pids(root)) == 2, p, what="two kernels")
    family = [c.pid for c in psutil.Process(p.pid).children(recursive=True)]
    t0 = time.time()
    p.send_signal(sig)
    out, _ = p.communicate(timeout=60)
    # SIGTERM: exit status 143; Ctrl-C: KeyboardInterrupt, which Python ends by SIGINT
    assert p.returncode == (128 + signal.SIGTERM if sig == signal.SIGTERM else -signal.SIGINT), out
    assert time.time() - t0 < 30
    assert all_gone(family + kernel_pids(root)) == []
    st = {
        read_status(sp.with_name(sp.name[: -len(".status.json")]))["status"] for sp in root.glob("work/*.status.json")
    }
    assert "interrupted" in st and "running" not in st and "queued" not in st, st
    assert json.loads((root / "sweeps" / "faults.json").read_text())["stopped"] == sig.name
    assert leftovers(root) == []
    assert "interrupted" in set(list_runs(root).status)


def test_two_sweeps_of_one_plan_run_each_run_once(nbs, reference, tmp_path):
    root = tmp_path / "res"
    ps = [start_sweep(nbs, root, TOY_SLEEP="3") for _ in range(2)]
    outs = [p.communicate(timeout=240)[0] for p in ps]
    assert [p.returncode for p in ps] == [0, 0], outs
    for a in (1, 2):
        assert (root / f"count-{a}.txt").read_text() == "x", f"run a={a} executed more than once"
    assert outcome(root) == reference
    assert leftovers(root) == []
    summaries = json.loads((root / "sweeps" / "faults.json").read_text())
    assert all(r["status"] == "done" for r in summaries["runs"])


def test_reused_run_whose_output_is_gone_runs_again(tmp_path):
    nbd = tmp_path / "nbs"
    nbd.mkdir()
    toy(
        nbd / "out.ipynb",
        "import os\nfrom visreps.core.storage import declare_output\np "
        "= os.path.join(results_root, 'train', f'fine-s{a}')\n"
        "os.makedirs(p, exist_ok=True)\nopen(os.path.join(p, 'w.txt'), 'w').write('w')\ndeclare_output(p)\n"
        "open(os.path.join(results_root, 'count.txt'), 'a').write('x')",
    )
    plan = load_plan(dict(name="outs", stages=[dict(name="train", notebook="out")]), notebooks_dir=nbd)
    root = tmp_path / "res"
    assert not run_sweep(plan, root, log=None).failures
    run = next(root.glob("out/*/run.json"))
    assert json.loads(run.read_text())["outputs"] == ["train/fine-s1"]
    again = run_sweep(plan, root, log=None)
    assert again.rows[0]["reused"] and (root / "count.txt").read_text() == "x"
    import shutil
    shutil.rmtree(root / "train" / "fine-s1")
    msgs = []
    third = run_sweep(plan, root, log=msgs.append)
    assert third.rows[0]["status"] == "done" and not third.rows[0]["reused"]
    assert (root / "count.txt").read_text() == "xx" and (root / "train" / "fine-s1" / "w.txt").exists()
    assert any("fine-s1' is gone" in m for m in msgs), msgs


def test_truncated_status_and_run_files_are_named_and_rerun(nbs, tmp_path):
    plan = load_plan(dict(name="t", stages=[dict(name="work", notebook="work", grid={"a": [1, 3]})]), notebooks_dir=nbs)
    root = tmp_path / "res"
    first = run_sweep(plan, root, log=None)
    d1, d3 = (Path(r["run_dir"]) for r in first.rows)
    status_path(d1).write_text(status_path(d1).read_text()[:15])
    (d3 / "run.json").write_text((d3 / "run.json").read_text()[:20])
    msgs = []
    again = run_sweep(plan, root, log=msgs.append)  # neither a JSONDecodeError nor a run counted as done
    assert [r["status"] for r in again.rows] == ["done", "done"]
    assert [r["reused"] for r in again.rows] == [True, False]  # the run itself was whole; the truncated record was not
    assert any("run.json' is truncated or corrupt" in m for m in msgs), msgs
    assert read_status(d1)["status"] == "done" and (root / "count-3.txt").read_text() == "xx"
    status_path(d3).write_bytes(b"\x00\xff garbage")
    st = read_status(d3)
    assert st["status"] == "failed" and str(status_path(d3)) in st["corrupt"]


def test_bad_overrides_and_names_fail_before_anything_runs(nbs, tmp_path):
    with pytest.raises(Exception, match=r"'az' is not a parameter of any notebook of the plan.*did you mean 'a'"):
        load_plan(PLAN, ["az=1"], notebooks_dir=nbs)
    with pytest.raises(Exception, match=r"override a='two'.*expected an integer"):
        load_plan(PLAN, ["a=two"], notebooks_dir=nbs)
    with pytest.raises(Exception, match=r"name='\.\./\.\./x'"):
        load_plan({**PLAN, "name": "../../x"}, notebooks_dir=nbs)
    toy(tmp_path / "named.ipynb", "pass", params="run_name = 'r'\nresults_root = ''")
    with pytest.raises(Exception, match=r"run_name='\.\./\.\./\.\./\.\./x'"):
        expand_plan(
            load_plan(
                dict(name="n", stages=[dict(name="s", notebook="named", params={"run_name": "../../../../x"})]),
                notebooks_dir=tmp_path,
            ),
            tmp_path / "res",
        )
    assert not (tmp_path / "res").exists()


# papermill stand-in: writes the executed notebook with its last cell
# still `running` (as a run stopped mid-cell leaves it), exits 0
HALF_RUN = """
import sys, nbformat
src = nbformat.read(sys.argv[1], as_version=4)
for c in src.cells: c.metadata["papermill"] = {"status": "completed"}
src.cells[-1].metadata["papermill"] = {"status": "running"}
src.metadata["papermill"] = {"end_time": None}
nbformat.write(src, sys.argv[2])
"""


def test_a_run_whose_notebook_did_not_end_is_not_done(nbs, tmp_path, monkeypatch):
    ("papermill exiting 0 is not enough: a notebook left mid-cell (seen "
     "when a stop raced papermill) is a failed run, rerun next time.")
    import visreps.app.sweep as S
    monkeypatch.setattr(S, "_child_command", lambda cmd: [sys.executable, "-c", HALF_RUN, cmd[3], cmd[4]])
    plan = load_plan(dict(name="half", stages=[dict(name="work", notebook="work", grid={"a": [1]})]), notebooks_dir=nbs)
    root = tmp_path / "res"
    summary = run_sweep(plan, root, log=None)
    [row] = summary.rows
    assert row["status"] == "failed", row
    st = read_status(Path(row["run_dir"]))
    assert (
        st["status"] == "failed"
        and "did not run to its end: cell 1 of" in st["error"]
        and "is still running" in st["error"]
    ), st
    assert not Path(row["run_dir"]).exists()  # no run folder in place: nothing counts as done
    monkeypatch.undo()
    again = run_sweep(plan, root, log=None)
    assert [r["status"] for r in again.rows] == ["done"] and (root / "count-1.txt").read_text() == "x"


# a run as the sweep starts it: its status says `running`, owned by this process, which then works until killed
RUNNING = """
import os, sys, time
from visreps.app.sweep import write_status
from visreps.core.storage import process_token
write_status(sys.argv[1], "running", notebook="work.ipynb", stage="work", parameters={"a": 2},
             pid=os.getpid(), owner=process_token())
print("started", flush=True)
time.sleep(120)
"""


def test_runs_lists_a_sigkilled_run_as_stale_not_running(tmp_path):
    import contextlib, io
    from visreps.app.cli import main
    root = tmp_path / "res"
    p = subprocess.Popen([sys.executable, "-c", RUNNING, str(root / "work" / "r2")], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "started"

    def runs():
        out = io.StringIO()
        with contextlib.redirect_stdout(out): assert main(["runs", "--results-root", str(root)]) == 0
        return out.getvalue()

    assert "running" in runs() and "stale" not in runs()  # alive: it is running
    p.send_signal(signal.SIGKILL)
    p.wait()
    shown = runs()
    assert read_status(root / "work" / "r2")["status"] == "running"  # what the kill left on disk
    assert "stale (was running; its process is gone)" in shown and "1 stale" in shown, shown
    assert list_runs(root).stale.tolist() == [True]
