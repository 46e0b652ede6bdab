#!/usr/bin/env bash
# The gateway's gRPC API with grpcurl and jq, through server reflection (no
# protos needed): list and describe the services, check health, list
# incidents, get one, run a hunting query, stream a larger one, watch for a
# change, and read an error's ErrorInfo.
#
#   GATEWAY_GRPC_ADDR=localhost:50051 examples/grpcurl.sh
#
# The sandbox serves plaintext gRPC and needs no credentials. Against a
# gateway with TLS, replace -plaintext with -cacert/-cert/-key; with caller
# auth jwt set GATEWAY_TOKEN to a bearer token. Where reflection is off, give
# grpcurl the bundle's descriptor set instead: with
# GATEWAY_PROTOSET=dist/defender-gateway.binpb (scripts/export-protos.sh) the
# script also makes one call through it.
# The last lines it prints are a fixed summary that scripts/examples.sh checks.
set -euo pipefail
addr=${GATEWAY_GRPC_ADDR:-localhost:50051}
tenant=tenants/default
opts=(-plaintext)
if [ -n "${GATEWAY_TOKEN:-}" ]; then opts+=(-H "authorization: Bearer $GATEWAY_TOKEN"); fi

# rpc METHOD [JSON]: a call that must succeed.
rpc() {
  local method=$1 data=()
  if [ $# -gt 1 ]; then data=(-d "$2"); fi
  grpcurl "${opts[@]}" -max-time 30 "${data[@]}" "$addr" "$method"
}

services=$(grpcurl "${opts[@]}" -max-time 30 "$addr" list)
sed 's/^/  /' <<<"$services"
grpcurl "${opts[@]}" -max-time 30 "$addr" describe defender.v1.HuntingService.StreamQuery | sed 's/^/  /'
echo "reflection services=$(grep -c '^defender\.v1\.' <<<"$services")"

# Health of the server as a whole and of one service.
echo "health $(rpc grpc.health.v1.Health/Check | jq -r .status)" \
  "incidents=$(rpc grpc.health.v1.Health/Check '{"service":"defender.v1.IncidentService"}' | jq -r .status)"

list=$(rpc defender.v1.IncidentService/ListIncidents "{\"parent\":\"$tenant\",\"page_size\":3}")
jq -r '.incidents[] | "  \(.name)  \(.displayName)"' <<<"$list"
echo "list incidents=$(jq '.incidents | length' <<<"$list")"
name=$(jq -er '.incidents[0].name' <<<"$list")

rpc defender.v1.IncidentService/GetIncident "{\"name\":\"$name\",\"view\":\"INCIDENT_VIEW_FULL\"}" |
  jq -r '"get id=\(.id) alerts=\(.alerts | length)"'

result=$(rpc defender.v1.HuntingService/RunQuery \
  "{\"tenant\":\"$tenant\",\"query\":\"AlertInfo | summarize count() by Severity\"}")
jq -r '.columns as $c | .rows[] | "  " + ([$c[].name as $n | "\($n)=\(.[$n])"] | join(" "))' <<<"$result"
jq -r '"query columns=\(.columns | length) rows=\(.rows | length)"' <<<"$result"

# Server streaming: grpcurl prints each message as it arrives, as one JSON
# document after another; jq reads them in turn.
grpcurl "${opts[@]}" -max-time 120 \
  -d "{\"tenant\":\"$tenant\",\"query\":\"DeviceProcessEvents | take 1200\",\"max_batch_rows\":500}" \
  "$addr" defender.v1.HuntingService/StreamQuery |
  jq -rn '
    reduce inputs as $m ({columns: 0, batches: 0, rows: null};
      if $m.schema then .columns = ($m.schema.columns | length)
      elif $m.batch then .batches += 1
      elif $m.end then .rows = $m.end.rowCount
      else . end)
    | if .rows == null then error("the stream ended without its end message") else . end
    | "stream columns=\(.columns) batches=\(.batches) rows=\(.rows)"'

# Watched: WatchIncidents prints each message as it arrives, one JSON
# document after another. The first is a heartbeat; a comment on an incident
# then arrives as its change. A real watcher keeps each message's cursor and
# reconnects with the last one ("cursor": ...), losing nothing.
events=$(mktemp)
trap 'rm -f "$events"' EXIT
watched=$(jq -er '.incidents[-1].name' <<<"$list")
grpcurl "${opts[@]}" -max-time 120 -d "{\"parent\":\"$tenant\"}" "$addr" \
  defender.v1.IncidentService/WatchIncidents >"$events" &
watcher=$!
first=
for _ in $(seq 1 100); do
  first=$(jq -c . "$events" 2>/dev/null | head -n 1) || true
  [ -n "$first" ] && break
  sleep 0.1
done
jq -e '.heartbeat and .cursor' <<<"$first" >/dev/null
rpc defender.v1.IncidentService/UpdateIncident \
  "{\"incident\":{\"name\":\"$watched\"},\"comment\":\"Seen by grpcurl.sh's watch.\"}" >/dev/null
change=
for _ in $(seq 1 600); do
  change=$(jq -r --arg n "$watched" 'select(.change.incident.name == $n) | .change.type' \
    "$events" 2>/dev/null | head -n 1) || true
  [ -n "$change" ] && break
  sleep 0.1
done
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
[ -n "$change" ] || { echo "grpcurl.sh: the watched change did not arrive" >&2; exit 1; }
echo "watch first=heartbeat change=${change#CHANGE_TYPE_}"

# The same call without reflection, the schema taken from the bundle's
# descriptor set.
if [ -n "${GATEWAY_PROTOSET:-}" ]; then
  echo "protoset incidents=$(grpcurl "${opts[@]}" -max-time 30 -protoset "$GATEWAY_PROTOSET" \
    -d "{\"parent\":\"$tenant\",\"page_size\":3}" "$addr" defender.v1.IncidentService/ListIncidents |
    jq '.incidents | length')"
fi

# An error: -format-error prints the google.rpc.Status as JSON (on stderr),
# details decoded; grpcurl exits 64 + the code.
rc=0
status=$(grpcurl "${opts[@]}" -max-time 30 -format-error -d '{"parent":"bad"}' "$addr" \
  defender.v1.IncidentService/ListIncidents 2>&1) || rc=$?
echo "  exit $rc: $(jq -r .message <<<"$status")"
jq -r '
  ["OK","CANCELLED","UNKNOWN","INVALID_ARGUMENT","DEADLINE_EXCEEDED","NOT_FOUND",
   "ALREADY_EXISTS","PERMISSION_DENIED","RESOURCE_EXHAUSTED","FAILED_PRECONDITION",
   "ABORTED","OUT_OF_RANGE","UNIMPLEMENTED","INTERNAL","UNAVAILABLE","DATA_LOSS",
   "UNAUTHENTICATED"] as $codes
  | (.details[] | select(."@type" == "type.googleapis.com/google.rpc.ErrorInfo")) as $info
  | ([.details[] | select(."@type" == "type.googleapis.com/google.rpc.BadRequest")
      | .fieldViolations[0].field][0] // "") as $field
  | "error code=\($codes[.code]) reason=\($info.reason) domain=\($info.domain) field=\($field)"' <<<"$status"
