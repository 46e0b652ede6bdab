package upstream

import (
	"net/url"
	"strings"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

func TestAPIBaseContains(t *testing.T) {
	tests := []struct {
		base, target string
		want         bool
	}{
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/security/incidents?$skip=50", true},
		{"https://graph.microsoft.com/v1.0/", "https://graph.microsoft.com/v1.0/security/incidents", true},
		{"https://graph.microsoft.com/v1.0", "https://GRAPH.microsoft.com:443/v1.0/security/incidents", true},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0", true},
		{"https://api.security.microsoft.com", "https://api.security.microsoft.com/api/incidents", true},
		{"https://graph.microsoft.com/v1.0", "https://evil.example.com/v1.0/security/incidents", false},
		{"https://graph.microsoft.com/v1.0", "http://graph.microsoft.com/v1.0/security/incidents", false},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com:8443/v1.0/security/incidents", false},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/beta/security/incidents", false},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.00/security/incidents", false},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/../beta/security", false},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/%2e%2e/beta/security", false},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/security%2F..%2F..%2Fbeta", false},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1%2E0/security/incidents", false},
		{"https://graph.microsoft.com/v1.0", "https://user:pw@graph.microsoft.com/v1.0/security", false},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com.evil.example/v1.0/security", false},
		{"https://graph.microsoft.com/v1.0", "/v1.0/security/incidents", false},
		// Backslashes, which some servers read as "/", and path parameters
		// on dot segments, which some strip before resolving dots.
		{"https://graph.microsoft.com/v1.0", `https://graph.microsoft.com/v1.0/security\..\..\beta`, false},
		{"https://graph.microsoft.com/v1.0", `https://graph.microsoft.com/v1.0/security\incidents`, false},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/security%5C..%5C..%5Cbeta", false},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/security%5cincidents", false},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/..;/beta/security", false},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/security/..;x=1/..;/beta", false},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/.;/security", false},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/%2e%2e;/beta", false},
		// Encodings left after one decoding, for servers that decode twice.
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/%252e%252e/beta", false},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/security%255C..%255Cbeta", false},
		// Not traversal: dots and semicolons inside a segment.
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/security/incidents/a..b", true},
		{"https://graph.microsoft.com/v1.0", "https://graph.microsoft.com/v1.0/security/incidents;x", true},
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			bu, err := url.Parse(tt.base)
			if err != nil {
				t.Fatal(err)
			}
			u, err := url.Parse(tt.target)
			if err != nil {
				t.Fatal(err)
			}
			if got := newAPIBase(bu).Contains(u); got != tt.want {
				t.Errorf("contains = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAPIBaseResolveRelativeLink(t *testing.T) {
	b, err := ParseAPIBase("https://graph.microsoft.com/v1.0")
	if err != nil {
		t.Fatal(err)
	}
	page := b.Endpoint("security", "incidents")
	if u, ok := b.Resolve("incidents?$skip=10#frag", page); !ok || u.String() != "https://graph.microsoft.com/v1.0/security/incidents?$skip=10" {
		t.Errorf("resolve relative = %v, %v", u, ok)
	}
	if _, ok := b.Resolve("/beta/security/incidents", page); ok {
		t.Error("a root-relative link outside the base path was accepted")
	}
	if _, ok := b.Resolve("//evil.example/v1.0/security", page); ok {
		t.Error("a scheme-relative link to another host was accepted")
	}
}

func TestEndpointEscapesSegments(t *testing.T) {
	b, err := ParseAPIBase("https://graph.microsoft.com/v1.0/")
	if err != nil {
		t.Fatal(err)
	}
	got := b.Endpoint("security", "incidents", "a/b?c").String()
	if want := "https://graph.microsoft.com/v1.0/security/incidents/a%2Fb%3Fc"; got != want {
		t.Errorf("endpoint = %s, want %s", got, want)
	}
}

func TestParseAPIBase(t *testing.T) {
	tests := []struct {
		raw string
		ok  bool
	}{
		{"https://graph.microsoft.com/v1.0", true},
		{"https://api.security.microsoft.com", true},
		{"http://127.0.0.1:8080/v1.0", true},
		{"http://localhost:9000", true},
		{"http://[::1]:9000", true},
		{"http://graph.microsoft.com/v1.0", false},
		{"ftp://graph.microsoft.com", false},
		{"graph.microsoft.com/v1.0", false},
		{"/v1.0", false},
		{"", false},
		{"https://graph.microsoft.com/v1.0?tenant=x", false},
		{"https://graph.microsoft.com/v1.0?", false},
		{"https://graph.microsoft.com/v1.0#x", false},
		{"https://user:secret@graph.microsoft.com", false},
		{"https://graph.microsoft.com/v1.0/../beta", false},
		{"https://graph.microsoft.com/v1.0/..;/beta", false},
		{`https://graph.microsoft.com/v1.0\..`, false},
		{"https://graph.microsoft.com/v1.0%5C..", false},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			_, err := ParseAPIBase(tt.raw)
			if tt.ok && err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			if !tt.ok {
				e := defendertest.MustError(t, err, defender.KindInvalidArgument, defender.ReasonInvalidArgument)
				if tt.raw != "" && strings.Contains(e.Error(), tt.raw) {
					t.Errorf("error echoes the URL: %v", e)
				}
			}
		})
	}
}
