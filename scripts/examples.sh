#!/usr/bin/env bash
# Runs every client in examples/ against a sandbox and checks what each one
# prints. It builds the gateway, starts a sandbox on free loopback ports,
# exports the proto bundle (scripts/export-protos.sh, into dist/), generates
# the Node.js (Connect-ES, buf + protoc-gen-es from npm) and Python (Debian's
# python3-grpc-tools) stubs from it, builds the Go client, and runs the five
# clients: node, python, go, curl.sh and grpcurl.sh. Each prints a fixed
# summary; a missing or different line fails the run with the client's
# output and the server's log. At the end the sandbox is stopped with
# SIGTERM and must exit 0.
#
#   scripts/examples.sh
#
# Needs: Go, Node.js 20+ with npm, /usr/bin/python3 with Debian's
# python3-grpcio, python3-grpc-tools, python3-protobuf and
# python3-pkg-resources, grpcurl, jq and curl (.ci/run installs the Debian
# ones).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
gopath=$(go env GOPATH)
export PATH="$root/tools/node_modules/.bin:$gopath/bin:$PATH"
python=${PYTHON:-/usr/bin/python3}

for tool in grpcurl jq curl node npm "$python"; do
  command -v "$tool" >/dev/null || { echo "examples: $tool is missing" >&2; exit 1; }
done
"$python" -c 'import grpc, grpc_tools.protoc, google.protobuf' 2>/dev/null || {
  echo "examples: $python lacks grpc, grpc_tools or google.protobuf (apt-get install python3-grpcio python3-grpc-tools python3-protobuf python3-pkg-resources)" >&2
  exit 1
}

work=$(mktemp -d)
log=$work/server.log
pid=
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "examples: FAIL: $*" >&2
  echo "--- server log:" >&2
  cat "$log" >&2 || true
  exit 1
}

echo "examples: building the gateway and the Go client"
go build -trimpath -o "$work/defender-gateway" ./cmd/server
go build -o /dev/null ./examples/go

# Two free loopback ports (the kernel picks them; a rare race with another
# process shows as a failed start below).
read -r grpc_port http_port < <("$python" -c '
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))')
export GATEWAY_GRPC_ADDR=127.0.0.1:$grpc_port GATEWAY_HTTP_ADDR=127.0.0.1:$http_port

"$work/defender-gateway" --sandbox --grpc-addr "$GATEWAY_GRPC_ADDR" --http-addr "$GATEWAY_HTTP_ADDR" \
  --watch-poll-interval 200ms >"$log" 2>&1 &
pid=$!
for _ in $(seq 1 150); do
  curl -fsS "http://$GATEWAY_HTTP_ADDR/healthz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || fail "the sandbox exited at start"
  sleep 0.2
done
curl -fsS "http://$GATEWAY_HTTP_ADDR/healthz" >/dev/null 2>&1 || fail "the sandbox did not become healthy"
echo "examples: sandbox on gRPC $GATEWAY_GRPC_ADDR, HTTP $GATEWAY_HTTP_ADDR"

./scripts/export-protos.sh dist
echo "examples: generating the Node.js stubs (npm ci, buf generate with protoc-gen-es)"
(cd examples/node && npm ci --no-audit --no-fund --loglevel=error && PROTOS="$root/dist/protos" npm run --silent generate)
examples/python/generate.sh dist

# The lines every client prints, as whole-line extended regexps.
common=(
  'list incidents=3'
  'get id=[0-9]+ alerts=[0-9]+'
  'query columns=2 rows=4'
  'stream columns=15 batches=3 rows=1200'
  'watch first=heartbeat change=UPDATED'
  'error code=INVALID_ARGUMENT reason=INVALID_ARGUMENT domain=defender.gateway field=parent'
)

# check NAME EXTRA-PATTERN... -- COMMAND...: runs a client and checks its
# output for the common lines and the extra ones.
check() {
  local name=$1 out=$work/$1.out patterns=("${common[@]}")
  shift
  while [ "$1" != -- ]; do patterns+=("$1"); shift; done
  shift
  echo
  echo "== $name: $*"
  local rc=0
  "$@" >"$out" 2>&1 || rc=$?
  cat "$out"
  [ "$rc" = 0 ] || fail "$name exited $rc"
  for p in "${patterns[@]}"; do
    grep -qxE -- "$p" "$out" || fail "$name did not print a line matching: $p"
  done
  echo "-- $name: ${#patterns[@]} lines checked"
}

check node -- node examples/node/client.js
check python -- "$python" examples/python/client.py
check go -- go run ./examples/go
check curl.sh \
  'update id=[0-9]+ assignedTo=soc-examples@contoso.com' \
  '  HTTP 400: parent: .*' \
  -- examples/curl.sh
check grpcurl.sh \
  '  defender\.v1\.HuntingService' \
  '  defender\.v1\.IncidentService' \
  'reflection services=[1-9][0-9]*' \
  'health SERVING incidents=SERVING' \
  'protoset incidents=3' \
  '  exit 67: parent: .*' \
  -- env GATEWAY_PROTOSET=dist/defender-gateway.binpb examples/grpcurl.sh

kill -TERM "$pid"
rc=0
wait "$pid" || rc=$?
pid=
[ "$rc" = 0 ] || fail "the sandbox exited $rc on SIGTERM"
echo
echo "examples: ok (node, python, go, curl.sh, grpcurl.sh)"
