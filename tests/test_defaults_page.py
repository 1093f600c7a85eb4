"""book/methods/defaults.md cannot go stale: every call it writes in the visreps column and in the last column names a
visreps function and arguments that function has, and every value in the visreps column is that argument's default."""
import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

import numpy as np
import pytest

import visreps.metrics

PAGE = Path(__file__).resolve().parents[1] / "book" / "methods" / "defaults.md"


def table_rows(text: str) -> list[list[str]]:
    "The cells of the page's list-table, row by row (header included), each cell's lines joined by spaces."
    m = re.search(r"^```\{list-table\}.*?\n(.*?)^```$", text, re.S | re.M)
    assert m, f"{PAGE} has no list-table"
    rows = []
    for line in m.group(1).splitlines():
        if line.startswith("* - "): rows.append([line[4:].strip()])
        elif line.startswith("  - "): rows[-1].append(line[4:].strip())
        elif line.startswith("    ") and rows: rows[-1][-1] += " " + line.strip()
        elif line.strip() and not line.startswith(":"): raise AssertionError(f"unexpected line in the table: {line!r}")
    return rows


def calls(cell: str) -> list[ast.Call]:
    "The code spans of a cell that are one call, parsed (other spans, e.g. `noise=None` or `'tau-a'`, are skipped)."
    out = []
    for span in re.findall(r"`([^`]+)`", cell):
        try: node = ast.parse(span, mode="eval").body
        except SyntaxError: continue
        if isinstance(node, ast.Call): out.append(node)
    return out


def visreps_callables() -> dict:
    "name -> the objects of that name defined in visreps.metrics modules; `module.name` -> that module's one."
    found = {}
    for mod in pkgutil.iter_modules(visreps.metrics.__path__):
        m = importlib.import_module(f"visreps.metrics.{mod.name}")
        for name, obj in vars(m).items():
            if callable(obj) and getattr(obj, "__module__", "").startswith("visreps."):
                found.setdefault(name, set()).add(obj)
                if obj.__module__ == m.__name__: found[f"{mod.name}.{name}"] = {obj}
    return found


def parameters(call: ast.Call, objs: dict) -> tuple[str, dict]:
    "The name a call gives and the parameters of the visreps function of that name."
    name = ast.unparse(call.func)
    assert name in objs, f"`{ast.unparse(call)}` names {name!r}, which is not a function of visreps.metrics"
    assert len(objs[name]) == 1, f"{name!r} is {len(objs[name])} different functions: write it as module.{name}"
    return name, inspect.signature(next(iter(objs[name]))).parameters


def test_parse_finds_calls():
    rows = table_rows("```{list-table} t\n:header-rows: 1\n\n* - a\n  - `f(x=1)`, then\n    `g(y='b')`\n```\n")
    assert rows == [["a", "`f(x=1)`, then `g(y='b')`"]]
    assert [ast.unparse(c) for c in calls(rows[0][1] + " `noise=None` `'tau-a'` `D ** 2`")] == ["f(x=1)", "g(y='b')"]


def test_every_option_on_the_defaults_page_exists():
    rows = table_rows(PAGE.read_text())
    header, body = rows[0], rows[1:]
    assert header[1].startswith("visreps default") and header[-1].startswith("Option for the peer"), header
    assert len(body) >= 10 and all(len(r) == len(header) for r in body), [r[0] for r in body if len(r) != len(header)]
    objs = visreps_callables()
    n_defaults = n_options = 0
    for row in body:
        for call in calls(row[1]):  # the visreps column: each value is the default
            name, params = parameters(call, objs)
            for kw in call.keywords:
                assert kw.arg in params, f"{row[0]}: {name} has no parameter {kw.arg!r} (it has {list(params)})"
                value = ast.literal_eval(kw.value)
                default = params[kw.arg].default
                assert default == value, f"{row[0]}: page: {name}({kw.arg}={value!r}), code default: {default!r}"
                n_defaults += 1
        opts = calls(row[-1])
        assert opts or row[-1].lower().startswith("none"), f"{row[0]}: the last column names no option, nor says none"
        for call in opts:  # the last column: the options exist
            name, params = parameters(call, objs)
            assert call.keywords, f"{row[0]}: `{ast.unparse(call)}` names no argument"
            for kw in call.keywords:
                assert kw.arg in params, f"{row[0]}: {name} has no parameter {kw.arg!r} (it has {list(params)})"
                n_options += 1
    assert n_defaults >= 15 and n_options >= 15, (n_defaults, n_options)


def test_the_page_states_the_cka_default():
    from visreps.metrics.cka import linear_cka
    assert inspect.signature(linear_cka).parameters["debiased"].default is True
    assert table_rows(PAGE.read_text())[1][1].startswith("`linear_cka(debiased=True)`")


