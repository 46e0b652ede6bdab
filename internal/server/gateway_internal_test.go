package server

import (
	"testing"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
)

// TestHeaderMatcherGuard: no REST header reaches the internal
// certificate-identity key, even with a matcher that forwards
// Grpc-Metadata-* headers.
func TestHeaderMatcherGuard(t *testing.T) {
	tests := []struct {
		header string
		want   string // "" not forwarded
	}{
		{"X-Api-Key", "x-api-key"},
		{"X-Defender-Account", "x-defender-account"},
		{"X-Request-Id", "x-request-id"},
		{"Authorization", ""}, // grpc-gateway forwards it itself
		{"Grpc-Metadata-Foo", "Foo"},
		{"Grpc-Metadata-" + inprocCertIdentityKey, ""},
		{"Grpc-Metadata-X-Defender-Gateway-Inproc-Anything", ""},
	}
	for _, matcher := range []struct {
		name string
		m    runtime.HeaderMatcherFunc
	}{{"legacy", guardedHeaderMatcher(runtime.LegacyHeaderMatcher)}} {
		for _, tt := range tests {
			got, ok := matcher.m(tt.header)
			if (tt.want == "") == ok || got != tt.want {
				t.Errorf("%s: %s -> %q, %v; want %q", matcher.name, tt.header, got, ok, tt.want)
			}
		}
	}
	if got, ok := forwardHeader("Grpc-Metadata-" + inprocCertIdentityKey); ok {
		t.Errorf("forwardHeader forwards the internal key as %q", got)
	}
}
