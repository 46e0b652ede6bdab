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
for pkg in $(go list ./...); do
  dir=$(go list -f '{{.Dir}}' "$pkg")
  # Targets are found in the sources, not listed here by hand.
  targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u || true)
  for t in $targets; do
    found=$((found + 1))
    echo "fuzz: $pkg $t for $fuzztime"
    if ! go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" -parallel 1 "$pkg"; then
      echo "fuzz: $t in $pkg FAILED; the crasher is under $dir/testdata/fuzz/$t/ (commit it as a regression case)" >&2
      failed=1
    fi
  done
done
[ "$found" -gt 0 ] || { echo "fuzz: no targets found" >&2; exit 1; }
echo "fuzz: $found targets run"
exit "$failed"
