#!/usr/bin/env bash
# Fetches DuckDB for `query_sql` (issue 17, docs/design/sql-engine.md) into
# DEST (default build/_deps/duckdb), from the package registries only:
#   lib/libduckdb.so   from npm @duckdb/node-bindings-linux-x64 (its
#                      prebuilt shared library with the full C API)
#   include/           duckdb.h and DuckDB's C++ header tree, from the
#                      sources the crates.io crate libduckdb-sys carries
#                      (the same DuckDB release as the library)
# Both downloads are pinned and checked (npm's sha512 integrity, the
# crate's sha256). Idempotent: a stamp naming the versions skips the work.
# Nothing is fetched at run time; nothing downloaded is committed.
set -euo pipefail
cd "$(dirname "$0")/.."

DEST=${1:-build/_deps/duckdb}
DUCKDB_VERSION=1.5.6
NPM_PKG=@duckdb/node-bindings-linux-x64
NPM_VERSION=1.5.6-r.1
# the registry's integrity value sha512-IXcrZJE6kEqM0Z4wwdVnGBHX/frOS33VPNAwDXQ/Q+Fs84b058Qe94chrCCIcNJlG8Y3UHIUU4eBeCQxW5mN1Q==, in hex
NPM_SHA512=21772b64913a904a8cd19e30c1d5671811d7fdface4b7dd53cd0300d743f43e16cf386f4e7c41ef78721ac208870d2651bc6375072145387817824315b998dd5
CRATE=libduckdb-sys
CRATE_VERSION=1.10506.0
CRATE_SHA256=0aac3459f2f7f0221d5be9114fa77ff5877040c8de456d3b986a680579fe202b

STAMP="$DEST/.stamp"
want="duckdb $DUCKDB_VERSION npm $NPM_VERSION crate $CRATE_VERSION"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] \
   && [ -f "$DEST/lib/libduckdb.so" ] && [ -f "$DEST/include/duckdb.h" ]; then
  exit 0
fi

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) ;;
  *) echo "fetch-duckdb: no prebuilt DuckDB for $(uname -s)-$(uname -m);" \
          "configure with -DINFINO_DUCKDB=off" >&2
     exit 1 ;;
esac

tmp="$DEST/.fetch"
rm -rf "$tmp"
mkdir -p "$tmp" "$DEST/lib"

# 1. The library: `npm pack` downloads the tarball through npm's registry
# configuration (and cache) without installing anything.
echo "fetch-duckdb: $NPM_PKG@$NPM_VERSION (npm)"
tgz=$(cd "$tmp" && npm pack --silent "$NPM_PKG@$NPM_VERSION" | tail -n 1)
got=$(sha512sum "$tmp/$tgz" | cut -d' ' -f1)
if [ "$got" != "$NPM_SHA512" ]; then
  echo "fetch-duckdb: $tgz: sha512 $got, expected $NPM_SHA512" >&2
  exit 1
fi
tar -xzf "$tmp/$tgz" -C "$tmp" package/libduckdb.so package/LICENSE
mv "$tmp/package/libduckdb.so" "$DEST/lib/libduckdb.so"
mv "$tmp/package/LICENSE" "$DEST/LICENSE"

# 2. The headers: cargo fetches the crate through its registry
# configuration into its own cache; a throwaway manifest names it.
CARGO=$(command -v cargo || echo "$HOME/.cargo/bin/cargo")
echo "fetch-duckdb: $CRATE $CRATE_VERSION (crates.io)"
mkdir -p "$tmp/cargo/src"
cat > "$tmp/cargo/Cargo.toml" <<EOF
[package]
name = "infino-fetch-duckdb"
version = "0.0.0"
edition = "2021"

[dependencies]
$CRATE = { version = "=$CRATE_VERSION", default-features = false }
EOF
: > "$tmp/cargo/src/lib.rs"
"$CARGO" fetch -q --manifest-path "$tmp/cargo/Cargo.toml"
home=${CARGO_HOME:-$HOME/.cargo}
crate=$(ls "$home"/registry/cache/*/"$CRATE-$CRATE_VERSION.crate" | head -n 1)
got=$(sha256sum "$crate" | cut -d' ' -f1)
if [ "$got" != "$CRATE_SHA256" ]; then
  echo "fetch-duckdb: $crate: sha256 $got, expected $CRATE_SHA256" >&2
  exit 1
fi
tar -xzOf "$crate" "$CRATE-$CRATE_VERSION/duckdb.tar.gz" > "$tmp/duckdb.tar.gz"
tar -xzf "$tmp/duckdb.tar.gz" -C "$tmp" duckdb/src/include
rm -rf "$DEST/include"
mv "$tmp/duckdb/src/include" "$DEST/include"

rm -rf "$tmp"
echo "$want" > "$STAMP"
echo "fetch-duckdb: DuckDB $DUCKDB_VERSION in $DEST"
