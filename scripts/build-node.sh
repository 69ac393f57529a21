#!/usr/bin/env bash
# Builds the Node.js addon (bindings/node/build/Release/infino_node.node)
# with cmake-js over the Node-API headers of the node-api-headers package:
# nothing is downloaded. Incremental: the build folder, bindings/node/build
# (git-ignored), is kept between runs, so CI can cache it. The output goes
# to bindings/node/build/cmake-js.log and is shown only on failure.
set -euo pipefail
cd "$(dirname "$0")/../bindings/node"
mkdir -p build
if ! npx --no-install cmake-js compile --out build --generator Ninja \
     --parallel "${JOBS:-2}" >build/cmake-js.log 2>&1; then
  tail -n 60 build/cmake-js.log
  echo "build-node: cmake-js failed (full log: bindings/node/build/cmake-js.log)" >&2
  exit 1
fi
