#!/usr/bin/env bash
# Writes the gateway's API as a self-contained proto bundle for consumers:
# proto/defender/v1 with every file it imports (googleapis, protovalidate,
# grpc-gateway's openapiv2 options), taken at build time from the same
# packages the build uses, never committed, and the error model every call
# answers with (google/rpc status.proto, error_details.proto, code.proto),
# which a client needs to decode an error's details. Only the protobuf
# well-known types (google/protobuf/*.proto) are left out: every protoc, buf
# and grpc-tools ships them. It also writes a tarball of the bundle, the
# bundle compiled to a descriptor set (a "protoset": for a protoc too old to
# parse the bundle's sources, and for grpcurl -protoset), and copies the
# OpenAPI document for REST clients.
#
#   scripts/export-protos.sh [OUT]      # OUT defaults to dist/
#
# OUT/protos/ is the bundle; OUT/defender-gateway-protos.tar.gz the same;
# OUT/defender-gateway.binpb its FileDescriptorSet, well-known types
# included; OUT/defender.swagger.json the OpenAPI (Swagger 2.0) document.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:-dist}

./scripts/protodeps.sh >/dev/null
buf=tools/node_modules/.bin/buf
rm -rf "$out/protos"
mkdir -p "$out/protos"
"$buf" export proto -o "$out/protos"
# Errors are a google.rpc.Status (grpc-status-details-bin) with ErrorInfo,
# BadRequest and RetryInfo details: the protos to decode them.
mkdir -p "$out/protos/google/rpc"
cp .protodeps/googleapis/google/rpc/{status,error_details,code}.proto "$out/protos/google/rpc/"
# The bundle must stand alone: build it with nothing else on the path.
"$buf" build "$out/protos" --as-file-descriptor-set -o "$out/defender-gateway.binpb"
tar -czf "$out/defender-gateway-protos.tar.gz" -C "$out" protos
cp gen/openapi/defender.swagger.json "$out/defender.swagger.json"
echo "export-protos: $(find "$out/protos" -name '*.proto' | wc -l) files in $out/protos, $out/defender-gateway-protos.tar.gz, $out/defender-gateway.binpb, $out/defender.swagger.json"
