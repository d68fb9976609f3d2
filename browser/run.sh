#!/usr/bin/env bash
# Starts, on temporary data directories, a small OpenID Connect provider and
# two credkeep servers (one signing its own development tokens, one trusting
# the provider), and runs the browser tests (node --test) in Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "browser tests: node is required"; exit 1; }
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "browser tests: $chromium is missing (apt-get install chromium)"; exit 1; }
npm ci --no-audit --no-fund --silent
tmp=$(mktemp -d /tmp/ckbrowser.XXXXXX)
# Servers record their pids in a file: start runs in a command substitution,
# a subshell, where appending to an array of this shell would be lost (and
# the servers left running after the script, as they were).
trap 'kill $(cat "$tmp/pids" 2>/dev/null) 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -tags cse -o "$tmp/credkeep" ..

node oidc-provider.mjs "$tmp/issuer" &
echo $! >>"$tmp/pids"
for _ in $(seq 1 100); do [ -s "$tmp/issuer" ] && break; sleep 0.05; done

export MONGODB_URI= CREDKEEP_LOG_LEVEL=error
# start NAME [VAR=VALUE...]: a server on a free port; prints its base URL.
start() {
  local name=$1 port
  shift
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  env CREDKEEP_DATA_DIR="$tmp/$name" CREDKEEP_ADDR="127.0.0.1:$port" "$@" "$tmp/credkeep" >"$tmp/$name.out" 2>"$tmp/$name.log" &
  echo $! >>"$tmp/pids"
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "http://127.0.0.1:$port"
}
# The development server: its sign-in link and the tokens `credkeep token` mints with its key.
export CREDKEEP_URL=$(start dev CREDKEEP_PLAYGROUND=true)
export CREDKEEP_SIGNIN_LINK=$(grep -o 'http://[^ ]*/#token=[^ ]*' "$tmp/dev.out" | head -1)
export CREDKEEP_ADMIN_JWT=${CREDKEEP_SIGNIN_LINK#*#token=}
export CREDKEEP_BIN="$tmp/credkeep" CREDKEEP_DEV_DATA="$tmp/dev"
# The server whose people sign in with OpenID Connect.
export CREDKEEP_OIDC_URL=$(start oidc CREDKEEP_OIDC_ISSUER="$(cat "$tmp/issuer")" CREDKEEP_OIDC_CLIENT_ID=credkeep-console)
export CHROMIUM=$chromium
export CREDKEEP_SCREENSHOTS=${CREDKEEP_SCREENSHOTS:-}
node --test --test-concurrency=1 ${TESTS:-./*.test.mjs}
