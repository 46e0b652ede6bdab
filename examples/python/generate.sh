#!/usr/bin/env bash
# Generates the Python stubs (_pb2.py, _pb2_grpc.py) of the whole proto
# bundle into gen/ (git-ignored) with Debian's python3-grpc-tools:
#
#   examples/python/generate.sh [DIST]   # DIST: scripts/export-protos.sh's output, default dist/
#
# Debian's grpc-tools (1.14.1) bundles protoc 3.5.1, which cannot parse
# google/rpc/error_details.proto: its QuotaFailure.Violation.future_quota_value
# is a proto3 `optional` field, which protoc accepts only from 3.12 (flag) or
# 3.15 (default). Everything else in the bundle parses. So the stubs are
# compiled from the bundle's descriptor set (DIST/defender-gateway.binpb,
# built by buf) instead of its sources: protoc 3.5.1 reads descriptors it
# could not parse and sees the optional field's synthetic oneof as a plain
# oneof, which is the compatibility protobuf designed for older protocs (the
# same wire format; presence works through the oneof). grpc_tools's
# `python -m grpc_tools.protoc` always adds an -I for its own well-known
# types, and protoc refuses -I with --descriptor_set_in, so protoc.main is
# called directly; the descriptor set holds the well-known types itself.
#
# Every file is compiled, not only defender/v1: the generated modules import
# google.api, buf.validate and protoc_gen_openapiv2, and the client decodes
# errors with google.rpc. google.protobuf's modules come from python3-protobuf.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
dist=$(cd "${1:-$here/../../dist}" && pwd)
python=${PYTHON:-/usr/bin/python3}
set=$dist/defender-gateway.binpb
[ -f "$set" ] || { echo "python: $set missing: run scripts/export-protos.sh first" >&2; exit 1; }

rm -rf "$here/gen"
mkdir -p "$here/gen"
"$python" - "$set" "$here/gen" <<'PY'
import sys
from google.protobuf import descriptor_pb2
from grpc_tools import protoc

descriptor_set, out = sys.argv[1], sys.argv[2]
with open(descriptor_set, "rb") as f:
    files = [fd.name for fd in descriptor_pb2.FileDescriptorSet.FromString(f.read()).file
             if not fd.name.startswith("google/protobuf/")]
rc = protoc.main(["protoc", "--descriptor_set_in=" + descriptor_set,
                  "--python_out=" + out, "--grpc_python_out=" + out] + files)
if rc != 0:
    sys.exit("python: grpc_tools.protoc failed (%d)" % rc)
print("python: generated %d modules into %s with grpc_tools (protoc 3.5.1)" % (len(files), out))
PY
