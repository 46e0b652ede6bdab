#!/usr/bin/python3
"""A Python client of Defender Gateway over gRPC.

Stubs are generated at build time from the proto bundle with Debian's
python3-grpc-tools (see generate.sh and README.md here). It lists incidents,
gets one, runs a hunting query, streams a larger one, watches for a change it
makes, and shows the error model: an INVALID_ARGUMENT whose google.rpc.Status is decoded from the
grpc-status-details-bin trailer.

    GATEWAY_GRPC_ADDR=localhost:50051 /usr/bin/python3 client.py

The last lines it prints are a fixed summary that scripts/examples.sh checks.
"""

import os
import sys

import grpc

# The generated modules (defender.v1, google.api, google.rpc, buf.validate)
# live in gen/ beside this file; google.protobuf comes from python3-protobuf.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "gen"))

from defender.v1 import hunting_service_pb2 as hunting_pb  # noqa: E402
from defender.v1 import hunting_service_pb2_grpc as hunting_grpc  # noqa: E402
from defender.v1 import incident_pb2  # noqa: E402
from defender.v1 import incident_service_pb2 as incident_pb  # noqa: E402
from defender.v1 import incident_service_pb2_grpc as incident_grpc  # noqa: E402
from google.rpc import error_details_pb2, status_pb2  # noqa: E402

TENANT = "tenants/default"
TIMEOUT = 30  # seconds; every call gets a deadline


def value(v):
    """Renders a Struct value: JSON numbers are doubles, integral ones print as ints."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def main():
    addr = os.environ.get("GATEWAY_GRPC_ADDR", "localhost:50051")
    # The sandbox serves plaintext gRPC. Against a gateway with TLS use
    # grpc.secure_channel(addr, grpc.ssl_channel_credentials(...)).
    with grpc.insecure_channel(addr) as channel:
        incidents = incident_grpc.IncidentServiceStub(channel)
        hunting = hunting_grpc.HuntingServiceStub(channel)

        page = incidents.ListIncidents(
            incident_pb.ListIncidentsRequest(parent=TENANT, page_size=3), timeout=TIMEOUT)
        for inc in page.incidents:
            print(f"  {inc.name}  {inc.display_name}")
        print(f"list incidents={len(page.incidents)}")
        if not page.incidents:
            raise SystemExit("python client: no incidents listed")

        inc = incidents.GetIncident(
            incident_pb.GetIncidentRequest(
                name=page.incidents[0].name, view=incident_pb2.INCIDENT_VIEW_FULL),
            timeout=TIMEOUT)
        print(f"get id={inc.id} alerts={len(inc.alerts)}")

        res = hunting.RunQuery(
            hunting_pb.RunQueryRequest(
                tenant=TENANT, query="AlertInfo | summarize count() by Severity"),
            timeout=TIMEOUT)
        for row in res.rows:
            print("  " + " ".join(f"{c.name}={value(row[c.name])}" for c in res.columns))
        print(f"query columns={len(res.columns)} rows={len(res.rows)}")

        stream(hunting)
        watch(incidents, page.incidents[-1].name)
        show_error(incidents)


def stream(hunting):
    """Server streaming: the schema, batches of at most 500 rows, then the end."""
    columns = batches = received = 0
    end = None
    req = hunting_pb.StreamQueryRequest(
        tenant=TENANT, query="DeviceProcessEvents | take 1200", max_batch_rows=500)
    for msg in hunting.StreamQuery(req, timeout=120):
        part = msg.WhichOneof("part")
        if part == "schema":
            columns = len(msg.schema.columns)
        elif part == "batch":
            batches += 1
            received += len(msg.batch.rows)
        elif part == "end":
            end = msg.end
    if end is None:
        raise SystemExit("python client: stream ended without its end message")
    if received != end.row_count:
        raise SystemExit(f"python client: received {received} rows, end says {end.row_count}")
    print(f"stream columns={columns} batches={batches} rows={end.row_count}")


def watch(incidents, name):
    """WatchIncidents: waits for the first heartbeat, comments on the incident
    name and waits for that change. A real watcher keeps each message's
    cursor and resumes with the last one."""
    call = incidents.WatchIncidents(incident_pb.WatchIncidentsRequest(parent=TENANT), timeout=120)
    try:
        first = next(call)
        if first.WhichOneof("event") != "heartbeat" or not first.cursor:
            raise SystemExit("python client: the watch's first message is not a heartbeat with a cursor")
        incidents.UpdateIncident(
            incident_pb.UpdateIncidentRequest(
                incident=incident_pb2.Incident(name=name), comment="Seen by the Python example's watch."),
            timeout=TIMEOUT)
        for msg in call:
            if msg.WhichOneof("event") == "change" and msg.change.incident.name == name:
                kind = incident_pb.IncidentChange.ChangeType.Name(msg.change.type)
                print(f"watch first=heartbeat change={kind.removeprefix('CHANGE_TYPE_')}")
                return
        raise SystemExit("python client: the watch ended before the change")
    finally:
        call.cancel()


def show_error(incidents):
    """A bad parent: decodes google.rpc.Status from grpc-status-details-bin."""
    try:
        incidents.ListIncidents(incident_pb.ListIncidentsRequest(parent="bad"), timeout=TIMEOUT)
    except grpc.RpcError as err:
        raw = dict(err.trailing_metadata() or ()).get("grpc-status-details-bin")
        if raw is None:
            raise SystemExit(f"python client: no grpc-status-details-bin on {err.code().name}")
        status = status_pb2.Status.FromString(raw)
        if status.code != err.code().value[0]:
            raise SystemExit("python client: the status's code differs from the call's")
        info = error_details_pb2.ErrorInfo()
        bad_request = error_details_pb2.BadRequest()
        have_info, field = False, ""
        for detail in status.details:
            if detail.Is(info.DESCRIPTOR):
                have_info = detail.Unpack(info)
            elif detail.Is(bad_request.DESCRIPTOR) and detail.Unpack(bad_request):
                field = bad_request.field_violations[0].field if bad_request.field_violations else ""
        if not have_info:
            raise SystemExit("python client: no ErrorInfo in the status")
        print(f"  {status.message}")
        print(f"error code={err.code().name} reason={info.reason} domain={info.domain} field={field}")
        return
    raise SystemExit("python client: a bad parent was accepted")


if __name__ == "__main__":
    try:
        main()
    except grpc.RpcError as e:
        raise SystemExit(f"python client: {e.code().name}: {e.details()}")
