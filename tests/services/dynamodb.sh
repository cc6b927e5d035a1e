#!/usr/bin/env bash
# Starts or stops DynamoDB Local (in memory, telemetry off) on 127.0.0.1:$SWITCHBOARD_TEST_DYNAMODB_PORT
# (default 8300) for the tests.   tests/services/dynamodb.sh start | stop
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
PORT=${SWITCHBOARD_TEST_DYNAMODB_PORT:-8300}
STATE="$ROOT/target/test-services/dynamodb"

case "${1:-}" in
  start)
    ensure_dynamodb_local
    say "Starting DynamoDB Local on 127.0.0.1:$PORT"
    # -disableTelemetry: nothing may call out.
    start_service "$STATE" java -Djava.library.path="$DYNAMODB_LOCAL/DynamoDBLocal_lib" \
      -jar "$DYNAMODB_LOCAL/DynamoDBLocal.jar" -inMemory -port "$PORT" -disableTelemetry
    wait_for_http "http://127.0.0.1:$PORT" 60 || { cat "$STATE/log" >&2; die "DynamoDB Local did not start"; }
    ;;
  stop) stop_service "$STATE" ;;
  *) die "usage: $0 start|stop" ;;
esac
