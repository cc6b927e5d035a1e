#!/usr/bin/env bash
# Starts or stops the whole portal under `cargo lambda watch` for the end-to-end and browser
# tests, in one of two flavours:
#   embedded  the SQLite store, session key from the environment   127.0.0.1:9300
#   dynamodb  DynamoDB Local, session keys from the Secrets Manager server, attachments in
#             its S3 (both must be running: tests/services/dynamodb.sh and secrets.sh)
#                                                                   127.0.0.1:9301
# (The embedded one keeps attachments in a directory beside its SQLite file.)
# Both have one bootstrap admin, tester / tester-password-123, open sign-up, single sign-on
# with the test OpenID provider (tests/services/oidc.sh, started separately), and a model
# catalogue of the fake provider's models (tests/fake-provider), which this script starts on
# the portal's port + 10 and stops with it; it serves the Bedrock runtime too
# (AWS_ENDPOINT_URL_BEDROCK_RUNTIME, with test credentials).
#   tests/services/portal.sh start|stop embedded|dynamodb
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
cd "$ROOT"

FLAVOUR=${2:-embedded}
case "$FLAVOUR" in
  embedded) PORT=${SWITCHBOARD_TEST_PORT:-9300} ;;
  dynamodb) PORT=${SWITCHBOARD_TEST_DYNAMODB_PORTAL_PORT:-9301} ;;
  *) die "unknown flavour $FLAVOUR (embedded or dynamodb)" ;;
esac
STATE="$ROOT/target/test-services/portal-$FLAVOUR"
FAKE_PORT=$((PORT + 10))
URL="http://127.0.0.1:$PORT"
DYNAMODB_URL="http://127.0.0.1:${SWITCHBOARD_TEST_DYNAMODB_PORT:-8300}"
SECRETS_URL="http://127.0.0.1:${SWITCHBOARD_TEST_SECRETS_PORT:-8301}"
OIDC_URL="http://127.0.0.1:${SWITCHBOARD_TEST_OIDC_PORT:-8302}"

# Creates a secret in the local Secrets Manager server (it does not check signatures).
create_secret() {
  curl -fsS -o /dev/null -X POST "$SECRETS_URL/" \
    -H 'Content-Type: application/x-amz-json-1.1' \
    -H "X-Amz-Target: secretsmanager.$1" \
    -H 'Authorization: AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/secretsmanager/aws4_request, SignedHeaders=host, Signature=0' \
    -d "$2"
}

write_env() {
  cat <<ENV
SWITCHBOARD_BOOTSTRAP_ADMINS='tester=\$argon2id\$v=19\$m=19456,t=2,p=1\$sBxaoZ7eXyiKjA2CbTevcA\$amXWImyMsCwOAefSOy58WR7OQMkRdbLdzI2IG/7gI0E'
SWITCHBOARD_SIGNUP='open'
SWITCHBOARD_LOGIN_FAILURES_PER_ADDRESS='100000'
SWITCHBOARD_MODELS='$STATE/models.toml'
SWITCHBOARD_PROVIDER_TIMEOUT_SECONDS='2'
SWITCHBOARD_SENDS_PER_MINUTE='30'
SWITCHBOARD_OFFLINE_PACE_MS='5'
AWS_ENDPOINT_URL_BEDROCK_RUNTIME='http://127.0.0.1:$FAKE_PORT'
SWITCHBOARD_OIDC_ISSUER='$OIDC_URL'
SWITCHBOARD_OIDC_CLIENT_ID='switchboard-e2e'
SWITCHBOARD_OIDC_NAME='Test ID'
SWITCHBOARD_OIDC_GROUPS_CLAIM='groups'
SWITCHBOARD_OIDC_END_SESSION='true'
ENV
  case "$FLAVOUR" in
    embedded) cat <<ENV
