package e2e

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// The REST edge end to end: the error model of errors raised before gRPC,
// authentication before parsing, the body cap, path hygiene, response
// headers; and malformed protobuf over gRPC.

// apiKeyGateway is a gateway with api-key callers, the api-key policy and
// an audit log file.
func apiKeyGateway(t *testing.T) (g *gateway, auditFile string) {
	t.Helper()
	emu := startEmulator(t)
	auditFile = writeFile(t, "audit.jsonl", "")
	g = startGateway(t, emu, partnerConfig(t, emu, "graph",
		"--caller-auth", "api-key", "--api-keys-file", apiKeysFile(t), "--policy-file", writeFile(t, "policy.yaml", apiKeyPolicy),
		"--audit-log-file", auditFile))
	return g, auditFile
}

// restAnswer is one REST answer: its status code, headers and, for an
// error, the google.rpc.Status of its body.
type restAnswer struct {
	code   int
	header http.Header
	st     *status.Status
	body   []byte
}

func restDo(t *testing.T, base, method, path string, header map[string]string, body io.Reader) restAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	hc := &http.Client{Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	a := restAnswer{code: resp.StatusCode, header: resp.Header, body: data}
	if resp.StatusCode != http.StatusOK {
		sp := &spb.Status{}
		if err := protojson.Unmarshal(data, sp); err != nil {
			t.Fatalf("%s %s: HTTP %d body is not a google.rpc.Status: %s", method, path, resp.StatusCode, data)
		}
		a.st = status.FromProto(sp)
	}
	return a
}

// wantREST checks an error answer: HTTP code, gRPC code, reason, the
// field named (if any), the standard headers, and that no library text
// leaks.
func wantREST(t *testing.T, a restAnswer, httpCode int, code codes.Code, reason, field string) {
	t.Helper()
	if a.code != httpCode {
		t.Fatalf("HTTP %d %s, want %d", a.code, a.body, httpCode)
	}
	wantStatus(t, a.st.Err(), code, reason)
	if field != "" {
		var fields []string
		for _, d := range a.st.Details() {
			if br, ok := d.(*errdetails.BadRequest); ok {
				for _, v := range br.GetFieldViolations() {
					fields = append(fields, v.GetField())
				}
			}
		}
		if !slices.Equal(fields, []string{field}) || !strings.HasPrefix(a.st.Message(), field+": ") {
			t.Errorf("status %q with field violations %v, want it to name %s", a.st.Message(), fields, field)
		}
	}
	for _, frag := range []string{"grpc:", "proto:", "parsing ", "rpc error", "marshal", "not a valid value", "http:"} {
		if strings.Contains(string(a.body), frag) {
			t.Errorf("the answer holds library text %q: %s", frag, a.body)
		}
	}
	if a.header.Get("Cache-Control") != "no-store" || a.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("headers %v lack Cache-Control: no-store or X-Content-Type-Options: nosniff", a.header)
	}
	if id := a.header.Get("X-Request-Id"); id == "" || errorInfo(a.st).GetMetadata()["request_id"] != id {
		t.Errorf("X-Request-Id %q, ErrorInfo request_id %q: want the same id", id, errorInfo(a.st).GetMetadata()["request_id"])
	}
}

