"""`visreps --help` and every command's help are quick: they import no torch (importing torch is most of the 6-12 s
the help used to take; the steps' options are read from their configs' source). A property, not a timing: timings
live in benchmarks/."""
import subprocess
import sys

import pytest

from visreps.app.cli import COMMANDS

CODE = """
import sys
sys.argv = ["visreps"] + sys.argv[1:]
from visreps.app.cli import main
try: main()
except SystemExit as e: assert e.code in (0, None), e.code
print("torch" in sys.modules, file=sys.stderr)
"""


@pytest.mark.parametrize("command", [[]] + [[name] for name in COMMANDS])
def test_help_imports_no_torch(command):
    out = subprocess.run([sys.executable, "-c", CODE, *command, "--help"], capture_output=True, text=True, check=True)
    assert "usage: visreps" in out.stdout
    if command: assert "options (key=value):" in out.stdout or "key=value" in out.stdout
    assert out.stderr.strip().splitlines()[-1] == "False", f"visreps {' '.join(command)} --help imported torch"


def test_every_step_is_covered():
    steps = {"labels", "train", "eval", "bank", "world", "sweep", "book", "reproduce", "runs", "results", "run"}
    assert steps <= set(COMMANDS)
