package server

import (
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/protobuf/types/known/durationpb"
)

// TestWriteStatusSetsRetryAfter: a REST error with a RetryInfo carries its
// delay as Retry-After, in whole seconds rounded up; one without carries
// none.
func TestWriteStatusSetsRetryAfter(t *testing.T) {
	tests := []struct {
		name  string
		delay time.Duration // 0: no RetryInfo
		want  string
	}{
		{"whole seconds", 7 * time.Second, "7"},
		{"rounded up", 1300 * time.Millisecond, "2"},
		{"below a second", 10 * time.Millisecond, "1"},
		{"no RetryInfo", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := edgeStatus(codes.ResourceExhausted, "QUOTA_EXHAUSTED", "quota", nil)
			if tt.delay > 0 {
				st = edgeStatus(codes.ResourceExhausted, "QUOTA_EXHAUSTED", "quota", nil,
					&errdetails.RetryInfo{RetryDelay: durationpb.New(tt.delay)})
			}
			rec := httptest.NewRecorder()
			writeStatus(rec, 429, st)
			if got := rec.Header().Get("Retry-After"); got != tt.want {
				t.Errorf("Retry-After = %q, want %q", got, tt.want)
			}
			if rec.Code != 429 {
				t.Errorf("status = %d, want 429", rec.Code)
			}
		})
	}
}
