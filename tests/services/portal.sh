#!/usr/bin/env bash
# Starts or stops the whole portal under `cargo lambda watch` for the end-to-end and browser
# tests, on 127.0.0.1:$SWITCHBOARD_TEST_PORT (default 9300), with a fresh session key and one
# test user: tester / tester-password-123.
#   tests/services/portal.sh start | stop
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"

PORT=${SWITCHBOARD_TEST_PORT:-9300}
STATE="$ROOT/target/test-services/portal"
URL="http://127.0.0.1:$PORT"

start() {
  mkdir -p "$STATE"
  cat > "$STATE/env" <<ENV
SWITCHBOARD_SESSION_KEY='$(random_key)'
SWITCHBOARD_USERS='tester=\$argon2id\$v=19\$m=19456,t=2,p=1\$sBxaoZ7eXyiKjA2CbTevcA\$amXWImyMsCwOAefSOy58WR7OQMkRdbLdzI2IG/7gI0E'
ENV
  say "Building the function binaries (cargo lambda watch runs these)"
  cargo build --bins --quiet

  say "Starting cargo lambda watch on $URL (log: target/test-services/portal/watch.log)"
  setsid cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$PORT" \
    --env-file "$STATE/env" --ignore-changes > "$STATE/watch.log" 2>&1 &
  echo $! > "$STATE/pid"

  local deadline=$((SECONDS + 300))
  until curl -fsS -o /dev/null "$URL/login" 2>/dev/null; do
    if ! kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
      cat "$STATE/watch.log" >&2; die "cargo lambda watch exited"
    fi
    [ $SECONDS -lt $deadline ] || { cat "$STATE/watch.log" >&2; die "the portal did not answer within 300 s"; }
    sleep 1
  done
  # Each function starts on its first request; start them all now so tests see warm ones.
  for path in / /logout /no-such-page; do curl -sS -o /dev/null "$URL$path"; done
  say "The portal is up at $URL"
}

stop() {
  [ -f "$STATE/pid" ] || return 0
  local pid; pid=$(cat "$STATE/pid")
  if kill -0 "$pid" 2>/dev/null; then
    say "Stopping cargo lambda watch"
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$STATE/pid"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop" ;;
esac
