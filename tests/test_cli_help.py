"""`visreps --help` and the help of the commands that need no network are quick: they import no torch (importing
torch is most of the 6-12 s the help used to take). A property, not a timing: timings live in benchmarks/."""
import subprocess
import sys

import pytest

CODE = """
import sys
sys.argv = ["visreps"] + sys.argv[1:]
from visreps.app.cli import main
try: main()
except SystemExit as e: assert e.code in (0, None), e.code
print("torch" in sys.modules, file=sys.stderr)
"""


@pytest.mark.parametrize("command", [[], ["world"], ["sweep"], ["book"], ["reproduce"], ["runs"]])
def test_help_imports_no_torch(command):
    out = subprocess.run([sys.executable, "-c", CODE, *command, "--help"], capture_output=True, text=True, check=True)
    assert "usage: visreps" in out.stdout
    assert out.stderr.strip().splitlines()[-1] == "False", f"visreps {' '.join(command)} --help imported torch"
