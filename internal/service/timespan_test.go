package service

import (
	"context"
	"testing"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

func TestCheckTimespan(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"", true},
		{"P30D", true},
		{"P90D", true},
		{"PT12H", true},
		{"PT30M", true},
		{"PT45S", true},
		{"PT0.5S", true},
		{"PT1,5S", true},
		{"P1DT2H30M10.25S", true},
		{"P1Y2M3D", true},
		{"P2W", true},
		{"2024-01-01T00:00:00Z", true},
		{"2024-01-01T00:00:00.1234567Z", true},
		{"2024-01-01T02:00:00+02:00", true},
		{"2024-01-01T00:00:00Z/2024-01-31T00:00:00Z", true},
		{"2024-01-01T00:00:00Z/2024-01-01T00:00:00.5+00:00", true},
		{"P30D/2024-01-31T00:00:00Z", true},
		{"2024-01-01T00:00:00Z/P30D", true},

		{"30d", false},
		{"30 days", false},
		{"p30d", false},
		{"P", false},
		{"PT", false},
		{"P1DT", false},
		{"P1H", false},
		{"PT1D", false},
		{"P1.5D", false},
		{"PT1.5H", false},
		{"PT1.S", false},
		{"PT.5S", false},
		{"PT1.2.3S", false},
		{"P1D2Y", false},
		{"P1D1D", false},
		{"P1W2D", false},
		{"PW", false},
		{"-P1D", false},
		{" P30D", false},
		{"P30D ", false},
		{"P30D/P1D", false},
		{"P30D/", false},
		{"/P30D", false},
		{"2024-01-01", false},
		{"2024-01-01T00:00:00", false},
		{"2024-01-01/2024-02-01", false},
		{"2024-13-01T00:00:00Z", false},
		{"2024-01-31T00:00:00Z/2024-01-01T00:00:00Z", false},
		{"2024-01-01T00:00:00Z/2024-01-01T00:00:00Z", false},
		{"2024-01-01T00:00:00Z/2024-02-01T00:00:00Z/P1D", false},
		{"P30D/P30D/2024-01-01T00:00:00Z", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			err := checkTimespan(tt.in)
			if tt.ok {
				if err != nil {
					t.Errorf("checkTimespan(%q) = %v, want ok", tt.in, err)
				}
				return
			}
			wantFieldError(t, err, "timespan")
		})
	}
}

// TestRunQueryChecksTheTimespanFirst: an invalid timespan never reaches the
// backend (no token, no quota); a valid one is passed on unchanged.
func TestRunQueryChecksTheTimespanFirst(t *testing.T) {
	for _, ts := range []string{"30 days", "2024-01-31T00:00:00Z/2024-01-01T00:00:00Z", "P1H"} {
		t.Run(ts, func(t *testing.T) {
			backend := newFakeBackend(0)
			_, err := NewHuntingService(fakeResolver{backend: backend}, nil).RunQuery(context.Background(),
				&defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: "AlertInfo | take 1", Timespan: ts})
			wantFieldError(t, err, "timespan")
			if n := backend.callCount(); n != 0 {
				t.Errorf("the backend was called %d times", n)
			}
		})
	}
	backend := newFakeBackend(0)
	_, err := NewHuntingService(fakeResolver{backend: backend}, nil).RunQuery(context.Background(),
		&defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: "AlertInfo | take 1", Timespan: "P7D/2024-01-31T00:00:00Z"})
	if err != nil || backend.callCount() != 1 || backend.hunts[0].Timespan != "P7D/2024-01-31T00:00:00Z" {
		t.Fatalf("valid timespan: %v, backend queries %+v", err, backend.hunts)
	}
}
