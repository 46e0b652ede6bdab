package server

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"google.golang.org/grpc"
)

func TestUnaryCallTimeout(t *testing.T) {
	timeouts := CallTimeouts{Default: 30 * time.Second, Hunting: 200 * time.Second}
	const (
		incidents = "/defender.v1.IncidentService/GetIncident"
		hunting   = "/defender.v1.HuntingService/RunHuntingQuery"
	)
	tests := []struct {
		name   string
		method string
		caller time.Duration // 0: the caller set no deadline
		want   time.Duration
	}{
		{name: "no deadline gets the default", method: incidents, want: 30 * time.Second},
		{name: "hunting gets its own", method: hunting, want: 200 * time.Second},
		{name: "a shorter caller deadline wins", method: incidents, caller: 5 * time.Second, want: 5 * time.Second},
		{name: "a longer caller deadline is capped", method: incidents, caller: time.Hour, want: 30 * time.Second},
		{name: "a longer hunting deadline is capped", method: hunting, caller: time.Hour, want: 200 * time.Second},
		{name: "a hunting deadline between the two is kept", method: hunting, caller: 100 * time.Second, want: 100 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			if tt.caller > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.caller)
				defer cancel()
			}
			start := time.Now()
			var got time.Duration
			_, err := unaryCallTimeout(timeouts)(ctx, nil, &grpc.UnaryServerInfo{FullMethod: tt.method},
				func(ctx context.Context, _ any) (any, error) {
					d, ok := ctx.Deadline()
					if !ok {
						t.Fatal("the handler's context has no deadline")
					}
					got = d.Sub(start)
					return nil, nil
				})
			if err != nil {
				t.Fatal(err)
			}
			// The deadline is counted from a clock read near start.
			if got < tt.want-time.Second || got > tt.want+time.Second {
				t.Errorf("deadline in %v, want about %v", got, tt.want)
			}
		})
	}
}

func TestHuntingPrefixNamesTheService(t *testing.T) {
	if huntingPrefix != "/defender.v1.HuntingService/" {
		t.Errorf("huntingPrefix = %q", huntingPrefix)
	}
}

func TestHuntingRouteWriteDeadline(t *testing.T) {
	rules := apiWriteRules(90*time.Second, 230*time.Second, 30*time.Second)
	tests := []struct {
		method, path    string
		total, perWrite time.Duration
	}{
		{http.MethodPost, "/v1/tenants/default:runHuntingQuery", 230 * time.Second, 0},
		{http.MethodPost, "/v1/tenants/default:streamHuntingQuery", 0, 30 * time.Second},
		{http.MethodGet, "/v1/tenants/default:streamHuntingQuery", 90 * time.Second, 0},
		{http.MethodGet, "/v1/tenants/default:runHuntingQuery", 90 * time.Second, 0},
		{http.MethodGet, "/v1/tenants/default/incidents/7", 90 * time.Second, 0},
		{http.MethodPatch, "/v1/tenants/default/incidents/7", 90 * time.Second, 0},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(tt.method, tt.path, nil)
		if got := rules(r); got.total != tt.total || got.perWrite != tt.perWrite {
			t.Errorf("%s %s: rule %+v, want total %v per write %v", tt.method, tt.path, got, tt.total, tt.perWrite)
		}
	}
	// A hunting timeout no longer than the unary one changes nothing.
	if got := apiWriteRules(90*time.Second, time.Second, 30*time.Second)(httptest.NewRequest(http.MethodPost, "/v1/tenants/x:runHuntingQuery", nil)); got.total != 90*time.Second {
		t.Errorf("short hunting timeout: rule %+v, want the unary 90s", got)
	}
}
