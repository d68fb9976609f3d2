#!/usr/bin/env bash
# Starts credkeep on a temporary data directory and runs the graphql-http audit
# against it with a platform admin's JWT (exits non-zero on any MUST failure),
# then the Apollo Client check (apollo.mjs).
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "conformance: node is required"; exit 1; }
npm ci --no-audit --no-fund --silent
tmp=$(mktemp -d /tmp/ckconf.XXXXXX)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -tags cse -o "$tmp/credkeep" ..
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null || echo 18099)
export CREDKEEP_DATA_DIR="$tmp/data" CREDKEEP_ADDR="127.0.0.1:$port" MONGODB_URI= CREDKEEP_LOG_LEVEL=error
export CREDKEEP_JWT_SECRET="conformance-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
"$tmp/credkeep" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
token=$("$tmp/credkeep" token --sub conformance --admin)
node audit.mjs "http://127.0.0.1:$port/graphql" "$token"
member=$("$tmp/credkeep" token --sub apollo-member)
node apollo.mjs "http://127.0.0.1:$port/graphql" "$token" "$member" apollo-member
