#!/usr/bin/env bash
# Runs every libFuzzer target in BUILD_DIR for SECONDS each, starting from
# fuzz/corpus/<target>/ (new inputs go to a scratch dir, not into git).
# A crash leaves its input in fuzz/artifacts/ and fails the run.
set -euo pipefail
build=$1
seconds=$2
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$root/fuzz/artifacts"
shopt -s nullglob
targets=("$build"/fuzz_*)
if [ ${#targets[@]} -eq 0 ]; then
  echo "run-fuzzers: no fuzz targets were built" >&2
  exit 1
fi
for t in "${targets[@]}"; do
  name=$(basename "$t")
  [ -x "$t" ] || continue
  scratch=$(mktemp -d)
  seeds="$root/fuzz/corpus/$name"
  mkdir -p "$seeds"
  echo "fuzz: $name for ${seconds}s"
  if ! "$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
       -artifact_prefix="$root/fuzz/artifacts/$name-" -print_final_stats=0 \
       "$scratch" "$seeds" >"$scratch.log" 2>&1; then
    tail -40 "$scratch.log" >&2
    echo "fuzz: $name FAILED; reproducer in fuzz/artifacts/" >&2
    exit 1
  fi
  grep -E '^(#[0-9]+ *DONE|Done)' "$scratch.log" | tail -1 || true
  rm -rf "$scratch" "$scratch.log"
done
