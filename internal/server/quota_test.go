package server_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/testing/protocmp"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// TestQuotaRoutes: GetQuota is served over gRPC and at GET
// /v1/tenants/{tenant}/quota, and a malformed name is refused by
// validation before the handler.
func TestQuotaRoutes(t *testing.T) {
	ts := startServer(t, nil, nil)
	want := &defenderv1.Quota{Name: "tenants/default/quota", Backend: defenderv1.Backend_BACKEND_XDR}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	got, err := defenderv1.NewQuotaServiceClient(ts.conn).GetQuota(ctx, &defenderv1.GetQuotaRequest{Name: "tenants/default/quota"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("gRPC quota (-want +got):\n%s", diff)
	}
	_, err = defenderv1.NewQuotaServiceClient(ts.conn).GetQuota(ctx, &defenderv1.GetQuotaRequest{Name: "tenants/default/quotas"})
	if status.Code(err) != codes.InvalidArgument {
		t.Errorf("malformed name: %v, want INVALID_ARGUMENT", err)
	}

	tests := []struct {
		path string
		code int
	}{
		{"/v1/tenants/default/quota", http.StatusOK},
		{"/v1/tenants/default/quota/x", http.StatusNotFound},
	}
	for _, tt := range tests {
		resp, body := ts.get(t, tt.path, nil)
		if resp.StatusCode != tt.code {
			t.Errorf("GET %s: HTTP %d %s, want %d", tt.path, resp.StatusCode, body, tt.code)
			continue
		}
		if tt.code != http.StatusOK {
			continue
		}
		rest := &defenderv1.Quota{}
		if err := protojson.Unmarshal(body, rest); err != nil {
			t.Fatalf("GET %s: %v in %s", tt.path, err, body)
		}
		if diff := cmp.Diff(want, rest, protocmp.Transform()); diff != "" {
			t.Errorf("REST quota (-want +got):\n%s", diff)
		}
	}
}
