#!/usr/bin/env bash
# Installs what the browser clients need: the Node dependencies of this folder (npm ci, when
# node_modules is missing or older than package-lock.json) and, with --browser, Debian's Chromium
# at /usr/bin/chromium for the browser tests (playwright-core downloads no browser).
# Idempotent and non-interactive: it does nothing when everything is in place.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export DEBIAN_FRONTEND=noninteractive

if [ "${1:-}" = "--browser" ] && [ ! -x /usr/bin/chromium ]; then
  sudo_cmd=()
  if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo -E)
  fi
  echo "install.sh: installing chromium" >&2
  ${sudo_cmd[@]+"${sudo_cmd[@]}"} apt-get update
  ${sudo_cmd[@]+"${sudo_cmd[@]}"} apt-get install -y --no-install-recommends chromium
fi

cd "$here"
# One install at a time: the end-to-end tests run this from several test threads.
exec 9>"$here/.install.lock"
flock 9
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules ]; then
  echo "install.sh: npm ci in web/" >&2
  npm ci --no-audit --no-fund
  # npm ci recreates node_modules, but make its time later than the lock file's in any case.
  touch node_modules
fi