def test_a_stale_default_fails(tmp_path, monkeypatch):
    "The check catches a wrong default and a made-up argument."
    text = PAGE.read_text()
    for bad in (text.replace("  - `linear_cka(debiased=True)`:", "  - `linear_cka(debiased=False)`:", 1),
                text.replace("`ceil_score(convention=\"reliability\")`", "`ceil_score(kind=\"reliability\")`", 1)):
        assert bad != text
        page = tmp_path / "defaults.md"; page.write_text(bad)
        monkeypatch.setitem(globals(), "PAGE", page)
        with pytest.raises(AssertionError):
            test_every_option_on_the_defaults_page_exists()


# The options the page names give the peer's numbers, computed by the peer (rsatoolbox) or by hand (Brain-Score).

def subject_rdms(n=12, n_subjects=4, seed=0):
    "Correlation-distance RDMs of noisy copies of one pattern set, one per subject."
    from visreps.metrics.rsa import compute_rdm
    r = np.random.default_rng(seed)
    S = r.standard_normal((n, 30))
    return np.stack([compute_rdm(S + r.standard_normal((n, 30)), device="cpu") for _ in range(n_subjects)])


@pytest.mark.filterwarnings("ignore:Noise ceiling for tau based on averaged ranks")
@pytest.mark.parametrize("method, pool, peer", [("kendall_a", "rank", "tau-a"), ("spearman", "rank", "spearman"),
                                                ("pearson", "zscore", "corr")])
def test_noise_ceiling_pool_gives_rsatoolbox(method, pool, peer):
    import rsatoolbox
    from rsatoolbox.inference.noise_ceiling import boot_noise_ceiling
    from visreps.data.rdms import RDMSet, make_rdms
    from visreps.metrics.rdm_scores import noise_ceiling
    M = subject_rdms()
    rs = RDMSet(make_rdms(M, [f"i{i}" for i in range(M.shape[1])], [f"s{k}" for k in range(len(M))], "fmri", "IT",
                          subject=[f"s{k}" for k in range(len(M))]))
    ref = boot_noise_ceiling(rsatoolbox.rdm.RDMs(M), method=peer)
    np.testing.assert_allclose(noise_ceiling(rs, "IT", method=method, pool=pool), ref, atol=1e-12)
    if method == "kendall_a":  # the default pool (the mean) is not rsatoolbox's
        assert abs(noise_ceiling(rs, "IT", method=method)[0] - ref[0]) > 1e-6


@pytest.mark.filterwarnings("ignore:invalid value encountered in cast:RuntimeWarning")
def test_euclidean_rdm_is_rsatoolbox_squared_per_feature():
    import rsatoolbox
    from visreps.metrics.rsa import compute_rdm
    X = np.random.default_rng(1).standard_normal((9, 7))
    ref = rsatoolbox.rdm.calc_rdm(rsatoolbox.data.Dataset(X), method="euclidean").get_matrices()[0]
    np.testing.assert_allclose(compute_rdm(X, "euclidean", device="cpu") ** 2 / X.shape[1], ref, atol=1e-12)


def test_ceiling_conventions():
    from visreps.metrics.reliability import ceil_score
    assert ceil_score(0.3, 0.64).normalized == pytest.approx(0.3 / 0.8)  # visreps: raw / sqrt(rel)
    assert ceil_score(0.3, 0.64, convention="reliability").normalized == pytest.approx(0.3 / 0.64)  # Brain-Score


def test_odd_repetitions_brainscore_halves_fall_below():
    """3 repetitions: visreps' equal halves + factor 3 recover the 3-repetition reliability; Brain-Score's halves of
    1 and 2 repetitions + factor 2 fall below it (the page's claim), computed here by hand."""
    from visreps.metrics.reliability import split_half_reliability, spearman_brown
    r = np.random.default_rng(0)
    n_s, n_v, n_r, noise = 400, 200, 3, 1.0
    Y = r.standard_normal((n_s, 1, n_v)) + noise * r.standard_normal((n_s, n_r, n_v))
    truth = spearman_brown(1 / (1 + noise ** 2), n_r)  # reliability of the 3-repetition average
    ours = split_half_reliability(Y, n_splits=20).value.mean()
    bs = []
    for _ in range(20):  # Brain-Score: halves of floor(n/2) and ceil(n/2) repetitions, Pearson per neuroid, factor 2
        p = r.permutation(n_r)
        a, b = Y[:, p[:n_r // 2]].mean(1), Y[:, p[n_r // 2:]].mean(1)
        a, b = a - a.mean(0), b - b.mean(0)
        bs.append(spearman_brown((a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0)), 2).mean())
    assert abs(ours - truth) < 0.01, (ours, truth)
    assert np.mean(bs) < truth - 0.01, (np.mean(bs), truth)
