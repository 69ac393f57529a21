#!/usr/bin/env bash
# Builds and installs the infino Python package into .venv when its
# sources changed since the last install (a hash of every input file).
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.infino-python.sha
want=$(find CMakeLists.txt include src bindings/python/pyproject.toml \
         bindings/python/CMakeLists.txt bindings/python/src bindings/python/python \
         -type f \( -name '*.c' -o -name '*.h' -o -name '*.txt' -o -name '*.py' \
         -o -name '*.pyi' -o -name '*.toml' -o -name 'py.typed' \) -print0 \
       | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && \
   .venv/bin/python -c "import infino" 2>/dev/null; then
  exit 0
fi
echo "python: building and installing the infino package into .venv"
.venv/bin/pip install -q --no-build-isolation ./bindings/python
echo "$want" > "$stamp"
