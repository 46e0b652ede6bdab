#!/usr/bin/env bash
# The gateway's REST API with curl and jq: list incidents, get one, update it
# with an update mask, run a hunting query, stream a larger one as
# newline-delimited JSON, watch for a change, and read an error body's
# ErrorInfo.
#
#   GATEWAY_HTTP_ADDR=localhost:8080 examples/curl.sh
#
# The sandbox needs no credentials. Against a gateway with caller auth jwt,
# set GATEWAY_TOKEN to a bearer token (or a user token, on-behalf-of). The
# last lines it prints are a fixed summary that scripts/examples.sh checks.
set -euo pipefail
base=http://${GATEWAY_HTTP_ADDR:-localhost:8080}/v1
tenant=tenants/default
auth=()
if [ -n "${GATEWAY_TOKEN:-}" ]; then auth=(-H "authorization: Bearer $GATEWAY_TOKEN"); fi

# call METHOD PATH [BODY]: a request that must succeed (-f fails on an HTTP
# error, -S shows it).
call() {
  local method=$1 path=$2
  shift 2
  curl -fsS --max-time 30 "${auth[@]}" -X "$method" "$base/$path" "$@"
}

list=$(call GET "$tenant/incidents?pageSize=3")
jq -r '.incidents[] | "  \(.name)  \(.displayName)"' <<<"$list"
echo "list incidents=$(jq '.incidents | length' <<<"$list")"
name=$(jq -er '.incidents[0].name' <<<"$list")

# A GET of one incident returns it with its alerts (the FULL view).
incident=$(call GET "$name")
jq -r '"get id=\(.id) alerts=\(.alerts | length)"' <<<"$incident"

# PATCH with an explicit update mask: only assignedTo changes.
updated=$(call PATCH "$name?updateMask=assignedTo" -d '{"assignedTo":"soc-examples@contoso.com"}')
jq -r '"update id=\(.id) assignedTo=\(.assignedTo)"' <<<"$updated"

result=$(call POST "$tenant:runHuntingQuery" -d '{"query":"AlertInfo | summarize count() by Severity"}')
jq -r '.columns as $c | .rows[] | "  " + ([$c[].name as $n | "\($n)=\(.[$n])"] | join(" "))' <<<"$result"
jq -r '"query columns=\(.columns | length) rows=\(.rows | length)"' <<<"$result"

# Streamed: one JSON object a line, {"result": {schema|batch|end}}, or
# {"error": status} if the stream fails after it started. -N: no buffering,
# each line is handled as it arrives.
curl -fsSN --max-time 120 "${auth[@]}" -X POST "$base/$tenant:streamHuntingQuery" \
  -d '{"query":"DeviceProcessEvents | take 1200","maxBatchRows":500}' |
  jq -rn '
    reduce inputs as $m ({columns: 0, batches: 0, rows: null};
      if $m.error then error("stream failed: \($m.error.message)")
      elif $m.result.schema then .columns = ($m.result.schema.columns | length)
      elif $m.result.batch then .batches += 1
      elif $m.result.end then .rows = $m.result.end.rowCount
      else . end)
    | if .rows == null then error("the stream ended without its end message") else . end
    | "stream columns=\(.columns) batches=\(.batches) rows=\(.rows)"'

# Watched: WatchIncidents as newline-delimited JSON, {"result": {heartbeat |
# change}, "cursor": ...} a line. The first line is a heartbeat; a comment on
# an incident then arrives as its change. A real watcher keeps each line's
# cursor and reconnects with the last one (?cursor=...), losing nothing.
body=$(mktemp)
events=$(mktemp)
trap 'rm -f "$body" "$events"' EXIT
watched=$(jq -er '.incidents[-1].name' <<<"$list")
curl -fsSN --max-time 120 "${auth[@]}" "$base/$tenant/incidents:watch" >"$events" &
watcher=$!
for _ in $(seq 1 100); do [ -s "$events" ] && break; sleep 0.1; done
head -n 1 "$events" | jq -e '.result.heartbeat and .result.cursor' >/dev/null
call PATCH "$watched?comment=Seen+by+curl.sh%27s+watch." -d '{}' >/dev/null
change=
for _ in $(seq 1 600); do
  change=$(jq -rc --arg n "$watched" 'select(.result.change.incident.name == $n) | .result.change.type' \
    "$events" 2>/dev/null | head -n 1) || true
  [ -n "$change" ] && break
  sleep 0.1
done
kill "$watcher" 2>/dev/null || true
wait "$watcher" 2>/dev/null || true
[ -n "$change" ] || { echo "curl.sh: the watched change did not arrive" >&2; exit 1; }
echo "watch first=heartbeat change=${change#CHANGE_TYPE_}"

# An error: the body is the google.rpc.Status as JSON, with the HTTP status
# that matches its code, and its details carry the ErrorInfo.
http=$(curl -sS --max-time 30 "${auth[@]}" -o "$body" -w '%{http_code}' "$base/tenants/-bad/incidents")
echo "  HTTP $http: $(jq -r .message "$body")"
jq -r '
  ["OK","CANCELLED","UNKNOWN","INVALID_ARGUMENT","DEADLINE_EXCEEDED","NOT_FOUND",
   "ALREADY_EXISTS","PERMISSION_DENIED","RESOURCE_EXHAUSTED","FAILED_PRECONDITION",
   "ABORTED","OUT_OF_RANGE","UNIMPLEMENTED","INTERNAL","UNAVAILABLE","DATA_LOSS",
   "UNAUTHENTICATED"] as $codes
  | (.details[] | select(."@type" == "type.googleapis.com/google.rpc.ErrorInfo")) as $info
  | ([.details[] | select(."@type" == "type.googleapis.com/google.rpc.BadRequest")
      | .fieldViolations[0].field][0] // "") as $field
  | "error code=\($codes[.code]) reason=\($info.reason) domain=\($info.domain) field=\($field)"' "$body"
