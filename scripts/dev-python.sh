#!/usr/bin/env bash
# Builds the infino Python package from this tree into a private folder,
# for PYTHONPATH, without installing it into .venv:
#   scripts/dev-python.sh build-py-mine      # -> build-py-mine/pkg/infino
#   PYTHONPATH=build-py-mine/pkg .venv/bin/python -m pytest tests/py/...
# Lets several builds of the package coexist (one per work tree or task);
# `make python` remains the way the installed package is refreshed.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:?usage: scripts/dev-python.sh BUILD_DIR}
py=$(pwd)/.venv/bin/python
cmake -S bindings/python -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPython_EXECUTABLE="$py" >/dev/null
ninja -C "$out" ${JOBS:+-j "$JOBS"} _native >/dev/null
mkdir -p "$out/pkg/infino"
cp bindings/python/python/infino/*.py bindings/python/python/infino/*.pyi \
   bindings/python/python/infino/py.typed "$out/pkg/infino/"
cp "$out"/_native*.so "$out/pkg/infino/"
echo "$out/pkg"
