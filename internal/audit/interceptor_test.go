package audit_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/audit"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/service"
)

const kql = "DeviceEvents | where AccountName == 'secret-hunt'"

func kqlSHA256() string {
	sum := sha256.Sum256([]byte(kql))
	return hex.EncodeToString(sum[:])
}

func requestID(context.Context) string { return "req-1" }

// call runs one call through the interceptor; the handler plays the part
// of authentication (SetCaller) and of the service (SetTarget).
func call(t *testing.T, l *audit.Logger, method string, req any, r *caller.Request, target [2]string, err error) {
	t.Helper()
	intercept := l.UnaryServerInterceptor()
	_, _ = intercept(context.Background(), req, &grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, req any) (any, error) {
		if r != nil {
			audit.SetCaller(ctx, r)
			if target[0] != "" {
				r.Trace().SetTarget(target[0], target[1])
			}
		}
		if err != nil {
			return nil, err
		}
		return struct{}{}, nil
	})
}

func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

func TestRecords(t *testing.T) {
	bot := func() *caller.Request {
		return &caller.Request{Identity: caller.Identity{Kind: caller.KindAPIKey, Name: "api-key:soc-bot"}}
	}
	denied := service.ToStatus(defender.Errorf(defender.KindPermissionDenied, defender.ReasonOperationNotAllowed, "no")).Err()
	unauth := service.ToStatus(defender.Errorf(defender.KindUnauthenticated, defender.ReasonAPIKeyInvalid, "bad key")).Err()
	tests := []struct {
		name      string
		queryText bool
		method    string
		req       any
		caller    *caller.Request
		target    [2]string
		err       error
		want      map[string]any
		absent    []string
	}{
		{"get", false, defenderv1.IncidentService_GetIncident_FullMethodName, &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/42"}, bot(), [2]string{"contexts/app", "contoso.onmicrosoft.com"}, nil,
			map[string]any{"msg": "audit", "request_id": "req-1", "caller": "api-key:soc-bot", "auth_context": "contexts/app", "tenant": "contoso.onmicrosoft.com",
				"operation": "incidents.read", "resource": "tenants/default/incidents/42", "code": "OK"}, []string{"reason", "query_sha256"}},
		{"denied falls back to requested tenant", false, defenderv1.IncidentService_UpdateIncident_FullMethodName,
			&defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: "tenants/fabrikam.com/incidents/7"}}, bot(), [2]string{}, denied,
			map[string]any{"caller": "api-key:soc-bot", "tenant": "fabrikam.com", "operation": "incidents.write", "code": "PermissionDenied", "reason": defender.ReasonOperationNotAllowed, "auth_context": ""}, nil},
		{"unauthenticated", false, defenderv1.AuthService_WhoAmI_FullMethodName, &defenderv1.WhoAmIRequest{Tenant: "tenants/default"}, nil, [2]string{}, unauth,
			map[string]any{"caller": "", "tenant": "default", "operation": "whoami", "code": "Unauthenticated", "reason": defender.ReasonAPIKeyInvalid}, nil},
		{"hunting hash only", false, defenderv1.HuntingService_RunQuery_FullMethodName, &defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: kql}, bot(), [2]string{}, nil,
			map[string]any{"operation": "hunting.run", "query_sha256": kqlSHA256()}, []string{"query"}},
		{"hunting with text", true, defenderv1.HuntingService_RunQuery_FullMethodName, &defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: kql}, bot(), [2]string{}, nil,
			map[string]any{"operation": "hunting.run", "query": kql}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			l := audit.New(slog.New(slog.NewJSONHandler(&buf, nil)), audit.Options{QueryText: tt.queryText, RequestID: requestID})
			call(t, l, tt.method, tt.req, tt.caller, tt.target, tt.err)
			recs := records(t, &buf)
			if len(recs) != 1 {
				t.Fatalf("got %d records, want 1:\n%s", len(recs), buf.String())
			}
			rec := recs[0]
			for k, v := range tt.want {
				if rec[k] != v {
					t.Errorf("%s = %v, want %v", k, rec[k], v)
				}
			}
			for _, k := range tt.absent {
				if _, ok := rec[k]; ok {
					t.Errorf("record has %s: %v", k, rec[k])
				}
			}
			if _, ok := rec["latency_ms"].(float64); !ok {
				t.Errorf("latency_ms = %v, want a number", rec["latency_ms"])
			}
			if !tt.queryText && strings.Contains(buf.String(), "secret-hunt") {
				t.Errorf("the query text is in the record: %s", buf.String())
			}
		})
	}
}

