#!/usr/bin/env bash
# Starts credkeep on a temporary data directory and runs the browser tests
# (node --test) against it in Debian's chromium.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "browser tests: node is required"; exit 1; }
chromium=${CHROMIUM:-/usr/bin/chromium}
[ -x "$chromium" ] || { echo "browser tests: $chromium is missing (apt-get install chromium)"; exit 1; }
npm ci --no-audit --no-fund --silent
tmp=$(mktemp -d /tmp/ckbrowser.XXXXXX)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -tags cse -o "$tmp/credkeep" ..
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export CREDKEEP_DATA_DIR="$tmp/data" CREDKEEP_ADDR="127.0.0.1:$port" MONGODB_URI= CREDKEEP_LOG_LEVEL=error CREDKEEP_PLAYGROUND=true
export CREDKEEP_JWT_SECRET="browser-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"$tmp/credkeep" >"$tmp/server.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
export CREDKEEP_URL="http://127.0.0.1:$port" CREDKEEP_ADMIN_JWT=$("$tmp/credkeep" token --sub browser-admin --admin)
export CHROMIUM=$chromium
node --test --test-concurrency=1 ${TESTS:-./*.test.mjs}
