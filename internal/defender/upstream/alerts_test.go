package upstream

import (
	"net/url"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
)

// TestAlertCallsRouteAndFamily: an alert call's route hides the alert id
// as it hides incident ids, and its family is the one it names.
func TestAlertCallsRouteAndFamily(t *testing.T) {
	tests := []struct {
		path, route string
		c           Call
		family      defender.Family
	}{
		{"/v1.0/security/alerts_v2", "/v1.0/security/alerts_v2", Call{Kind: OpList, Family: defender.FamilyAlertRead}, defender.FamilyAlertRead},
		{"/v1.0/security/alerts_v2/da637551227677560813_-961444813", "/v1.0/security/alerts_v2/{id}", Call{Kind: OpRead, Family: defender.FamilyAlertGet}, defender.FamilyAlertGet},
		{"/v1.0/security/alerts_v2/da1/comments", "/v1.0/security/alerts_v2/{id}/comments", Call{Kind: OpWrite, Family: defender.FamilyAlertWrite}, defender.FamilyAlertWrite},
		{"/v1.0/security/incidents/42/comments", "/v1.0/security/incidents/{id}/comments", Call{Kind: OpWrite}, defender.FamilyIncidentWrite},
	}
	for _, tt := range tests {
		c := tt.c
		c.URL = &url.URL{Path: tt.path}
		if got := c.route(); got != tt.route {
			t.Errorf("route(%s) = %s, want %s", tt.path, got, tt.route)
		}
		if got := c.family(); got != tt.family {
			t.Errorf("family(%s) = %s, want %s", tt.path, got, tt.family)
		}
	}
}

func TestValidateAlertID(t *testing.T) {
	for id, ok := range map[string]bool{
		"da637551227677560813_-961444813": true, "5f8ea5a1-0d2e-4a16-a8c4-7b6a1f6b8e1d": true, "a": true,
		"": false, "-a": false, "_a": false, "a/b": false, "a.b": false, "a%2F": false, "..": false,
		string(make([]byte, 129)): false,
	} {
		if err := ValidateAlertID(id); (err == nil) != ok {
			t.Errorf("ValidateAlertID(%q) = %v, want ok=%v", id, err, ok)
		}
	}
}
