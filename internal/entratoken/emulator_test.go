package entratoken

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// TestValidateEmulatorTokens validates the user tokens the emulator makes,
// as the gateway CLI would present them, against its real discovery
// document and key set.
func TestValidateEmulatorTokens(t *testing.T) {
	e, err := emulator.Start(emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	v, err := New(Options{
		AuthorityHost: e.AuthorityHost(),
		Audiences:     []string{identity.ClientID, identity.GatewayResource},
		Tenants:       []string{identity.HomeTenantDomain, identity.SecondTenantDomain},
		HTTPClient:    e.HTTPClient(),
	})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	tests := []struct {
		name       string
		spec       emulator.UserTokenSpec
		want       Check // "" for valid
		wantUPN    string
		configured string
	}{
		{"alice", emulator.UserTokenSpec{UPN: identity.AliceUPN}, "", identity.AliceUPN, identity.HomeTenantDomain},
		{"carol, second tenant", emulator.UserTokenSpec{UPN: identity.CarolUPN}, "", identity.CarolUPN, identity.SecondTenantDomain},
		{"forged", emulator.UserTokenSpec{UPN: identity.AliceUPN, Forged: true}, CheckSignature, "", ""},
		{"audience of Graph", emulator.UserTokenSpec{UPN: identity.AliceUPN, Audience: identity.GraphResource}, CheckAudience, "", ""},
		{"expired", emulator.UserTokenSpec{UPN: identity.AliceUPN, IssuedAt: now.Add(-2 * time.Hour), NotBefore: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}, CheckExpired, "", ""},
		{"not yet valid", emulator.UserTokenSpec{UPN: identity.AliceUPN, NotBefore: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour)}, CheckNotBefore, "", ""},
		{"foreign issuer", emulator.UserTokenSpec{UPN: identity.AliceUPN, Issuer: "https://login.evil.example/" + identity.HomeTenantID + "/v2.0"}, CheckIssuer, "", ""},
		{"tenant not served", emulator.UserTokenSpec{UPN: identity.AliceUPN, Tenant: identity.ThirdTenantID}, CheckTenant, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := e.UserToken(tt.spec)
			if err != nil {
				t.Fatal(err)
			}
			got, err := v.Validate(context.Background(), raw)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				if got.UPN != tt.wantUPN || got.ConfiguredTenant != tt.configured || !got.IsUser || got.AppID != identity.CLIClientID {
					t.Errorf("claims = %+v", got)
				}
				return
			}
			var te *Error
			if !errors.As(err, &te) || te.Check != tt.want {
				t.Fatalf("err = %v, want check %s", err, tt.want)
			}
		})
	}
}
