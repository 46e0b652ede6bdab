// A Node.js client of Defender Gateway over gRPC, with Connect-ES stubs
// generated from the proto bundle (npm run generate; see README.md here).
// It lists incidents, gets one, runs a hunting query, streams a larger one,
// watches for a change it makes, and shows the error model: an INVALID_ARGUMENT whose google.rpc.Status is
// decoded from the grpc-status-details-bin trailer.
//
//   GATEWAY_GRPC_ADDR=localhost:50051 node client.js
//
// The last lines it prints are a fixed summary that scripts/examples.sh checks.
import { fromBinary } from "@bufbuild/protobuf";
import { anyUnpack } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

import { HuntingService } from "./gen/defender/v1/hunting_service_pb.js";
import { IncidentView } from "./gen/defender/v1/incident_pb.js";
import {
  IncidentChange_ChangeType,
  IncidentService,
} from "./gen/defender/v1/incident_service_pb.js";
import {
  BadRequestSchema,
  ErrorInfoSchema,
} from "./gen/google/rpc/error_details_pb.js";
import { StatusSchema } from "./gen/google/rpc/status_pb.js";

const addr = process.env.GATEWAY_GRPC_ADDR || "localhost:50051";
const tenant = "tenants/default";

// The sandbox serves plaintext gRPC (h2c). Against a gateway with TLS use
// https:// and, for mTLS, nodeOptions with the client certificate.
const transport = createGrpcTransport({ baseUrl: `http://${addr}` });
const incidents = createClient(IncidentService, transport);
const hunting = createClient(HuntingService, transport);

// Every call gets a deadline.
const opts = () => ({ timeoutMs: 30_000 });

async function main() {
  const list = await incidents.listIncidents({ parent: tenant, pageSize: 3 }, opts());
  for (const inc of list.incidents) {
    console.log(`  ${inc.name}  ${inc.displayName}`);
  }
  console.log(`list incidents=${list.incidents.length}`);
  if (list.incidents.length === 0) throw new Error("no incidents listed");

  const inc = await incidents.getIncident(
    { name: list.incidents[0].name, view: IncidentView.FULL },
    opts(),
  );
  console.log(`get id=${inc.id} alerts=${inc.alerts.length}`);

  const query = await hunting.runQuery(
    { tenant, query: "AlertInfo | summarize count() by Severity" },
    opts(),
  );
  for (const row of query.rows) {
    console.log(`  ${query.columns.map((c) => `${c.name}=${row[c.name]}`).join(" ")}`);
  }
  console.log(`query columns=${query.columns.length} rows=${query.rows.length}`);

  // Server streaming: the schema, batches of at most 500 rows, then the end.
  let columns = 0;
  let batches = 0;
  let received = 0;
  let end;
  for await (const msg of hunting.streamQuery(
    { tenant, query: "DeviceProcessEvents | take 1200", maxBatchRows: 500 },
    { timeoutMs: 120_000 },
  )) {
    switch (msg.part.case) {
      case "schema":
        columns = msg.part.value.columns.length;
        break;
      case "batch":
        batches++;
        received += msg.part.value.rows.length;
        break;
      case "end":
        end = msg.part.value;
        break;
    }
  }
  if (!end) throw new Error("stream ended without its end message");
  if (BigInt(received) !== end.rowCount) {
    throw new Error(`stream: received ${received} rows, end says ${end.rowCount}`);
  }
  console.log(`stream columns=${columns} batches=${batches} rows=${end.rowCount}`);

  await watch(list.incidents[list.incidents.length - 1].name);
  await showError();
}

// watch opens a WatchIncidents stream, waits for its first heartbeat,
// comments on the incident name and waits for that change to arrive. A
// real watcher keeps each message's cursor and resumes with the last one.
async function watch(name) {
  const ctl = new AbortController();
  const stream = incidents.watchIncidents({ parent: tenant }, { signal: ctl.signal, timeoutMs: 120_000 });
  let first = true;
  try {
    for await (const msg of stream) {
      if (first) {
        if (msg.event.case !== "heartbeat" || !msg.cursor) {
          throw new Error("watch: the first message is not a heartbeat with a cursor");
        }
        first = false;
        await incidents.updateIncident(
          { incident: { name }, comment: "Seen by the Node.js example's watch." },
          opts(),
        );
        continue;
      }
      if (msg.event.case === "change" && msg.event.value.incident?.name === name) {
        console.log(`watch first=heartbeat change=${IncidentChange_ChangeType[msg.event.value.type]}`);
        return;
      }
    }
    throw new Error("watch: the stream ended before the change");
  } finally {
    ctl.abort();
  }
}

// showError makes a call with a bad parent and decodes the error's
// google.rpc.Status from the grpc-status-details-bin trailer with the
// bundle's google/rpc protos (Connect's findDetails() gives the same).
async function showError() {
  try {
    await incidents.listIncidents({ parent: "bad" }, opts());
  } catch (e) {
    const err = ConnectError.from(e);
    const bin = err.metadata.get("grpc-status-details-bin");
    if (!bin) throw new Error(`no grpc-status-details-bin on ${err.message}`);
    const status = fromBinary(StatusSchema, Buffer.from(bin, "base64"));
    let info;
    let field = "";
    for (const any of status.details) {
      info ??= anyUnpack(any, ErrorInfoSchema);
      const br = anyUnpack(any, BadRequestSchema);
      if (br && br.fieldViolations.length > 0) field = br.fieldViolations[0].field;
    }
    if (!info) throw new Error("no ErrorInfo in the status");
    if (status.code !== err.code) throw new Error("status code differs from the call's");
    const same = err.findDetails(ErrorInfoSchema)[0];
    if (same?.reason !== info.reason) throw new Error("findDetails disagrees with the trailer");
    console.log(`  ${status.message}`);
    console.log(
      `error code=${codeName(err.code)} reason=${info.reason} domain=${info.domain} field=${field}`,
    );
    return;
  }
  throw new Error("a bad parent was accepted");
}

// codeName gives a gRPC code's canonical name (INVALID_ARGUMENT) from
// Connect's Code, whose names are camel case (InvalidArgument, and
// Canceled for CANCELLED).
function codeName(code) {
  if (code === Code.Canceled) return "CANCELLED";
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

main().catch((e) => {
  console.error(`node client: ${e instanceof ConnectError ? `${Code[e.code]}: ${e.rawMessage}` : e}`);
  process.exit(1);
});
