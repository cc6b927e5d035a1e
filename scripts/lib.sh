# Helpers shared by scripts/local and scripts/test: say what is happening, install what is
# missing. Sourced, not run.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else die "need root to run: $* (install it yourself, or install sudo)"; fi
}

apt_updated=""
apt_install() {
  command -v apt-get >/dev/null || die "missing $*, and apt-get is not here to install it"
  if [ -z "$apt_updated" ]; then
    say "Updating Debian's package lists"
    as_root apt-get update -qq
    apt_updated=1
  fi
  say "Installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# cargo-lambda (with zig for cross builds) from PyPI, in a project-local virtualenv unless it is
# already on PATH.
ensure_cargo_lambda() {
  if [ -x "$TOOLS/venv/bin/cargo-lambda" ]; then
    export PATH="$TOOLS/venv/bin:$PATH"
  fi
  if cargo lambda --version >/dev/null 2>&1; then return; fi
  command -v python3 >/dev/null || apt_install python3
  if ! python3 -m venv --help >/dev/null 2>&1 || ! python3 -c 'import ensurepip' 2>/dev/null; then
    apt_install python3-venv python3-pip
  fi
  say "Installing cargo-lambda from PyPI into .tools/venv"
  python3 -m venv "$TOOLS/venv"
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check cargo-lambda
  export PATH="$TOOLS/venv/bin:$PATH"
  cargo lambda --version >/dev/null || die "cargo-lambda did not install"
}

ensure_node() {
  if command -v node >/dev/null && command -v npm >/dev/null; then return; fi
  apt_install nodejs npm
}

ensure_chromium() {
  if [ -x /usr/bin/chromium ]; then return; fi
  apt_install chromium
}

ensure_browser_packages() {
  ensure_node
  local dir="$ROOT/tests/browser"
  if [ ! -d "$dir/node_modules/playwright-core" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    say "Installing the browser tests' npm packages (playwright-core, axe-core)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# The OpenID provider the single sign-on tests sign in at (npm oidc-provider).
ensure_oidc_provider() {
  ensure_node
  local dir="$ROOT/tests/services/oidc"
  if [ ! -d "$dir/node_modules/oidc-provider" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules" ]; then
    say "Installing the test OpenID provider's npm packages (oidc-provider)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# A base64 key of 64 random bytes, for the session cookie.
random_key() { head -c 64 /dev/urandom | base64 | tr -d '\n'; }

ensure_java() {
  if command -v java >/dev/null && java -version 2>&1 | grep -qE 'version "(1[7-9]|2[0-9])'; then return; fi
  apt_install openjdk-17-jre-headless
}

# DynamoDB Local, AWS's own implementation, as shipped inside the npm package
# amplify-dynamodb-simulator (only the package itself is fetched, not its dependencies).
DYNAMODB_LOCAL="$TOOLS/dynamodb-local/package/emulator"
ensure_dynamodb_local() {
  ensure_java
  if [ -f "$DYNAMODB_LOCAL/DynamoDBLocal.jar" ]; then return; fi
  ensure_node
  say "Fetching DynamoDB Local (npm package amplify-dynamodb-simulator) into .tools/dynamodb-local"
  mkdir -p "$TOOLS/dynamodb-local"
  (cd "$TOOLS/dynamodb-local" && npm pack amplify-dynamodb-simulator@2.9.30 --silent >/dev/null \
    && tar xzf amplify-dynamodb-simulator-2.9.30.tgz && rm amplify-dynamodb-simulator-2.9.30.tgz)
  [ -f "$DYNAMODB_LOCAL/DynamoDBLocal.jar" ] || die "DynamoDB Local did not unpack"
}

# moto's Secrets Manager server, from PyPI, in the project's virtualenv unless already on PATH.
ensure_moto() {
  if [ -x "$TOOLS/venv/bin/moto_server" ]; then export PATH="$TOOLS/venv/bin:$PATH"; fi
  if command -v moto_server >/dev/null && moto_server --help >/dev/null 2>&1; then return; fi
  [ -x "$TOOLS/venv/bin/pip" ] || python3 -m venv "$TOOLS/venv"
  say "Installing moto[server] from PyPI into .tools/venv"
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]"
  export PATH="$TOOLS/venv/bin:$PATH"
}

# The official `openai` Python SDK (and boto3, which the SDK tests use to reach DynamoDB
# Local) from PyPI, in the project's virtualenv: the API's tests drive the portal with it.
ensure_openai_sdk() {
  [ -x "$TOOLS/venv/bin/pip" ] || python3 -m venv "$TOOLS/venv"
  if "$TOOLS/venv/bin/python" -c "import openai, boto3" 2>/dev/null; then return; fi
  say "Installing the openai SDK and boto3 from PyPI into .tools/venv"
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check openai boto3
}

# Waits until `curl` gets any HTTP answer from $1, or gives up after $2 seconds.
wait_for_http() {
  local deadline=$((SECONDS + $2))
  until curl -s -o /dev/null "$1"; do
    [ $SECONDS -lt $deadline ] || return 1
    sleep 0.5
  done
}

# Starts a command in its own process group, logging to $2/log and recording its pid.
start_service() {
  local dir=$1; shift
  mkdir -p "$dir"
  setsid "$@" > "$dir/log" 2>&1 &
  echo $! > "$dir/pid"
}

stop_service() {
  local dir=$1
  [ -f "$dir/pid" ] || return 0
  local pid; pid=$(cat "$dir/pid")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM -- "-$pid" 2>/dev/null || true
    for _ in $(seq 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -KILL -- "-$pid" 2>/dev/null || true
  fi
  rm -f "$dir/pid"
}

# The AWS SAM CLI and cfn-lint from PyPI, in the project's virtualenv unless already on PATH.
ensure_sam() {
  if [ -x "$TOOLS/venv/bin/sam" ]; then export PATH="$TOOLS/venv/bin:$PATH"; fi
  if command -v sam >/dev/null && command -v cfn-lint >/dev/null; then return; fi
  [ -x "$TOOLS/venv/bin/pip" ] || python3 -m venv "$TOOLS/venv"
  say "Installing aws-sam-cli and cfn-lint from PyPI into .tools/venv"
  "$TOOLS/venv/bin/pip" install --quiet --disable-pip-version-check aws-sam-cli cfn-lint
  export PATH="$TOOLS/venv/bin:$PATH"
}

# Runs the SAM CLI offline: no telemetry, fake credentials, and an endpoint that goes nowhere.
sam_offline() {
  SAM_CLI_TELEMETRY=0 AWS_ACCESS_KEY_ID=offline AWS_SECRET_ACCESS_KEY=offline \
    AWS_DEFAULT_REGION=eu-west-1 AWS_ENDPOINT_URL=http://127.0.0.1:1 sam "$@"
}
