"""The command line run in this process, its output captured: what the CLI tests assert on."""
import contextlib
import io

from visreps.app.cli import main


def run(argv: list[str]) -> tuple[int, str, str]:
    "(exit status, stdout, stderr) of `visreps ARGV`."
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()
