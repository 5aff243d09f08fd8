#!/usr/bin/env bash
# The two commands of the README:
#   bash tooling/scripts/dev.sh demo [demo options]   set up, then run the demo (memory:// by default)
#   bash tooling/scripts/dev.sh test                  set up, then lint, typecheck and run every test
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
export TURBO_TELEMETRY_DISABLED=1

command=${1:-}
shift || true
case "$command" in
  demo)
    bash tooling/scripts/setup.sh
    exec node apps/demo/dist/main.js "$@"
    ;;
  test)
    bash tooling/scripts/setup.sh
    pnpm exec biome check --config-path tooling/biome .
    pnpm exec turbo run typecheck --output-logs=errors-only
    # Real Redis (+ Cluster), RabbitMQ, Kafka and SQS for the tests: installs what is missing,
    # starts what is not running, returns once each answered a client round trip (tooling/brokers).
    bash tooling/brokers/brokers.sh up all
    # Stale result files would be counted by the summary: remove them, turbo restores cached ones.
    find packages apps tooling examples -type d -name test-results -prune -exec rm -rf {} + 2>/dev/null || true
    status=0
    pnpm exec turbo run test --concurrency=1 --continue "$@" || status=$?
    node tooling/scripts/summarize-tests.mjs || status=$?
    exit "$status"
    ;;
  *)
    echo "usage: bash tooling/scripts/dev.sh demo|test" >&2
    exit 2
    ;;
esac
