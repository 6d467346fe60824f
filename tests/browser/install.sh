#!/usr/bin/env bash
# Installs what the kiosk browser test needs: Debian's Chromium at /usr/bin/chromium and the
# Node dependencies of this folder (playwright-core, which downloads no browser). Idempotent and
# non-interactive: it does nothing when both are already in place.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive

if [ ! -x /usr/bin/chromium ]; then
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo -E)
  fi
  echo "install.sh: installing chromium" >&2
  ${sudo_cmd[@]+"${sudo_cmd[@]}"} apt-get update
  ${sudo_cmd[@]+"${sudo_cmd[@]}"} apt-get install -y --no-install-recommends chromium
fi

cd "$here"
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  echo "install.sh: npm ci" >&2
  npm ci --no-audit --no-fund
  # npm ci recreates node_modules, but make its time later than the lock file's in any case.
  touch node_modules
fi