func TestRESTErrorModel(t *testing.T) {
	g, auditFile := apiKeyGateway(t)
	base := "http://" + g.httpAddr
	soc := map[string]string{"X-Api-Key": socKey}
	socJSON := map[string]string{"X-Api-Key": socKey, "Content-Type": "application/json"}
	g.emu.ResetRequests()
	cases := []struct {
		name, method, path string
		header             map[string]string
		body               string
		httpCode           int
		code               codes.Code
		reason, field      string
	}{
		{"invalid UTF-8 in a query parameter", "GET", "/v1/tenants/default/incidents?assignedTo=%ff", soc, "", 400, codes.InvalidArgument, "INVALID_ARGUMENT", "assignedTo"},
		{"unknown enum value", "GET", "/v1/tenants/default/incidents?statuses=active", soc, "", 400, codes.InvalidArgument, "INVALID_ARGUMENT", "statuses"},
		{"bad JSON body", "POST", "/v1/tenants/default:runHuntingQuery", socJSON, `{"query": `, 400, codes.InvalidArgument, "MALFORMED_BODY", "body"},
		{"unknown body field", "POST", "/v1/tenants/default:runHuntingQuery", socJSON, `{"kql":"DeviceEvents"}`, 400, codes.InvalidArgument, "MALFORMED_BODY", "kql"},
		{"invalid UTF-8 in the body", "POST", "/v1/tenants/default:runHuntingQuery", socJSON, "{\"query\":\"\xff\"}", 400, codes.InvalidArgument, "MALFORMED_BODY", "body"},
		{"encoded slashes", "GET", "/v1/tenants/default%2Fincidents%2F1000", soc, "", 400, codes.InvalidArgument, "INVALID_PATH", ""},
		{"wrong method", "DELETE", "/v1/tenants/default/incidents/1000", soc, "", 405, codes.Unimplemented, "METHOD_NOT_ALLOWED", ""},
		{"unknown route", "GET", "/v1/tenants/default/machines", soc, "", 404, codes.NotFound, "ROUTE_NOT_FOUND", ""},
		{"unauthenticated: 401 before the query is parsed", "GET", "/v1/tenants/default/incidents?statuses=active&assignedTo=%ff", nil, "", 401, codes.Unauthenticated, "CALLER_CREDENTIALS_MISSING", ""},
		{"unauthenticated: 401 before the body is parsed", "POST", "/v1/tenants/default:runHuntingQuery", map[string]string{"X-Api-Key": "soc-key-guess"}, `{"query": `, 401, codes.Unauthenticated, "API_KEY_INVALID", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body io.Reader
			if tc.body != "" {
				body = strings.NewReader(tc.body)
			}
			a := restDo(t, base, tc.method, tc.path, tc.header, body)
			wantREST(t, a, tc.httpCode, tc.code, tc.reason, tc.field)
			if tc.httpCode == 405 && a.header.Get("Allow") != "GET, PATCH" {
				t.Errorf("Allow = %q, want GET, PATCH", a.header.Get("Allow"))
			}
		})
	}
	if calls := upstreamCalls(g.emu); len(calls) != 0 {
		t.Errorf("refused requests reached Entra or the API: %+v", calls)
	}

	// Outside the API: the same error model; the document is nosniff.
	a := restDo(t, base, "GET", "/nothing", nil, nil)
	if a.code != 404 || errorInfo(a.st).GetReason() != "ROUTE_NOT_FOUND" {
		t.Errorf("GET /nothing: HTTP %d %s", a.code, a.body)
	}
	a = restDo(t, base, "POST", "/openapi.json", nil, nil)
	if a.code != 405 || errorInfo(a.st).GetReason() != "METHOD_NOT_ALLOWED" || a.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /openapi.json: HTTP %d %s Allow %q", a.code, a.body, a.header.Get("Allow"))
	}
	a = restDo(t, base, "GET", "/openapi.json", nil, nil)
	if a.code != 200 || a.header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("GET /openapi.json: HTTP %d, headers %v", a.code, a.header)
	}

	// A call that succeeds carries the headers and one request id, the
	// one in its audit record.
	a = restDo(t, base, "GET", "/v1/tenants/default/incidents?pageSize=1", map[string]string{"X-Api-Key": socKey, "X-Request-Id": "e2e-edge-ok"}, nil)
	if a.code != 200 || a.header.Get("Cache-Control") != "no-store" || a.header.Get("X-Content-Type-Options") != "nosniff" ||
		!slices.Equal(a.header.Values("X-Request-Id"), []string{"e2e-edge-ok"}) {
		t.Errorf("successful call: HTTP %d, headers %v", a.code, a.header)
	}

	// Every refused request was audited, with its request id.
	records := auditRecords(t, auditFile)
	if len(records) != len(cases)+1 {
		t.Errorf("%d audit records, want %d (one per call)", len(records), len(cases)+1)
	}
	var unauth, ok int
	for _, rec := range records {
		if rec["request_id"] == "" {
			t.Errorf("audit record without request id: %v", rec)
		}
		switch {
		case rec["code"] == "Unauthenticated":
			unauth++
			if rec["caller"] != "" || rec["http_status"] != float64(401) || rec["method"] == "" {
				t.Errorf("unauthenticated record %v", rec)
			}
		case rec["request_id"] == "e2e-edge-ok":
			ok++
		}
	}
	if unauth != 2 || ok != 1 {
		t.Errorf("%d unauthenticated and %d OK records with the caller's id, want 2 and 1", unauth, ok)
	}
}

// endlessString is an endless JSON body, {"query":"xxxx…, that counts
// what was read from it.
type endlessString struct{ sent atomic.Int64 }

func (z *endlessString) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	if z.sent.Load() == 0 {
		copy(p, `{"query":"`)
	}
	z.sent.Add(int64(len(p)))
	return len(p), nil
}

