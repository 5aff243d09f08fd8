#!/usr/bin/env bash
# Installs what a fresh machine lacks for this repo: the pinned pnpm, the workspace's packages,
# a build, and Debian's Chromium for the browser test. Idempotent; the second run does no network work.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

PNPM_VERSION=$(node -p "require('./package.json').packageManager.split('@')[1]")
if [ "$(pnpm --version 2>/dev/null || true)" != "$PNPM_VERSION" ]; then
  echo "setup: installing pnpm $PNPM_VERSION"
  npm install --global --silent "pnpm@$PNPM_VERSION"
fi
export TURBO_TELEMETRY_DISABLED=1
# CI must install exactly the lockfile; a developer may add packages.
if [ -n "${CI:-}" ]; then pnpm install --frozen-lockfile; else pnpm install; fi
pnpm exec turbo run build --output-logs=errors-only

# Debian's Chromium for the dashboard's browser test (packages/cli, driven by playwright-core).
# Nothing to do when it is there; without root or apt-get the test says how to get it.
if ! command -v chromium >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "setup: apt-get install chromium"
    apt=(apt-get -q -o DPkg::Lock::Timeout=600)
    "${apt[@]}" install -y -qq chromium </dev/null >/dev/null 2>&1 ||
      { "${apt[@]}" update -qq && "${apt[@]}" install -y -qq chromium </dev/null >/dev/null; }
  else
    echo "setup: no chromium (the dashboard's browser test needs /usr/bin/chromium: apt-get install chromium)" >&2
  fi
fi
