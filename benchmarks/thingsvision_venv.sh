#!/usr/bin/env bash
# The extraction baseline of bench_real92.py: thingsvision 2.7.3 in a venv of its own.
#   bash benchmarks/thingsvision_venv.sh [VENV]     (default: .venv-thingsvision)
#   .venv/bin/python benchmarks/bench_real92.py --thingsvision .venv-thingsvision/bin/python
# thingsvision 2.7.3 pins torch 2.0 and TensorFlow 2.15 (which needs numpy < 2), so it is installed
# with --no-deps, sees the project's venv (torch 2.14, numpy 2) through a .pth file, gets the three small
# packages it imports, an empty TensorFlow stand-in (its PyTorch path never calls TensorFlow) and
# numpy 1's AxisError name (benchmarks/thingsvision_stubs/, put on PYTHONPATH by the benchmark).
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
venv="${1:-$here/.venv-thingsvision}"
python3 -m venv "$venv"
site="$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
base="$("$here/.venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$base" > "$site/visreps_venv.pth"
"$venv/bin/pip" install -q --no-deps thingsvision==2.7.3 torchtyping==0.1.5 typeguard==4.6.1 timm==1.0.31
mkdir -p "$venv/stubs" && cp -r "$here/benchmarks/thingsvision_stubs/." "$venv/stubs/"
PYTHONPATH="$venv/stubs" "$venv/bin/python" -c "from thingsvision import get_extractor_from_model; print('thingsvision ready in $venv')"
