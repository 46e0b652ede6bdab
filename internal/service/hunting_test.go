package service

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/structpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

func mustStruct(t *testing.T, m map[string]any) *structpb.Struct {
	t.Helper()
	s, err := structpb.NewStruct(m)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestRunQueryConvertsTheResult(t *testing.T) {
	backend := newFakeBackend(0)
	backend.hunting = &defender.HuntingResult{
		Columns: []defender.HuntingColumn{{Name: "Timestamp", Type: "DateTime"}, {Name: "Count", Type: "Int64"}, {Name: "Extra", Type: "Dynamic"}},
		Rows: []map[string]any{
			{"Timestamp": "2025-03-01T12:00:00Z", "Count": float64(3), "Extra": map[string]any{"a": []any{true, nil, "x"}}},
			{"Timestamp": time.Date(2025, 3, 1, 12, 0, 0, 5, time.FixedZone("x", 3600)), "Count": int64(4), "Extra": []string{"y"}},
			{"Count": json.Number("5"), "Extra": math.NaN()},
			nil,
		},
		Stats: map[string]any{"ExecutionTime": 0.25, "resourceUsage": map[string]any{"cpu": uint32(2)}},
	}
	svc := NewHuntingService(fakeResolver{backend: backend}, nil)
	got, err := svc.RunQuery(context.Background(), &defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: "AlertInfo | take 3", Timespan: "P7D"})
	if err != nil {
		t.Fatal(err)
	}
	want := &defenderv1.RunQueryResponse{
		Columns: []*defenderv1.Column{{Name: "Timestamp", Type: "DateTime"}, {Name: "Count", Type: "Int64"}, {Name: "Extra", Type: "Dynamic"}},
		Rows: []*structpb.Struct{
			mustStruct(t, map[string]any{"Timestamp": "2025-03-01T12:00:00Z", "Count": 3, "Extra": map[string]any{"a": []any{true, nil, "x"}}}),
			mustStruct(t, map[string]any{"Timestamp": "2025-03-01T11:00:00.000000005Z", "Count": 4, "Extra": []any{"y"}}),
			mustStruct(t, map[string]any{"Count": 5, "Extra": "NaN"}),
			{},
		},
		Stats: mustStruct(t, map[string]any{"ExecutionTime": 0.25, "resourceUsage": map[string]any{"cpu": 2}}),
	}
	if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" {
		t.Errorf("response (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]defender.HuntingQuery{{Query: "AlertInfo | take 3", Timespan: "P7D", MaxResultBytes: DefaultMaxResultBytes * 3 / 2}}, backend.hunts); diff != "" {
		t.Errorf("backend query (-want +got):\n%s", diff)
	}
}

func TestRunQueryWithoutStats(t *testing.T) {
	backend := newFakeBackend(0)
	backend.hunting = &defender.HuntingResult{Columns: []defender.HuntingColumn{{Name: "n", Type: "Int64"}}}
	got, err := NewHuntingService(fakeResolver{backend: backend}, nil).RunQuery(context.Background(),
		&defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: "x"})
	if err != nil {
		t.Fatal(err)
	}
	if got.GetStats() != nil || len(got.GetRows()) != 0 || len(got.GetColumns()) != 1 {
		t.Errorf("response = %v", got)
	}
}

func TestRunQueryFailsOnAValueItCannotRepresent(t *testing.T) {
	backend := newFakeBackend(0)
	backend.hunting = &defender.HuntingResult{Rows: []map[string]any{{"c": make(chan int)}}}
	_, err := NewHuntingService(fakeResolver{backend: backend}, nil).RunQuery(context.Background(),
		&defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: "x"})
	st := wantCode(t, err, codes.Internal, defender.ReasonInternal)
	if st.Message() != "internal error" {
		t.Errorf("message = %q", st.Message())
	}
}

func TestRunQueryRejectsBadRequests(t *testing.T) {
	cases := []struct {
		name  string
		req   *defenderv1.RunQueryRequest
		field string
	}{
		{"nil request", nil, "tenant"},
		{"malformed tenant", &defenderv1.RunQueryRequest{Tenant: "tenants/", Query: "x"}, "tenant"},
		{"empty query", &defenderv1.RunQueryRequest{Tenant: "tenants/default"}, "query"},
		{"whitespace query", &defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: " \n\t "}, "query"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			backend := newFakeBackend(0)
			_, err := NewHuntingService(fakeResolver{backend: backend}, nil).RunQuery(context.Background(), tc.req)
			wantFieldError(t, err, tc.field)
			if n := backend.callCount(); n != 0 {
				t.Errorf("the backend was called %d times", n)
			}
		})
	}
	t.Run("30000 multi-byte characters are fine", func(t *testing.T) {
		backend := newFakeBackend(0)
		_, err := NewHuntingService(fakeResolver{backend: backend}, nil).RunQuery(context.Background(),
			&defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: strings.Repeat("é", 30000)})
		if err != nil {
			t.Fatal(err)
		}
	})
}
