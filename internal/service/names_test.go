package service

import (
	"strings"
	"testing"
)

func TestParseTenantName(t *testing.T) {
	cases := []struct {
		name   string
		tenant string // "" means invalid
	}{
		{"tenants/default", "default"},
		{"tenants/Default", "Default"},
		{"tenants/e5b3f2a4-6c1d-4f8e-9a27-3d5c8b1e0f42", "e5b3f2a4-6c1d-4f8e-9a27-3d5c8b1e0f42"},
		{"tenants/E5B3F2A4-6C1D-4F8E-9A27-3D5C8B1E0F42", "E5B3F2A4-6C1D-4F8E-9A27-3D5C8B1E0F42"},
		{"tenants/contoso.onmicrosoft.com", "contoso.onmicrosoft.com"},
		{"tenants/a-b.example", "a-b.example"},
		{"", ""},
		{"tenants/", ""},
		{"tenants", ""},
		{"tenant/default", ""},
		{"tenants/default/", ""},
		{"tenants/default/incidents/1", ""},
		{"tenants/bad_tenant", ""},
		{"tenants/contoso", ""},
		{"tenants/.contoso.com", ""},
		{"tenants/contoso..com", ""},
		{"tenants/-contoso.com", ""},
		{"tenants/contoso-.com", ""},
		{"tenants/" + strings.Repeat("a", 64) + ".com", ""},
		{"tenants/" + strings.Repeat("a.", 127) + "com", ""},
		{"tenants/e5b3f2a4-6c1d-4f8e-9a27-3d5c8b1e0f4g", ""},
		{"tenants/e5b3f2a4x6c1d-4f8e-9a27-3d5c8b1e0f42", ""},
		{"tenants/contoso.com\n", ""},
		{"tenants/cöntoso.com", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseTenantName("parent", tc.name)
			if tc.tenant == "" {
				wantFieldError(t, err, "parent")
				return
			}
			if err != nil || got != tc.tenant {
				t.Errorf("parseTenantName = %q, %v; want %q", got, err, tc.tenant)
			}
		})
	}
}

func TestParseIncidentName(t *testing.T) {
	cases := []struct {
		name       string
		tenant, id string // "" means invalid
	}{
		{"tenants/default/incidents/1000", "default", "1000"},
		{"tenants/contoso.com/incidents/7", "contoso.com", "7"},
		{"tenants/default/incidents/9223372036854775807", "default", "9223372036854775807"},
		// Positive 64-bit integers only, one spelling each.
		{"tenants/default/incidents/0", "", ""},
		{"tenants/default/incidents/00", "", ""},
		{"tenants/default/incidents/0042", "", ""},
		{"tenants/default/incidents/+42", "", ""},
		{"tenants/default/incidents/9223372036854775808", "", ""},
		{"tenants/default/incidents/9999999999999999999", "", ""},
		{"tenants/default/incidents/12345678901234567890", "", ""},
		{"tenants/default/incidents/", "", ""},
		{"tenants/default/incidents/12a", "", ""},
		{"tenants/default/incidents/-1", "", ""},
		{"tenants/default/incidents/1/alerts/2", "", ""},
		{"tenants/default/incidents", "", ""},
		{"tenants/bad_tenant/incidents/1", "", ""},
		{"tenants//incidents/1", "", ""},
		{"default/incidents/1", "", ""},
		{"tenants/default/alerts/1", "", ""},
		{"", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tenant, id, err := parseIncidentName("incident.name", tc.name)
			if tc.id == "" {
				wantFieldError(t, err, "incident.name")
				return
			}
			if err != nil || tenant != tc.tenant || id != tc.id {
				t.Errorf("parseIncidentName = %q, %q, %v; want %q, %q", tenant, id, err, tc.tenant, tc.id)
			}
		})
	}
}

func TestIncidentNameRoundTrips(t *testing.T) {
	name := incidentName(canonicalTenant, "42")
	if name != "tenants/"+canonicalTenant+"/incidents/42" {
		t.Fatalf("incidentName = %q", name)
	}
	if tenant, id, err := parseIncidentName("name", name); err != nil || tenant != canonicalTenant || id != "42" {
		t.Errorf("parse(%q) = %q, %q, %v", name, tenant, id, err)
	}
}