// TestFanoutRecordListsEveryTenant: a call on tenants/- names every tenant
// it touched, in the order touched, next to the requested "-".
func TestFanoutRecordListsEveryTenant(t *testing.T) {
	var buf bytes.Buffer
	l := audit.New(slog.New(slog.NewJSONHandler(&buf, nil)), audit.Options{RequestID: requestID})
	r := &caller.Request{Identity: caller.Identity{Kind: caller.KindAPIKey, Name: "api-key:soc-bot"}}
	_, _ = l.UnaryServerInterceptor()(context.Background(), &defenderv1.ListIncidentsRequest{Parent: "tenants/-"},
		&grpc.UnaryServerInfo{FullMethod: defenderv1.IncidentService_ListIncidents_FullMethodName},
		func(ctx context.Context, _ any) (any, error) {
			audit.SetCaller(ctx, r)
			for _, tenant := range []string{"home-id", "partner-id", "home-id"} {
				r.Trace().AddTouched(tenant)
			}
			return struct{}{}, nil
		})
	recs := records(t, &buf)
	if len(recs) != 1 {
		t.Fatalf("got %d records, want 1", len(recs))
	}
	got, _ := json.Marshal(recs[0]["tenants"])
	if string(got) != `["home-id","partner-id"]` || recs[0]["tenant"] != "-" || recs[0]["resource"] != "tenants/-" {
		t.Errorf("tenants = %s, tenant = %v, resource = %v; want [home-id partner-id], -, tenants/-", got, recs[0]["tenant"], recs[0]["resource"])
	}
	buf.Reset()
	call(t, l, defenderv1.IncidentService_GetIncident_FullMethodName, &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/1"},
		&caller.Request{Identity: caller.Identity{Name: "api-key:soc-bot"}}, [2]string{"contexts/app", "home-id"}, nil)
	if rec := records(t, &buf)[0]; rec["tenants"] != nil {
		t.Errorf("a call of one tenant has tenants = %v", rec["tenants"])
	}
}

func TestPublicMethodsNotAudited(t *testing.T) {
	var buf bytes.Buffer
	l := audit.New(slog.New(slog.NewJSONHandler(&buf, nil)), audit.Options{})
	call(t, l, "/grpc.health.v1.Health/Check", nil, nil, [2]string{}, nil)
	call(t, l, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", nil, nil, [2]string{}, nil)
	if buf.Len() != 0 {
		t.Errorf("public calls were audited: %s", buf.String())
	}
}

// TestServerStreamRecord: a server stream is recorded with its request:
// the tenant, the operation and, for StreamQuery, the query's hash.
func TestServerStreamRecord(t *testing.T) {
	var buf bytes.Buffer
	l := audit.New(slog.New(slog.NewJSONHandler(&buf, nil)), audit.Options{})
	req := &defenderv1.StreamQueryRequest{Tenant: "tenants/default", Query: kql}
	err := l.StreamServerInterceptor()(nil, recvStream{req: req}, &grpc.StreamServerInfo{FullMethod: defenderv1.HuntingService_StreamQuery_FullMethodName, IsServerStream: true},
		func(_ any, ss grpc.ServerStream) error {
			return ss.RecvMsg(&defenderv1.StreamQueryRequest{})
		})
	if err != nil {
		t.Fatal(err)
	}
	recs := records(t, &buf)
	if len(recs) != 1 || recs[0]["operation"] != "hunting.run" || recs[0]["tenant"] != "default" || recs[0]["query_sha256"] != kqlSHA256() {
		t.Errorf("records = %v, want one hunting.run record of tenant default with the query's hash", recs)
	}
}

// recvStream is a server stream delivering req.
type recvStream struct {
	grpc.ServerStream
	req proto.Message
}

func (recvStream) Context() context.Context { return context.Background() }
func (s recvStream) RecvMsg(m any) error {
	proto.Merge(m.(proto.Message), s.req)
	return nil
}

func TestStreamRecord(t *testing.T) {
	var buf bytes.Buffer
	l := audit.New(slog.New(slog.NewJSONHandler(&buf, nil)), audit.Options{})
	err := l.StreamServerInterceptor()(nil, fakeStream{}, &grpc.StreamServerInfo{FullMethod: "/defender.v1.X/Stream"}, func(any, grpc.ServerStream) error {
		return status.Error(codes.Unimplemented, "no")
	})
	if status.Code(err) != codes.Unimplemented {
		t.Fatalf("err = %v", err)
	}
	recs := records(t, &buf)
	if len(recs) != 1 || recs[0]["code"] != "Unimplemented" || recs[0]["operation"] != "/defender.v1.X/Stream" {
		t.Errorf("records = %v", recs)
	}
}

type fakeStream struct{ grpc.ServerStream }

func (fakeStream) Context() context.Context { return context.Background() }

func TestOpenFileAndMainLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "audit.jsonl")
	l, closer, err := audit.OpenFile(path, audit.Options{})
	if err != nil {
		t.Fatal(err)
	}
	call(t, l, defenderv1.AuthService_ListContexts_FullMethodName, &defenderv1.ListContextsRequest{}, nil, [2]string{}, nil)
	if err := closer.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"operation":"auth.admin"`) {
		t.Errorf("audit file = %s", data)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("audit file mode = %v, %v; want 0600", fi.Mode(), err)
	}

	var buf bytes.Buffer
	main := audit.ToMainLog(slog.New(slog.NewJSONHandler(&buf, nil)), audit.Options{})
	call(t, main, defenderv1.AuthService_ListContexts_FullMethodName, &defenderv1.ListContextsRequest{}, nil, [2]string{}, nil)
	if !strings.Contains(buf.String(), `"log":"audit"`) {
		t.Errorf("main log record lacks log=audit: %s", buf.String())
	}
}

func TestPanicIsRecorded(t *testing.T) {
	var buf bytes.Buffer
	l := audit.New(slog.New(slog.NewJSONHandler(&buf, nil)), audit.Options{})
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not go on")
			}
		}()
		_, _ = l.UnaryServerInterceptor()(context.Background(), &defenderv1.ListContextsRequest{},
			&grpc.UnaryServerInfo{FullMethod: defenderv1.AuthService_ListContexts_FullMethodName},
			func(context.Context, any) (any, error) { panic("boom") })
	}()
	recs := records(t, &buf)
	if len(recs) != 1 || recs[0]["code"] != "Internal" {
		t.Errorf("records = %v, want one Internal", recs)
	}
}
