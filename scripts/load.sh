#!/usr/bin/env bash
# Load test of the sandbox (docs/benchmarks.md "Load"): builds the server
# once, starts it on free loopback ports with the emulator enforcing the
# documented limits, and shows with ghz and scripts/loadcheck:
#   1. 1,000 concurrent callers (ListIncidents, short deadlines): the only
#      errors are RESOURCE_EXHAUSTED, each with RetryInfo (sampled), and the
#      upstream answered no 429;
#   2. fairness: a flooding and a steady caller (two API keys) at once, the
#      steady one's success rate and latency with the scheduler on and off;
#   3. no goroutine, file descriptor or memory growth after the run;
# and exits non-zero when a property fails. Upstream economy (coalescing,
# the cache) is e2e/economy_test.go.
#
#   scripts/load.sh            # the full run (about 6 minutes)
#   scripts/load.sh --quick    # the CI run (under 2 minutes)
#
# Needs ghz (go install github.com/bojand/ghz/cmd/ghz@v0.93.0) on PATH or
# in $(go env GOPATH)/bin. KEEP=1 keeps the work directory (logs, reports).
set -euo pipefail
cd "$(dirname "$0")/.."

mode=full
case "${1:-}" in
  --quick) mode=quick ;;
  "") ;;
  *) echo "usage: $0 [--quick]" >&2; exit 2 ;;
esac
if [ "$mode" = quick ]; then
  load_for=10s load_rps=1000 fair_for=30 settle=5
else
  load_for=60s load_rps=2000 fair_for=120 settle=10
fi
callers=1000 load_timeout=2s
flood_c=200 flood_rps=500 steady_rate=0.25 fair_timeout=10s
steady_min_success=0.9

ghz=$(command -v ghz || echo "$(go env GOPATH)/bin/ghz")
if [ ! -x "$ghz" ]; then
  echo "ghz not found: go install github.com/bojand/ghz/cmd/ghz@v0.93.0" >&2
  exit 2
fi

work=$(mktemp -d)
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  if [ "${KEEP:-}" = 1 ]; then echo "work directory kept: $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

failures=()
fail() { failures+=("$*"); echo "FAIL: $*" >&2; }
step() { printf '\n== %s ==\n' "$*"; }

step "build"
go build -trimpath -o "$work/defender-gateway" ./cmd/server
go build -o "$work/loadcheck" ./scripts/loadcheck
check="$work/loadcheck"

# Three callers, each its own identity: the scheduler's fairness key.
echo 'keys:' >"$work/api-keys.yaml"
echo 'callers:' >"$work/policy.yaml"
for name in load flood steady; do
  head -c 32 /dev/urandom | base64 >"$work/$name.key"
  "$work/defender-gateway" hash-api-key --name "$name" <"$work/$name.key" >>"$work/api-keys.yaml"
  printf '  - identity: api-key:%s\n    tenants: [default]\n    operations: [incidents.read, quota.read]\n' "$name" >>"$work/policy.yaml"
done
key() { cat "$work/$1.key"; }

# start_server NAME FLAGS...: the sandbox on free ports, emulator limits
# on, API-key callers, coalescing off (every call asks the scheduler).
start_server() {
  local name=$1; shift
  local ports; ports=$("$check" freeports 2)
  grpc=127.0.0.1:$(sed -n 1p <<<"$ports") http=127.0.0.1:$(sed -n 2p <<<"$ports")
  log="$work/$name.log"
  "$work/defender-gateway" --sandbox --grpc-addr "$grpc" --http-addr "$http" \
    --sandbox-emulator-limits documented --coalesce-reads=false \
    --caller-auth api-key --api-keys-file "$work/api-keys.yaml" --policy-file "$work/policy.yaml" \
    "$@" >"$log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    curl -fsS "http://$http/healthz" >/dev/null 2>&1 && return 0
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  echo "the gateway did not become healthy; its log:" >&2
  cat "$log" >&2
  exit 1
}

stop_server() {
  kill -TERM "$pid"
  local rc=0
  wait "$pid" || rc=$?
  pid=""
  [ "$rc" = 0 ] || fail "the gateway exited $rc after SIGTERM (log $log)"
}

