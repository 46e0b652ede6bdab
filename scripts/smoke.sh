#!/usr/bin/env bash
# Smoke test: builds the binary, starts it in sandbox mode on loopback, and
# exercises it as a user would with grpcurl (reflection, health, one call) and
# curl (one REST call and the OpenAPI document); then stops it with SIGTERM
# and expects a clean exit.
set -euo pipefail
cd "$(dirname "$0")/.."
grpc_addr=127.0.0.1:${SMOKE_GRPC_PORT:-15051}
http_addr=127.0.0.1:${SMOKE_HTTP_PORT:-18080}
bin=$(mktemp -d)/defender-gateway
log=$(mktemp)
go build -trimpath -o "$bin" ./cmd/server

"$bin" --sandbox --grpc-addr "$grpc_addr" --http-addr "$http_addr" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; echo "--- server log:"; cat "$log"' ERR

for _ in $(seq 1 100); do
  curl -fsS "http://$http_addr/healthz" >/dev/null 2>&1 && break
  sleep 0.2
done

# has PATTERN: stdin contains PATTERN. It reads all of stdin, unlike grep -q,
# whose early exit can fail the writer (curl: 23) under pipefail.
has() { grep -- "$1" >/dev/null; }

set -x
grpcurl -plaintext "$grpc_addr" list | has defender.v1.IncidentService
grpcurl -plaintext "$grpc_addr" describe defender.v1.IncidentService.ListIncidents >/dev/null
grpcurl -plaintext "$grpc_addr" grpc.health.v1.Health/Check | has SERVING
grpcurl -plaintext -d '{"parent":"tenants/default","page_size":3}' "$grpc_addr" \
  defender.v1.IncidentService/ListIncidents | has '"nextPageToken"'
curl -fsS "http://$http_addr/v1/tenants/default/incidents?pageSize=2" | has '"incidents"'
curl -fsS "http://$http_addr/openapi.json" | has '"swagger"'
"$bin" healthcheck --grpc-addr "$grpc_addr"
set +x

kill -TERM "$pid"
wait "$pid"
trap - ERR
echo "smoke: ok"