SWITCHBOARD_SESSION_KEY='$(random_key)'
SWITCHBOARD_SQLITE_PATH='$STATE/store.sqlite3'
SWITCHBOARD_OIDC_CLIENT_SECRET='switchboard-e2e-secret'
AWS_ACCESS_KEY_ID='test'
AWS_SECRET_ACCESS_KEY='test'
AWS_REGION='us-east-1'
AWS_EC2_METADATA_DISABLED='true'
ENV
    ;;
    dynamodb)
      local secret="switchboard/e2e-session-keys-$(date +%s%N)"
      create_secret CreateSecret "{\"Name\":\"$secret\",\"SecretString\":\"{\\\"current\\\":\\\"$(random_key)\\\",\\\"previous\\\":\\\"\\\"}\"}"
      # The client secret from Secrets Manager, as deployed.
      create_secret CreateSecret "{\"Name\":\"$secret-oidc\",\"SecretString\":\"switchboard-e2e-secret\"}"
      # Attachments in S3 (the same moto server), which browsers on the portal may post to.
      local bucket="switchboard-e2e-files-$(date +%s%N)"
      curl -fsS -o /dev/null -X PUT "$SECRETS_URL/$bucket"
      curl -fsS -o /dev/null -X PUT "$SECRETS_URL/$bucket?cors" -H 'Content-Type: application/xml' \
        -d "<CORSConfiguration><CORSRule><AllowedOrigin>$URL</AllowedOrigin><AllowedMethod>POST</AllowedMethod><AllowedMethod>GET</AllowedMethod><AllowedHeader>*</AllowedHeader></CORSRule></CORSConfiguration>"
      cat <<ENV
SWITCHBOARD_STORE='dynamodb'
SWITCHBOARD_TABLE='switchboard-e2e'
SWITCHBOARD_DYNAMODB_CREATE_TABLE='true'
SWITCHBOARD_SESSION_KEYS_SECRET='$secret'
SWITCHBOARD_OIDC_CLIENT_SECRET_ID='$secret-oidc'
SWITCHBOARD_ATTACHMENTS_BUCKET='$bucket'
AWS_ENDPOINT_URL_DYNAMODB='$DYNAMODB_URL'
AWS_ENDPOINT_URL_SECRETS_MANAGER='$SECRETS_URL'
AWS_ENDPOINT_URL_S3='$SECRETS_URL'
AWS_ACCESS_KEY_ID='test'
AWS_SECRET_ACCESS_KEY='test'
AWS_REGION='us-east-1'
AWS_EC2_METADATA_DISABLED='true'
ENV
    ;;
  esac
}

start() {
  # What an earlier start left running (its pid files are about to go) is stopped first.
  stop_service "$STATE" || true
  stop_service "$STATE/fake-provider" || true
  rm -rf "$STATE"
  mkdir -p "$STATE"
  write_env > "$STATE/env"
  say "Building the function binaries (cargo lambda watch runs these) and the fake provider"
  # With the embedded store (`--features embedded`), as cargo lambda watch builds them below.
  cargo build --bins --quiet --features embedded
  cargo build --quiet -p fake-provider

  say "Starting the fake AI provider on 127.0.0.1:$FAKE_PORT"
  "$ROOT/target/debug/fake-provider" catalogue "$FAKE_PORT" > "$STATE/models.toml"
  start_service "$STATE/fake-provider" "$ROOT/target/debug/fake-provider" "$FAKE_PORT"
  # A start that fails from here on stops what it started: nothing is left on the ports.
  trap 'stop_service "$STATE" || true; stop_service "$STATE/fake-provider" || true' EXIT

  say "Starting cargo lambda watch ($FLAVOUR store) on $URL (log: ${STATE#$ROOT/}/log)"
  start_service "$STATE" cargo lambda watch --invoke-address 127.0.0.1 --invoke-port "$PORT" \
    --features embedded --env-file "$STATE/env" --ignore-changes

  local deadline=$((SECONDS + 300))
  until curl -fsS -o /dev/null "$URL/login" 2>/dev/null; do
    if ! kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
      cat "$STATE/log" >&2; die "cargo lambda watch exited"
    fi
    [ $SECONDS -lt $deadline ] || { cat "$STATE/log" >&2; die "the portal did not answer within 300 s"; }
    sleep 1
  done
  # Each function starts on its first request; start them all now so tests see warm ones.
  for path in / /logout /signup /settings /admin /chat/x /no-such-page; do curl -sS -o /dev/null "$URL$path"; done
  trap - EXIT
  say "The portal ($FLAVOUR store) is up at $URL"
}

case "${1:-}" in
  start) start ;;
  stop) stop_service "$STATE"; stop_service "$STATE/fake-provider" ;;
  *) die "usage: $0 start|stop embedded|dynamodb" ;;
esac