# ghz_run OUT KEY CONCURRENCY CONNECTIONS RPS TIMEOUT DURATION
ghz_run() {
  "$ghz" --insecure --call defender.v1.IncidentService.ListIncidents \
    -d '{"parent":"tenants/default","page_size":10}' -m "{\"x-api-key\":\"$(key "$2")\"}" \
    -c "$3" --connections "$4" --rps "$5" -t "$6" -z "$7" --duration-stop wait \
    -O json -o "$work/$1.json" "$grpc" || true
}

stats() { "$check" stats -url "http://$http/sandbox/emulator/stats" "$@"; }
reset_stats() { curl -fsS -X DELETE "http://$http/sandbox/emulator/stats"; }
sample() { "$check" metrics -url "http://$http/metrics" -pid "$pid" >"$work/$1.json"; }

# fairness NAME MIN_SUCCESS: the flood and the steady caller at the same
# time; false when the steady one's success rate is below MIN_SUCCESS.
fairness() {
  ghz_run "flood-$1" flood "$flood_c" 2 "$flood_rps" "$fair_timeout" "${fair_for}s" &
  local g=$! rc=0
  "$check" steady -addr "$grpc" -key "$(key steady)" -rate "$steady_rate" -duration "$((fair_for - 2))s" \
    -timeout "$fair_timeout" -min-success "$2" >"$work/steady-$1.json" || rc=$?
  wait "$g"
  return "$rc"
}

step "scheduler on: warm-up (${callers} callers, 5s), then settle ${settle}s"
start_server on
ghz_run warmup load "$callers" 10 "$load_rps" "$load_timeout" 5s
sleep "$settle"
sample before
reset_stats

step "1. ${callers} concurrent callers for ${load_for} (${load_rps} calls/s in all, ${load_timeout} deadlines)"
ghz_run load load "$callers" 10 "$load_rps" "$load_timeout" "$load_for" &
ghz_pid=$!
sleep 3
"$check" probe -addr "$grpc" -key "$(key load)" -n 20 -spread 2s -timeout "$load_timeout" >"$work/probe.json" ||
  fail "throttled calls without RetryInfo, or other errors: $(cat "$work/probe.json")"
curl -fsS -H "x-api-key: $(key load)" "http://$http/v1/tenants/default/quota" >"$work/quota.json" || true
wait "$ghz_pid"
"$check" ghz -allow OK,ResourceExhausted "$work/load.json" >"$work/load-summary.json" ||
  fail "the ${callers}-caller run ended with other errors than RESOURCE_EXHAUSTED"
stats -max-throttled 0 >"$work/load-stats.json" || fail "the upstream answered 429s during the ${callers}-caller run"

step "3. growth: settle ${settle}s, then compare with the warmed-up sample"
sleep "$settle"
sample after
"$check" growth "$work/before.json" "$work/after.json" >"$work/growth.json" ||
  fail "the gateway grew after the run: $(cat "$work/growth.json")"

step "2. fairness, scheduler on: flood (${flood_c} workers, ${flood_rps}/s) and steady (${steady_rate}/s) for ${fair_for}s"
reset_stats
fairness on "$steady_min_success" ||
  fail "the steady caller's success rate with the scheduler on is below $steady_min_success: $(cat "$work/steady-on.json")"
"$check" ghz -allow OK,ResourceExhausted "$work/flood-on.json" >"$work/flood-on-summary.json" ||
  fail "the flooding caller got other errors than RESOURCE_EXHAUSTED with the scheduler on"
stats -max-throttled 0 >"$work/fair-on-stats.json" || fail "the upstream answered 429s in the fairness run"
holds_on=$(grep -c '"msg":"quota: upstream throttled, holding"' "$log" || true)
stop_server

step "2. fairness, scheduler off (--quota-enabled=false): the same two callers"
start_server off --quota-enabled=false
fairness off 0
"$check" ghz -allow OK,ResourceExhausted,DeadlineExceeded,Unavailable -min-ok 0 "$work/flood-off.json" >"$work/flood-off-summary.json" || true
stats >"$work/fair-off-stats.json"
stop_server

step "summary ($mode)"
"$check" summary -dir "$work" -callers "$callers" -load-for "$load_for" -load-rps "$load_rps" \
  -steady-rate "$steady_rate" -fair-for "${fair_for}s" -settle "${settle}s" ||
  fail "a run left no report (see above)"
echo "   quota holds logged with the scheduler on: $holds_on"

if [ "${#failures[@]}" -gt 0 ]; then
  printf '\nload: %d properties failed:\n' "${#failures[@]}"
  printf '  - %s\n' "${failures[@]}"
  exit 1
fi
echo
echo "load: ok"
