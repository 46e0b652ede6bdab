package service

import (
	"strings"
	"testing"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// FuzzResourceNames feeds arbitrary names to the four name parsers. Each
// either refuses the name with INVALID_ARGUMENT naming the field, or
// accepts it, and then the parts it returns are
// valid and build the very same name again.
func FuzzResourceNames(f *testing.F) {
	for _, s := range []string{
		"", "tenants/", "tenants/default", "tenants/DEFAULT", "tenants/contoso.com",
		"tenants/e5b3f2a4-6c1d-4f8e-9a27-3d5c8b1e0f42",
		"tenants/default/incidents/1", "tenants/contoso.com/incidents/9223372036854775807",
		"tenants/default/incidents/", "tenants/default/incidents/1/incidents/2",
		"tenants/a.b/incidents/a.b/incidents/1", "tenants/default/deviceLogins/abc123",
		"tenants/default/deviceLogins/ABC", "tenants/x/deviceLogins/y/deviceLogins/z",
		"tenants/contoso.com\n/incidents/1", "tenants/cöntoso.com/incidents/1",
		"tenants/default/quota", "tenants/quota", "tenants/a.b/quota/quota", "tenants//quota",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		const field = "name"
		if tenant, err := parseTenantName(field, name); err != nil {
			checkNameError(t, err, field, name)
		} else if !validTenant(tenant) || strings.Contains(tenant, "/") || tenantsCollection+"/"+tenant != name {
			t.Errorf("parseTenantName(%q) accepted tenant %q", name, tenant)
		}

		if tenant, id, err := parseIncidentName(field, name); err != nil {
			checkNameError(t, err, field, name)
		} else if !validTenant(tenant) || strings.Contains(tenant, "/") || !validIncidentID(id) || incidentName(tenant, id) != name {
			t.Errorf("parseIncidentName(%q) accepted tenant %q, id %q", name, tenant, id)
		}

		if tenant, id, err := parseDeviceLoginName(field, name); err != nil {
			checkNameError(t, err, field, name)
		} else if !validTenant(tenant) || strings.Contains(tenant, "/") || !validDeviceLoginID(id) || deviceLoginName(tenant, id) != name {
			t.Errorf("parseDeviceLoginName(%q) accepted tenant %q, id %q", name, tenant, id)
		}

		if tenant, err := parseQuotaName(field, name); err != nil {
			checkNameError(t, err, field, name)
		} else if !validTenant(tenant) || strings.Contains(tenant, "/") || quotaName(tenant) != name {
			t.Errorf("parseQuotaName(%q) accepted tenant %q", name, tenant)
		}
	})
}

// checkNameError asserts err is INVALID_ARGUMENT with one field violation
// on field.
func checkNameError(t *testing.T, err error, field, name string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != codes.InvalidArgument {
		t.Fatalf("error for %q = %v, want INVALID_ARGUMENT", name, err)
	}
	var violations []*errdetails.BadRequest_FieldViolation
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			violations = append(violations, br.GetFieldViolations()...)
		}
	}
	if len(violations) != 1 || violations[0].GetField() != field {
		t.Fatalf("error for %q has field violations %v, want one on %q", name, violations, field)
	}
}
