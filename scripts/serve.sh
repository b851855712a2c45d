#!/usr/bin/env bash
# Installs the build packages (quick when they are already there), builds the
# `recd` target in build/ and runs `recd serve` with the given arguments, e.g.
#   scripts/serve.sh                                    demo catalog, 0.0.0.0:50051, metrics :9464
#   scripts/serve.sh --config config/recd.yaml --data-dir ./recd-data
# Relative paths in the arguments are relative to the current directory.
#   BUILD_DIR   build directory (default: <repo>/build)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build_dir="${BUILD_DIR:-$root/build}"

# Build output goes to stderr so that recd's own stdout stays clean.
{
  bash "$root/scripts/install-deps.sh"
  if [ ! -f "$build_dir/CMakeCache.txt" ]; then
    cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
  fi
  cmake --build "$build_dir" --target recd
} >&2

exec "$build_dir/server/recd" serve "$@"
