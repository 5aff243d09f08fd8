#!/usr/bin/env bash
# Installs what a fresh machine lacks for this repo: the pinned pnpm, the workspace's packages,
# and a build. Idempotent; the second run does no network work.
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
