#!/usr/bin/env bash
# Starts or stops a real OpenID provider (npm oidc-provider, tests/services/oidc/provider.mjs)
# on 127.0.0.1:$SWITCHBOARD_TEST_OIDC_PORT (default 8302), with a client registered for both
# test portals (SWITCHBOARD_TEST_PORT, SWITCHBOARD_TEST_DYNAMODB_PORTAL_PORT).
#   tests/services/oidc.sh start | stop
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
PORT=${SWITCHBOARD_TEST_OIDC_PORT:-8302}
STATE="$ROOT/target/test-services/oidc"

case "${1:-}" in
  start)
    ensure_oidc_provider
    stop_service "$STATE" || true
    say "Starting the OpenID provider (oidc-provider) on 127.0.0.1:$PORT"
    start_service "$STATE" node "$ROOT/tests/services/oidc/provider.mjs" "$PORT" \
      "http://127.0.0.1:${SWITCHBOARD_TEST_PORT:-9300}" \
      "http://127.0.0.1:${SWITCHBOARD_TEST_DYNAMODB_PORTAL_PORT:-9301}"
    wait_for_http "http://127.0.0.1:$PORT/.well-known/openid-configuration" 30 \
      || { cat "$STATE/log" >&2; die "the OpenID provider did not start"; }
    ;;
  stop) stop_service "$STATE" ;;
  *) die "usage: $0 start|stop" ;;
esac
