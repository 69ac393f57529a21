#!/usr/bin/env bash
# Installs the benchmark peers into bench/.venv (git-ignored): upstream infino
# from PyPI, pyarrow, DuckDB, tantivy, faiss-cpu, bm25s, matplotlib, numpy,
# psutil, pinned in bench/requirements.txt. Separate from the project's .venv
# because upstream's package has the same import name as ours. Idempotent:
# does nothing when the installed set matches requirements.txt. strace (for
# the fsync count of the ingest bench) comes from Debian, and so does the
# English documentation that bench/fts/realtext_corpus.py turns into the
# real-text corpus (manual pages, the Python manual, the Debian Reference,
# the GNU coding standards).
set -euo pipefail
cd "$(dirname "$0")"

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
DEB_NEED=""
command -v strace >/dev/null || DEB_NEED="strace"
for p in manpages manpages-dev python3-doc debian-reference-en gnu-standards; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
    DEB_NEED="$DEB_NEED $p"
done
if [ -n "$DEB_NEED" ]; then
  echo "bench setup: installing$DEB_NEED"
  $SUDO apt-get update -qq
  # shellcheck disable=SC2086
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq \
    --no-install-recommends $DEB_NEED
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
