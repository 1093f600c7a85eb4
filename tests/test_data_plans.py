"""plans/paper.yaml's further targets (NSD-synthetic, TVSD, BrainIO): the plan still parses and expands, and every
target's source string names a registered loader with options that loader accepts."""
import importlib
import inspect

from visreps.data.sources import SOURCES, parse_source, source_options
from visreps.sweep import expand_plan, load_plan

NEW = {"evaluate_ood": {"nsd-synthetic"}, "evaluate_tvsd": {"tvsd"}, "evaluate_brainio": {"brainio"}}


def _accepts(kind, options):
    module, func, _ = SOURCES[kind]
    sig = inspect.signature(getattr(importlib.import_module(module), func))
    return all(k in sig.parameters for k in options)  # each option is a named parameter of the loader itself


def test_paper_plan_has_the_further_targets():
    plan = load_plan("paper")
    specs = expand_plan(plan, "/nonexistent/results")
    by = {}
    for s in specs: by.setdefault(s.stage, []).append(s)
    trained = {s.parameters["model"] for s in by["evaluate"] if s.parameters["model"] != "untrained"}
    assert {s.parameters["dataset"] for s in by["evaluate"]} == {"nsd:/data/nsd"}  # the NSD stage is unchanged
    for stage, kinds in NEW.items():
        runs = by[stage]
        assert {s.parameters["model"] for s in runs} == trained and {s.parameters["epoch"] for s in runs} == {20}
        datasets = {s.parameters["dataset"] for s in runs}
        assert {parse_source(source_options(d)[0])[0] for d in datasets} == kinds
        for d in datasets:
            base, opts = source_options(d)
            kind, arg = parse_source(base)
            assert arg.startswith("/data/") and _accepts(kind, opts), d
        assert len({s.run_dir for s in runs}) == len(runs)
    assert len(by["evaluate_brainio"]) == 2 * len(trained) and len(by["evaluate_tvsd"]) == 2 * len(trained)
    bio = [source_options(s.parameters["dataset"])[1] for s in by["evaluate_brainio"]]
    assert {o.get("time_bins") for o in bio} == {None, "50-200"}
    assert all(o["subject_coord"] is None and o["test_fraction"] == 0.2 for o in bio)  # one pooled subject with a held-out fifth
    assert source_options(by["evaluate_ood"][0].parameters["dataset"])[1] == {"nsd_train": True}
    tv = [source_options(s.parameters["dataset"])[1] for s in by["evaluate_tvsd"]]
    assert sorted(o["monkeys"][0] for o in tv) == ["F"] * len(trained) + ["N"] * len(trained)  # one monkey per run
    assert all(o["images"] == "/data/things" for o in tv)
