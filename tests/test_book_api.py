"""`visreps book --api` builds only the API reference, from the literate notebooks: no sweep, no runs, and the
manuscript's build (book/_build/html) is left alone."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_book_api_builds_only_the_api_reference(tmp_path):
    "From a folder without a book: the shipped book sources are copied in, the API pages built, nothing else run."
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}"}
    code = "from visreps.app.cli import main; raise SystemExit(main(['book', '--api']))"
    res = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, env=env,
                         timeout=600)
    assert res.returncode == 0, f"visreps book --api failed:\n{res.stdout}\n{res.stderr[-4000:]}"
    html = tmp_path / "book" / "_build" / "api" / "_build" / "html"
    assert f"API reference built: open {(html / 'index.html').resolve()}" in res.stdout, res.stdout
    pages = {p.stem for p in (html / "api").glob("*.html")}
    assert {"index", "app_cli", "core_storage", "metrics_rsa"} <= pages, sorted(pages)
    assert "build_api_reference" in (html / "api" / "app_cli.html").read_text()
    assert not (tmp_path / "book" / "_build" / "html").exists(), "the manuscript's build is not touched"
    assert not (tmp_path / "book" / "generated").exists() and not (tmp_path / "results").exists(), "no runs, no pages"
