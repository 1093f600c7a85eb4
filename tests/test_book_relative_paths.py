"""`build_book("book")` from the repository root (what `make reproduce` does) hands jupyter-book paths it can open:
jupyter-book reads `--toc` relative to the book folder, so a relative toc path was looked for in book/book/_build/."""
import os
import stat
import sys

import visreps.app.book as vb


def test_relative_book_folder_gives_jupyter_book_paths_that_exist(tmp_path, monkeypatch):
    (tmp_path / "book").mkdir()
    (tmp_path / "book" / "_toc.yml").write_text("format: jb-book\nroot: intro\n")
    (tmp_path / "book" / "intro.md").write_text("# Intro\n")
    fake = tmp_path / "fake-jupyter-book"
    seen = tmp_path / "argv.txt"
    fake.write_text(f"#!{sys.executable}\nimport os, sys\nopen({str(seen)!r}, 'w').write(repr(sys.argv))\n"
                    "src, toc = sys.argv[2], sys.argv[sys.argv.index('--toc') + 1]\n"
                    "os.chdir(src)  # jupyter-book resolves --toc from the book folder\n"
                    "sys.exit(0 if os.path.isfile(toc) and os.path.isfile(os.path.join(src, '_toc.yml')) else 3)\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(vb, "_jupyter_book", lambda: str(fake))
    monkeypatch.chdir(tmp_path)
    vb.build_book("book", results_root="results", nbs=tmp_path / "no_nbs")
    argv = eval(seen.read_text())
    assert os.path.isabs(argv[2]) and os.path.isabs(argv[argv.index("--toc") + 1])
