#!/usr/bin/env bash
# Installs the benchmark peers into bench/.venv (git-ignored): upstream infino
# from PyPI, pyarrow, DuckDB, tantivy, faiss-cpu, bm25s, matplotlib, numpy,
# psutil, pinned in bench/requirements.txt. Separate from the project's .venv
# because upstream's package has the same import name as ours. Idempotent:
# does nothing when the installed set matches requirements.txt. strace (for
# the fsync count of the ingest bench) comes from Debian.
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v strace >/dev/null; then
  echo "bench setup: installing strace"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq strace
fi

PY=${PYTHON:-python3}
STAMP=.venv/.requirements.sha
want=$(sha256sum requirements.txt | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then
  echo "bench setup: creating bench/.venv"
  "$PY" -m venv .venv
fi
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "bench setup: installing peers into bench/.venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r requirements.txt
  echo "$want" > "$STAMP"
fi
