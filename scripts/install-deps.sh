#!/usr/bin/env bash
# Installs the Debian packages listed in scripts/packages.txt.
# Skips apt entirely when every package is already installed (checked with
# `dpkg -s`), so a second run takes well under a second. Uses sudo only when
# not run as root.
#   scripts/install-deps.sh            install what is missing
#   scripts/install-deps.sh --check    only report what is missing (exit 1 if any)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
list="${RECD_PACKAGES_FILE:-$here/packages.txt}"

check_only=0
case "${1:-}" in
  "") ;;
  --check) check_only=1 ;;
  *) echo "usage: $0 [--check]" >&2; exit 2 ;;
esac

mapfile -t packages < <(sed -e 's/#.*//' "$list" | tr -s '[:space:]' '\n' | sed '/^$/d')
if [ "${#packages[@]}" -eq 0 ]; then
  echo "install-deps: no packages listed in $list" >&2
  exit 1
fi

missing=()
for p in "${packages[@]}"; do
  # `dpkg -s` also succeeds for removed-but-not-purged packages: look at Status.
  if ! dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed$'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi
echo "install-deps: missing ${#missing[@]} of ${#packages[@]}: ${missing[*]}"
if [ "$check_only" -eq 1 ]; then
  exit 1
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps: not root and sudo is not available; install as root: ${missing[*]}" >&2
    exit 1
  fi
  sudo=(sudo)
fi

# A few retries: a mirror hiccup should not fail a CI run.
retry() {
  local n
  for n in 1 2 3; do
    if "$@"; then return 0; fi
    echo "install-deps: attempt $n failed: $*" >&2
    sleep $((n * 5))
  done
  return 1
}

apt_env=(env DEBIAN_FRONTEND=noninteractive)
retry "${sudo[@]}" "${apt_env[@]}" apt-get update
retry "${sudo[@]}" "${apt_env[@]}" apt-get install -y --no-install-recommends \
  -o DPkg::Lock::Timeout=300 "${missing[@]}"
echo "install-deps: installed ${missing[*]}"
