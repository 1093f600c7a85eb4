"""What an evaluation of a data set is keyed by, without computing it: the run ids `run_eval` would look up in the
results store, and the feature cache key of its test images (`run_eval`'s own `FeatureCache`, nothing extracted)."""
import numpy as np

import visreps.study.evaluate as ev


def eval_keys(ds, results_root, monkeypatch) -> tuple[list[str], str]:
    "(run ids, Gram cache file name of the test stimuli) of an RSA evaluation of `ds` by a tiny untrained network."
    seen = {}
    def capture(plan, runs, cache, progress=True, check=None):
        seen["cache"], seen["plan"] = cache, plan
        return iter(())
    monkeypatch.setattr(ev, "evaluate_runs", capture)
    cfg = ev.EvalConfig(
        width=0.25,
        n_classes=4,
        image_size=64,  # the smallest CustomCNN input is 63 px
        analyses=["rsa"],
        n_select=3,
        device="cpu",
        results_root=str(results_root),
    )
    s = ev.run_eval(cfg, data=ds, progress=False)
    assert s.written == [] and s.skipped == []  # nothing stored: every run is still to do
    plan = seen["plan"]
    key = seen["cache"]._key("gram", np.asarray(plan.test_ids), [plan.readouts[-1]], cfg.projection).name
    return [r[3] for r in plan.runs], key
