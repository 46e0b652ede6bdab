#!/usr/bin/env bash
# Fills .protodeps/ (git-ignored) with the protos that proto/ imports, taken
# at build time from registry packages and Go dependencies:
#   googleapis (google/api, google/rpc)  <- npm package google-proto-files
#   protoc-gen-openapiv2/options          <- the grpc-gateway v2 Go module
#   buf/validate/validate.proto           <- printed from protovalidate's Go descriptor
# It also installs buf (npm @bufbuild/buf) into tools/node_modules.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if [ ! -x tools/node_modules/.bin/buf ] || [ ! -d tools/node_modules/google-proto-files ]; then
  (cd tools && npm ci --no-audit --no-fund --loglevel=error)
fi

deps=.protodeps
rm -rf "$deps"
mkdir -p "$deps/googleapis/google/api" "$deps/googleapis/google/rpc" "$deps/grpc-gateway" "$deps/protovalidate"

gpf=tools/node_modules/google-proto-files
cp "$gpf"/google/api/*.proto "$deps/googleapis/google/api/"
cp "$gpf"/google/rpc/*.proto "$deps/googleapis/google/rpc/"

# go list -m leaves Dir empty for a module not yet in the cache (a fresh
# machine), so download it first.
go mod download github.com/grpc-ecosystem/grpc-gateway/v2
gw=$(go list -m -f '{{.Dir}}' github.com/grpc-ecosystem/grpc-gateway/v2)
[ -n "$gw" ] || { echo "protodeps: grpc-gateway module not found" >&2; exit 1; }
mkdir -p "$deps/grpc-gateway/protoc-gen-openapiv2/options"
cp "$gw"/protoc-gen-openapiv2/options/*.proto "$deps/grpc-gateway/protoc-gen-openapiv2/options/"
chmod -R u+w "$deps"

(cd tools/protodeps && go run . "$root/$deps/protovalidate")
echo "protodeps: filled $deps"
