#!/usr/bin/env bash
# The client checks, against servers started on temporary data directories:
#  1. the graphql-http audit (GraphQL over HTTP; exits non-zero on any MUST failure);
#  2. the Apollo Client and urql (Graphcache) checks (apollo.mjs, urql.mjs);
#  3. a settings page as a frontend team builds it (settings.ts): Codegen's client
#     preset under tsc --strict, Apollo's persisted-query link, and the ids of
#     `credkeep manifest` equal to those of @apollo/generate-persisted-query-manifest;
#  4. Codegen's persisted-documents.json loaded as the trusted documents;
#  5. events (events.mjs): graphql-ws and graphql-sse subscriptions, and a
#     webhook receiver verifying signatures with the standardwebhooks package.
set -euo pipefail
cd "$(dirname "$0")"
command -v node >/dev/null || { echo "conformance: node is required"; exit 1; }
npm ci --no-audit --no-fund --silent
tmp=$(mktemp -d /tmp/ckconf.XXXXXX)
# Servers record their pids in a file: start runs in a command substitution,
# a subshell, where appending to an array of this shell would be lost (and
# the servers left running after the script, as they were).
trap 'kill $(cat "$tmp/pids" 2>/dev/null) 2>/dev/null || true; rm -rf "$tmp"' EXIT
go build -tags cse -o "$tmp/credkeep" ..

# The settings page's documents: typed, compiled, and listed by both tools.
rm -rf gql build
npx graphql-codegen --config codegen.yml --silent
npx tsc -p .
npx generate-persisted-query-manifest --config persisted-query-manifest.config.json >/dev/null
"$tmp/credkeep" manifest settings -o "$tmp/credkeep-manifest.json"
node manifests.mjs "$tmp/credkeep-manifest.json" build/apollo-manifest.json

export CREDKEEP_JWT_SECRET="conformance-secret-$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export MONGODB_URI= CREDKEEP_LOG_LEVEL=error
# start NAME [VAR=VALUE...]: a server on a free port; prints its /graphql URL.
start() {
  local name=$1 port
  shift
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  env CREDKEEP_DATA_DIR="$tmp/$name" CREDKEEP_ADDR="127.0.0.1:$port" "$@" "$tmp/credkeep" >"$tmp/$name.log" 2>&1 &
  echo $! >>"$tmp/pids"
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && break; sleep 0.1; done
  echo "http://127.0.0.1:$port/graphql"
}

url=$(start main CREDKEEP_PERSISTED_QUERIES="$tmp/credkeep-manifest.json")
token=$("$tmp/credkeep" token --sub conformance --admin)
node audit.mjs "$url" "$token"
member=$("$tmp/credkeep" token --sub apollo-member)
node apollo.mjs "$url" "$token" "$member" apollo-member
member=$("$tmp/credkeep" token --sub urql-member)
node urql.mjs "$url" "$token" "$member" urql-member
owner=$("$tmp/credkeep" token --sub settings-owner)
member=$("$tmp/credkeep" token --sub settings-member)
node build/settings.js "$url" "$owner" "$member" settings-member build/apollo-manifest.json

url=$(start codegen CREDKEEP_PERSISTED_QUERIES="$PWD/gql/persisted-documents.json")
node codegen-documents.mjs "$url" "$owner" gql/persisted-documents.json

url=$(start events CREDKEEP_ALLOW_PRIVATE_TARGETS=true)
node events.mjs "$url" "$owner"
