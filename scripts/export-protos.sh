#!/usr/bin/env bash
# Writes the gateway's API as a self-contained proto bundle for consumers:
# proto/defender/v1 with every file it imports (googleapis, protovalidate,
# grpc-gateway's openapiv2 options), taken at build time from the same
# packages the build uses, never committed. Only the protobuf well-known
# types (google/protobuf/*.proto) are left out: every protoc, buf and
# grpc-tools ships them. It also writes a tarball of the bundle and copies
# the OpenAPI document for REST clients.
#
#   scripts/export-protos.sh [OUT]      # OUT defaults to dist/
#
# OUT/protos/ is the bundle; OUT/defender-gateway-protos.tar.gz the same;
# OUT/defender.swagger.json the OpenAPI (Swagger 2.0) document.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:-dist}

./scripts/protodeps.sh >/dev/null
buf=tools/node_modules/.bin/buf
rm -rf "$out/protos"
mkdir -p "$out/protos"
"$buf" export proto -o "$out/protos"
# The bundle must stand alone: build it with nothing else on the path.
"$buf" build "$out/protos" -o /dev/null
tar -czf "$out/defender-gateway-protos.tar.gz" -C "$out" protos
cp gen/openapi/defender.swagger.json "$out/defender.swagger.json"
echo "export-protos: $(find "$out/protos" -name '*.proto' | wc -l) files in $out/protos, $out/defender-gateway-protos.tar.gz, $out/defender.swagger.json"
