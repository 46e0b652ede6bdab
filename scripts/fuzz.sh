#!/usr/bin/env bash
# Runs every fuzz target of the module's own packages for a short, bounded
# time (FUZZTIME, default 8s each), one after the other. A crash fails the
# run; go test writes the failing input to the package's
# testdata/fuzz/FuzzName/ directory, where, once committed, it runs as a
# regression case in every plain `go test`.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-8s}
failed=0
found=0
# inputs DIR: how many inputs a target's corpus directory holds.
inputs() { if [ -d "$1" ]; then find "$1" -type f | wc -l; else echo 0; fi; }
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  # Targets are found in the sources, not listed here by hand.
  targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)
  for t in $targets; do
    found=$((found + 1))
    echo "fuzz: $pkg $t for $fuzztime"
    # Go 1.26's fuzz coordinator can fail a target with a bare "context
    # deadline exceeded" as -fuzztime ends, having found nothing and
    # written no input (go.dev/issue/75804, fixed in Go 1.27). Such a
    # failure is run again once; a failure that writes a crasher, or fails
    # twice, fails the run.
    for attempt in 1 2; do
      before=$(inputs "$dir/testdata/fuzz/$t")
      out=$(mktemp)
      if go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" -parallel 1 "$pkg" 2>&1 | tee "$out"; then
        rm -f "$out"
        break
      fi
      after=$(inputs "$dir/testdata/fuzz/$t")
      if [ "$attempt" = 1 ] && [ "$after" = "$before" ] && grep -q '^    context deadline exceeded$' "$out"; then
        echo "fuzz: $t ended on Go's fuzztime deadline race with no input written; running it again" >&2
        rm -f "$out"
        continue
      fi
      rm -f "$out"
      echo "fuzz: $t in $pkg FAILED; the crasher is under $dir/testdata/fuzz/$t/ (commit it as a regression case)" >&2
      failed=1
      break
    done
  done
done
[ "$found" -gt 0 ] || { echo "fuzz: no targets found" >&2; exit 1; }
echo "fuzz: $found targets run"
exit "$failed"
