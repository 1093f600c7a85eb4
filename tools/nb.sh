#!/usr/bin/env bash
# Developer helper: build notebooks in nbs/ from jupytext percent-format drafts in .nbsrc/
# (ignored by git), clean them, and export the package.
#   tools/nb.sh core/00_config     # .nbsrc/core/00_config.py -> nbs/core/00_config.ipynb, then nbdev_export
#   tools/nb.sh --to-py core/00_config  # nbs/core/00_config.ipynb -> .nbsrc/core/00_config.py (to edit as text)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
if [ "${1:-}" = "--to-py" ]; then
  mkdir -p .nbsrc
  shift
  for n in "$@"; do mkdir -p "$(dirname ".nbsrc/$n")"; $BIN/jupytext --quiet --to py:percent --output ".nbsrc/$n.py" "nbs/$n.ipynb"; done
  exit 0
fi
for n in "$@"; do
  src=".nbsrc/$n.py"; dst="nbs/$n.ipynb"
  mkdir -p "$(dirname "$dst")"
  $BIN/jupytext --quiet --to ipynb --output "$dst" "$src"
  $BIN/nbdev_clean --fname "$dst"
done
$BIN/nbdev_export
