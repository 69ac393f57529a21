#!/usr/bin/env bash
# Per-call overhead of the Node.js binding vs the Python binding (see
# README.md here). Builds the addon (make node) and a private copy of the
# Python package (scripts/dev-python.sh), links the package for
# `import "infino"`, then runs run.py with .venv's Python.
#   bench/node/run.sh [--rows N] [--calls N] [--rounds N]
set -euo pipefail
cd "$(dirname "$0")/../.."
make -s node >/dev/null
pypkg=$(JOBS=${JOBS:-2} scripts/dev-python.sh build-py-node)
mkdir -p bench/node/node_modules
ln -sfn ../../../bindings/node bench/node/node_modules/infino
PYTHONPATH="$(pwd)/$pypkg" .venv/bin/python bench/node/run.py "$@"
