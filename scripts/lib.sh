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
    say "Installing the browser tests' npm packages (playwright-core)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
  fi
}

# A base64 key of 64 random bytes, for the session cookie.
random_key() { head -c 64 /dev/urandom | base64 | tr -d '\n'; }
