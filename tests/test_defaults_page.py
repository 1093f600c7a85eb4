"""book/methods/defaults.md cannot go stale: every call it writes in the visreps column and in the last column names a
visreps function and arguments that function has, and every value in the visreps column is that argument's default."""
import ast
import importlib
import inspect
import pkgutil
import re
from pathlib import Path

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