// rawRequest writes a request with a body of size bytes (chunked when
// chunked) over a raw connection, streaming the body while it reads the
// answer, and returns the answer and how much of the body had been sent
// when the answer arrived.
func rawRequest(t *testing.T, addr, head string, size int64, chunked bool) (*http.Response, []byte, int64) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if chunked {
		head += "Transfer-Encoding: chunked\r\n\r\n"
	} else {
		head += fmt.Sprintf("Content-Length: %d\r\n\r\n", size)
	}
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	src := &endlessString{}
	written := make(chan struct{})
	go func() {
		defer close(written)
		buf := make([]byte, 64<<10)
		for total := int64(0); total < size; total += int64(len(buf)) {
			_, _ = src.Read(buf)
			chunk := buf
			if chunked {
				chunk = append([]byte(fmt.Sprintf("%x\r\n", len(buf))), append(buf, '\r', '\n')...)
			}
			if _, err := conn.Write(chunk); err != nil {
				return // the server closed the connection
			}
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	sentAtAnswer := src.sent.Load()
	data, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	conn.Close()
	<-written
	return resp, data, sentAtAnswer
}

func TestRESTBodyCap(t *testing.T) {
	g, auditFile := apiKeyGateway(t)
	const size = 100 << 20
	const path = "/v1/tenants/default:runHuntingQuery"
	cases := []struct {
		name    string
		headers string
		chunked bool
		caller  string
	}{
		// Refused on its Content-Length, before authentication and before a
		// byte of the body is read.
		{"100 MB, Content-Length, unauthenticated", "", false, ""},
		{"100 MB, Content-Length", "X-Api-Key: " + socKey + "\r\n", false, ""},
		// Read up to the limit (after authentication), then refused.
		{"100 MB, chunked", "X-Api-Key: " + socKey + "\r\n", true, "api-key:soc-bot"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			head := "POST " + path + " HTTP/1.1\r\nHost: " + g.httpAddr + "\r\nContent-Type: application/json\r\n" + tc.headers
			resp, body, sent := rawRequest(t, g.httpAddr, head, size, tc.chunked)
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("HTTP %d %s, want 413", resp.StatusCode, body)
			}
			sp := &spb.Status{}
			if err := protojson.Unmarshal(body, sp); err != nil {
				t.Fatalf("413 body is not a google.rpc.Status: %s", body)
			}
			st := wantStatus(t, status.FromProto(sp).Err(), codes.InvalidArgument, "REQUEST_TOO_LARGE", "1048576 bytes")
			if errorInfo(st).GetMetadata()["limit_bytes"] != "1048576" {
				t.Errorf("ErrorInfo %v lacks limit_bytes", errorInfo(st))
			}
			// Loopback socket buffers hold a few MB; the server reads at
			// most the 1 MiB limit of it.
			if sent > 32<<20 {
				t.Errorf("%d MB of the body were sent before the answer; the server read it instead of refusing it", sent>>20)
			}
			t.Logf("answered after %d KiB of the body", sent>>10)
		})
	}
	records := auditRecords(t, auditFile)
	if len(records) != len(cases) {
		t.Fatalf("%d audit records, want %d", len(records), len(cases))
	}
	for i, rec := range records {
		if rec["reason"] != "REQUEST_TOO_LARGE" || rec["http_status"] != float64(413) || rec["caller"] != cases[i].caller {
			t.Errorf("audit record %d = %v", i, rec)
		}
	}
}

// rawCodec puts bytes on the wire as they are.
type rawCodec struct{}

func (rawCodec) Marshal(v any) ([]byte, error) {
	if b, ok := v.([]byte); ok {
		return b, nil
	}
	return proto.Marshal(v.(proto.Message))
}

func (rawCodec) Unmarshal(data []byte, v any) error { return proto.Unmarshal(data, v.(proto.Message)) }

func (rawCodec) Name() string { return "proto" }

func TestMalformedProtobuf(t *testing.T) {
	g, auditFile := apiKeyGateway(t)
	conn, err := grpc.NewClient(g.grpcAddr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for _, tc := range []struct {
		name   string
		method string
		bytes  []byte
	}{
		{"truncated field", defenderv1.IncidentService_GetIncident_FullMethodName, []byte{0x0a, 0x40, 't'}},
		{"not wire format", defenderv1.HuntingService_RunQuery_FullMethodName, []byte{0xff, 0xff, 0xff, 0xff}},
		{"string not UTF-8", defenderv1.IncidentService_ListIncidents_FullMethodName, []byte{0x0a, 0x02, 0xc3, 0x28}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := metadata.AppendToOutgoingContext(context.Background(), "x-api-key", socKey)
			err := conn.Invoke(ctx, tc.method, tc.bytes, &defenderv1.Incident{}, grpc.ForceCodec(rawCodec{}))
			st := wantStatus(t, err, codes.InvalidArgument, "MALFORMED_REQUEST")
			if strings.Contains(st.Message(), "grpc:") || strings.Contains(st.Message(), "proto:") {
				t.Errorf("message %q leaks library text", st.Message())
			}
		})
	}
	records := auditRecords(t, auditFile)
	if len(records) != 3 {
		t.Fatalf("%d audit records, want 3", len(records))
	}
	for _, rec := range records {
		if rec["reason"] != "MALFORMED_REQUEST" || rec["caller"] != "api-key:soc-bot" {
			t.Errorf("audit record %v", rec)
		}
	}
}
