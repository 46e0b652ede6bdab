package governor

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/defender"
)

func TestNew(t *testing.T) {
	r := &fakeResolver{backend: &fakeBackend{}}
	tests := []struct {
		name    string
		opts    Options
		wantErr bool
	}{
		{"no resolver", Options{}, true},
		{"negative TTL", Options{Resolver: r, Cache: CacheOptions{TTLHunting: -time.Second}}, true},
		{"negative bound", Options{Resolver: r, Cache: CacheOptions{MaxEntries: -1}}, true},
		{"plain", Options{Resolver: r}, false},
		{"everything", Options{Resolver: r, Coalesce: true, Scheduler: &fakeScheduler{}, Cache: CacheOptions{TTLIncidentGet: time.Second}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.opts)
			if (err != nil) != tt.wantErr {
				t.Fatalf("New: error %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

type errResolver struct{ err error }

func (e errResolver) Resolve(context.Context, string) (authctx.Target, error) {
	return authctx.Target{}, e.err
}

func TestResolveErrorPassesThrough(t *testing.T) {
	want := defender.Errorf(defender.KindPermissionDenied, defender.ReasonTenantNotAllowed, "no")
	g, err := New(Options{Resolver: errResolver{want}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := g.Resolve(t.Context(), tenantA); !errors.Is(err, want) {
		t.Fatalf("error = %v, want %v", err, want)
	}
}

func TestResolveKeepsTheTarget(t *testing.T) {
	fb := &fakeBackend{kind: defender.BackendXDR}
	g := newTest(t, Options{Coalesce: true}, fb)
	got, err := g.Resolve(as(t.Context(), "api-key:a", nil, ""), tenantA)
	if err != nil {
		t.Fatal(err)
	}
	if got.Tenant != tenantA || got.Context.Name != authctx.AppContextName || got.Backend.Kind() != defender.BackendXDR {
		t.Errorf("target = %+v", got)
	}
	if got.Backend == defender.Backend(fb) {
		t.Error("the backend is not wrapped")
	}
}
