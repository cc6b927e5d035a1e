#!/usr/bin/env bash
# Starts or stops a Secrets Manager API server (moto) on 127.0.0.1:$SWITCHBOARD_TEST_SECRETS_PORT
# (default 8301) for the tests.   tests/services/secrets.sh start | stop
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
PORT=${SWITCHBOARD_TEST_SECRETS_PORT:-8301}
STATE="$ROOT/target/test-services/secrets"

case "${1:-}" in
  start)
    ensure_moto
    say "Starting the Secrets Manager server (moto) on 127.0.0.1:$PORT"
    start_service "$STATE" moto_server -H 127.0.0.1 -p "$PORT"
    wait_for_http "http://127.0.0.1:$PORT" 30 || { cat "$STATE/log" >&2; die "moto did not start"; }
    ;;
  stop) stop_service "$STATE" ;;
  *) die "usage: $0 start|stop" ;;
esac
