package backends

import (
	"context"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

// TestAlertCommentNeverPostsTwice: the alert comments call has the
// incident comment's once-only guarantee (an attempt whose outcome is
// unknown is re-posted only when the alert does not hold the comment).
func TestAlertCommentNeverPostsTwice(t *testing.T) {
	tests := []struct {
		name     string
		script   []string
		posts    int
		comments int
	}{
		{"apply then reset", []string{"apply-reset"}, 1, 1},
		{"500 after applying", []string{"500-applied"}, 1, 1},
		{"reset before applying is re-posted", []string{"reset"}, 2, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &commentServer{script: tt.script}
			srv, rec := defendertest.NewServer(t, s.handler(t, defender.BackendGraph))
			b, _ := retryingBackend(t, defender.BackendGraph, srv.URL)
			if _, err := b.UpdateAlert(context.Background(), "da7", defender.AlertUpdate{Comment: "checked by the SOC"}); err != nil {
				t.Fatalf("UpdateAlert: %v", err)
			}
			s.mu.Lock()
			defer s.mu.Unlock()
			if s.posts != tt.posts || len(s.comments) != tt.comments {
				t.Errorf("posts = %d, comments = %v; want %d posts, %d comment(s)", s.posts, s.comments, tt.posts, tt.comments)
			}
			for _, r := range rec.All() {
				if r.Path != "/security/alerts_v2/da7" && r.Path != "/security/alerts_v2/da7/comments" {
					t.Errorf("request to %s, want only the alert's routes", r.Path)
				}
			}
		})
	}
}

// TestXDRAlertsAreUnsupported: the XDR backend has no alerts endpoint;
// every alert method fails with UNSUPPORTED_BY_BACKEND and sends nothing.
func TestXDRAlertsAreUnsupported(t *testing.T) {
	srv, rec := defendertest.NewServer(t, nil)
	b, _ := retryingBackend(t, defender.BackendXDR, srv.URL)
	ctx := context.Background()
	_, err := b.ListAlerts(ctx, defender.AlertListQuery{PageSize: 5})
	defendertest.MustError(t, err, defender.KindUnimplemented, defender.ReasonUnsupportedByBackend)
	_, err = b.GetAlert(ctx, "da1")
	defendertest.MustError(t, err, defender.KindUnimplemented, defender.ReasonUnsupportedByBackend)
	_, err = b.UpdateAlert(ctx, "da1", defender.AlertUpdate{Comment: "x"})
	defendertest.MustError(t, err, defender.KindUnimplemented, defender.ReasonUnsupportedByBackend)
	if n := rec.Count(); n != 0 {
		t.Errorf("%d upstream requests, want none", n)
	}
}
