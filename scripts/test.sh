#!/usr/bin/env bash
# Installs the packages of scripts/packages.txt (quick when they are already
# there), configures build/ (CMake + Ninja, RelWithDebInfo), builds everything
# and runs the test suite. Extra arguments go to the CMake configure step,
# e.g. scripts/test.sh -DRECD_SANITIZE=ON (use another BUILD_DIR for that).
#   BUILD_DIR   build directory (default: build)
#   CTEST_JOBS  parallel tests (default: 2)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
build_dir="${BUILD_DIR:-build}"

cache="$build_dir/CMakeCache.txt"
if [ -f "$cache" ] && ! grep -q '^CMAKE_GENERATOR:INTERNAL=Ninja$' "$cache"; then
  echo "test.sh: $build_dir was configured with another generator than Ninja; remove it (rm -rf $build_dir) or set BUILD_DIR" >&2
  exit 1
fi

bash scripts/install-deps.sh
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@"
cmake --build "$build_dir"
ctest --test-dir "$build_dir" --output-on-failure --no-tests=error -j "${CTEST_JOBS:-2}"
