package policy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/policy"
)

const homeGUID = "11111111-2222-3333-4444-555555555555"

// canonical serves the home tenant (default, its GUID and domain) and the
// partner tenant fabrikam.
func canonical(tenant string) (string, bool) {
	switch strings.ToLower(tenant) {
	case "default", homeGUID, "contoso.onmicrosoft.com":
		return "contoso.onmicrosoft.com", true
	case "fabrikam.onmicrosoft.com":
		return "fabrikam.onmicrosoft.com", true
	}
	return "", false
}

const goodPolicy = `
callers:
  - identity: api-key:soc-bot
    tenants: [default, fabrikam.onmicrosoft.com]
    operations: [incidents.read, incidents.write, hunting.run, auth.admin, quota.read, alerts.read]
  - identity: api-key:monitor
    tenants: [default]
    operations: [quota.read]
  - identity: api-key:reader
    tenants: [` + homeGUID + `]
    operations: [incidents.read]
  - identity: user:` + homeGUID + `/00000000-0000-0000-0000-0000000000AA
    tenants: ["*"]
    operations: [incidents.read, hunting.run]
    require_user_context: true
    accounts: [Alice@contoso.onmicrosoft.com]
  - identity: mtls:spiffe://corp/any-account
    tenants: ["*"]
    operations: [incidents.read]
    accounts: ["*"]
`

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, yaml string
		want       []string // substrings of the error
	}{
		{"empty file", "", []string{"is empty"}},
		{"no callers", "callers: []\n", []string{"callers: is empty"}},
		{"unknown top-level key", "callers: []\nextra: 1\n", []string{"extra"}},
		{"unknown entry key", "callers:\n  - identity: api-key:a\n    tenants: [default]\n    operations: [incidents.read]\n    operation: [x]\n", []string{"operation"}},
		{"unknown operation", "callers:\n  - identity: api-key:a\n    tenants: [default]\n    operations: [incidents.delete]\n", []string{"callers[0] (api-key:a)", "operations", `"incidents.delete"`}},
		{"duplicate identity", "callers:\n  - identity: api-key:a\n    tenants: [default]\n    operations: [incidents.read]\n  - identity: api-key:a\n    tenants: [default]\n    operations: [hunting.run]\n", []string{"callers[1] (api-key:a)", "duplicate"}},
		{"empty tenants", "callers:\n  - identity: api-key:a\n    tenants: []\n    operations: [incidents.read]\n", []string{"callers[0] (api-key:a)", "tenants: is empty"}},
		{"missing operations", "callers:\n  - identity: api-key:a\n    tenants: [default]\n", []string{"operations: is empty"}},
		{"tenant not served", "callers:\n  - identity: api-key:a\n    tenants: [northwind.example]\n    operations: [incidents.read]\n", []string{"callers[0] (api-key:a)", `"northwind.example" is not a tenant the gateway serves`}},
		{"wildcard with others", "callers:\n  - identity: api-key:a\n    tenants: [\"*\", default]\n    operations: [incidents.read]\n", []string{`"*" must stand alone`}},
		{"bad identity", "callers:\n  - identity: soc-bot\n    tenants: [default]\n    operations: [incidents.read]\n", []string{"identity", `"soc-bot"`}},
		{"user by UPN", "callers:\n  - identity: user:alice@contoso.onmicrosoft.com\n    tenants: [default]\n    operations: [incidents.read]\n", []string{"callers[0]", "never by UPN", "user:{tenant id}/{object id}"}},
		{"user by object id alone", "callers:\n  - identity: user:00000000-0000-0000-0000-0000000000aa\n    tenants: [default]\n    operations: [incidents.read]\n", []string{"callers[0]", "user:{tenant id}/{object id}"}},
		{"bad account", "callers:\n  - identity: api-key:a\n    tenants: [default]\n    operations: [incidents.read]\n    accounts: [alice]\n", []string{"accounts", `"alice"`}},
		{"two documents", "callers:\n  - identity: api-key:a\n    tenants: [default]\n    operations: [incidents.read]\n---\ncallers: []\n", []string{"single YAML document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := policy.Parse([]byte(tt.yaml), canonical)
			if err == nil {
				t.Fatal("Parse succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func mustParse(t *testing.T, y string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse([]byte(y), canonical)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return p
}

func apiKeyCaller(name string) *caller.Request {
	return &caller.Request{Identity: caller.Identity{Kind: caller.KindAPIKey, Name: "api-key:" + name}}
}

func userCaller() *caller.Request {
	return &caller.Request{
		Identity:  caller.Identity{Kind: caller.KindUser, Name: "user:" + homeGUID + "/00000000-0000-0000-0000-0000000000aa", Display: "alice@contoso.onmicrosoft.com"},
		UserToken: &caller.UserToken{UPN: "alice@contoso.onmicrosoft.com"},
	}
}

func TestAuthorize(t *testing.T) {
	store := policy.StaticStore(mustParse(t, goodPolicy))
	getIn := func(tenant string) *defenderv1.GetIncidentRequest {
		return &defenderv1.GetIncidentRequest{Name: "tenants/" + tenant + "/incidents/1"}
	}
	update := &defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: "tenants/fabrikam.onmicrosoft.com/incidents/7"}}
	withAccount := func(r *caller.Request, account string) *caller.Request { r.Account = account; return r }
	noUserContext := func() *caller.Request { r := userCaller(); r.UserToken = nil; return r }

	tests := []struct {
		name   string
		caller *caller.Request
		method string
		req    any
		reason string // "" allowed
	}{
		{"read home by alias default", apiKeyCaller("soc-bot"), defenderv1.IncidentService_GetIncident_FullMethodName, getIn("default"), ""},
		{"read home by GUID", apiKeyCaller("soc-bot"), defenderv1.IncidentService_GetIncident_FullMethodName, getIn(homeGUID), ""},
		{"update partner via incident.name", apiKeyCaller("soc-bot"), defenderv1.IncidentService_UpdateIncident_FullMethodName, update, ""},
		{"reader may not update", apiKeyCaller("reader"), defenderv1.IncidentService_UpdateIncident_FullMethodName,
			&defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: "tenants/default/incidents/7"}}, defender.ReasonOperationNotAllowed},
		{"reader may not use partner tenant", apiKeyCaller("reader"), defenderv1.IncidentService_ListIncidents_FullMethodName,
			&defenderv1.ListIncidentsRequest{Parent: "tenants/fabrikam.onmicrosoft.com"}, defender.ReasonCallerTenantNotAllowed},
		{"reader reads home by domain", apiKeyCaller("reader"), defenderv1.IncidentService_ListIncidents_FullMethodName,
			&defenderv1.ListIncidentsRequest{Parent: "tenants/contoso.onmicrosoft.com"}, ""},
		{"unknown caller", apiKeyCaller("stranger"), defenderv1.IncidentService_GetIncident_FullMethodName, getIn("default"), defender.ReasonOperationNotAllowed},
		{"reader may not hunt", apiKeyCaller("reader"), defenderv1.HuntingService_RunQuery_FullMethodName,
			&defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: "x"}, defender.ReasonOperationNotAllowed},
		{"reader may not admin", apiKeyCaller("reader"), defenderv1.AuthService_ListContexts_FullMethodName, &defenderv1.ListContextsRequest{}, defender.ReasonOperationNotAllowed},
		{"bot may admin without tenant", apiKeyCaller("soc-bot"), defenderv1.AuthService_ListContexts_FullMethodName, &defenderv1.ListContextsRequest{}, ""},
		{"device login by name", apiKeyCaller("soc-bot"), defenderv1.AuthService_GetDeviceLogin_FullMethodName,
			&defenderv1.GetDeviceLoginRequest{Name: "tenants/default/deviceLogins/abc"}, ""},
		{"whoami allowed tenant", apiKeyCaller("reader"), defenderv1.AuthService_WhoAmI_FullMethodName, &defenderv1.WhoAmIRequest{Tenant: "tenants/default"}, ""},
		{"whoami other tenant", apiKeyCaller("reader"), defenderv1.AuthService_WhoAmI_FullMethodName,
			&defenderv1.WhoAmIRequest{Tenant: "tenants/fabrikam.onmicrosoft.com"}, defender.ReasonCallerTenantNotAllowed},
		{"whoami unknown caller", apiKeyCaller("stranger"), defenderv1.AuthService_WhoAmI_FullMethodName, &defenderv1.WhoAmIRequest{Tenant: "tenants/default"}, defender.ReasonOperationNotAllowed},
		{"bot reads quota", apiKeyCaller("soc-bot"), defenderv1.QuotaService_GetQuota_FullMethodName,
			&defenderv1.GetQuotaRequest{Name: "tenants/fabrikam.onmicrosoft.com/quota"}, ""},
		{"monitor reads home quota", apiKeyCaller("monitor"), defenderv1.QuotaService_GetQuota_FullMethodName,
			&defenderv1.GetQuotaRequest{Name: "tenants/" + homeGUID + "/quota"}, ""},
		{"monitor may not read partner quota", apiKeyCaller("monitor"), defenderv1.QuotaService_GetQuota_FullMethodName,
			&defenderv1.GetQuotaRequest{Name: "tenants/fabrikam.onmicrosoft.com/quota"}, defender.ReasonCallerTenantNotAllowed},
		{"monitor may not read incidents", apiKeyCaller("monitor"), defenderv1.IncidentService_GetIncident_FullMethodName, getIn("default"), defender.ReasonOperationNotAllowed},
		{"reader may not read quota", apiKeyCaller("reader"), defenderv1.QuotaService_GetQuota_FullMethodName,
			&defenderv1.GetQuotaRequest{Name: "tenants/default/quota"}, defender.ReasonOperationNotAllowed},
		{"unknown method", apiKeyCaller("soc-bot"), "/defender.v1.IncidentService/DeleteIncident", nil, defender.ReasonOperationNotAllowed},
		{"user by tenant and object id", userCaller(), defenderv1.IncidentService_GetIncident_FullMethodName, getIn("fabrikam.onmicrosoft.com"), ""},
		{"a user's UPN never matches", &caller.Request{Identity: caller.Identity{Kind: caller.KindUser, Name: "user:alice@contoso.onmicrosoft.com"}, UserToken: &caller.UserToken{}},
			defenderv1.IncidentService_GetIncident_FullMethodName, getIn("default"), defender.ReasonOperationNotAllowed},
		{"another user with the same UPN", &caller.Request{Identity: caller.Identity{Kind: caller.KindUser, Name: "user:" + homeGUID + "/00000000-0000-0000-0000-0000000000bb",
			Display: "alice@contoso.onmicrosoft.com"}, UserToken: &caller.UserToken{}}, defenderv1.IncidentService_GetIncident_FullMethodName, getIn("default"), defender.ReasonOperationNotAllowed},
		{"user context required", noUserContext(), defenderv1.IncidentService_GetIncident_FullMethodName, getIn("default"), defender.ReasonUserContextRequired},
		{"user context by account", withAccount(noUserContext(), "ALICE@contoso.onmicrosoft.com"), defenderv1.IncidentService_GetIncident_FullMethodName, getIn("default"), ""},
		{"account not allowed", withAccount(userCaller(), "bob@contoso.onmicrosoft.com"), defenderv1.IncidentService_GetIncident_FullMethodName, getIn("default"), defender.ReasonAccountNotAllowed},
		{"account without accounts list", withAccount(apiKeyCaller("soc-bot"), "alice@contoso.onmicrosoft.com"), defenderv1.IncidentService_GetIncident_FullMethodName, getIn("default"), defender.ReasonAccountNotAllowed},
		{"wildcard list by a caller of two tenants", apiKeyCaller("soc-bot"), defenderv1.IncidentService_ListIncidents_FullMethodName,
			&defenderv1.ListIncidentsRequest{Parent: "tenants/-"}, ""},
		{"wildcard list by a caller of one tenant", apiKeyCaller("reader"), defenderv1.IncidentService_ListIncidents_FullMethodName,
			&defenderv1.ListIncidentsRequest{Parent: "tenants/-"}, ""},
		{"wildcard list still needs the operation", apiKeyCaller("monitor"), defenderv1.IncidentService_ListIncidents_FullMethodName,
			&defenderv1.ListIncidentsRequest{Parent: "tenants/-"}, defender.ReasonOperationNotAllowed},
		{"wildcard list still needs the user context", noUserContext(), defenderv1.IncidentService_ListIncidents_FullMethodName,
			&defenderv1.ListIncidentsRequest{Parent: "tenants/-"}, defender.ReasonUserContextRequired},
		{"wildcard list by an unknown caller", apiKeyCaller("stranger"), defenderv1.IncidentService_ListIncidents_FullMethodName,
			&defenderv1.ListIncidentsRequest{Parent: "tenants/-"}, defender.ReasonOperationNotAllowed},
		{"wildcard watch", apiKeyCaller("soc-bot"), defenderv1.IncidentService_WatchIncidents_FullMethodName,
			&defenderv1.WatchIncidentsRequest{Parent: "tenants/-"}, ""},
		{"wildcard watch still needs the operation", apiKeyCaller("monitor"), defenderv1.IncidentService_WatchIncidents_FullMethodName,
			&defenderv1.WatchIncidentsRequest{Parent: "tenants/-"}, defender.ReasonOperationNotAllowed},
		{"wildcard alert list", apiKeyCaller("soc-bot"), defenderv1.AlertService_ListAlerts_FullMethodName,
			&defenderv1.ListAlertsRequest{Parent: "tenants/-"}, ""},
		{"wildcard alert list still needs the operation", apiKeyCaller("reader"), defenderv1.AlertService_ListAlerts_FullMethodName,
			&defenderv1.ListAlertsRequest{Parent: "tenants/-"}, defender.ReasonOperationNotAllowed},
		{"wildcard alert watch", apiKeyCaller("soc-bot"), defenderv1.AlertService_WatchAlerts_FullMethodName,
			&defenderv1.WatchAlertsRequest{Parent: "tenants/-"}, ""},
		{"wildcard alert watch still needs the operation", apiKeyCaller("reader"), defenderv1.AlertService_WatchAlerts_FullMethodName,
			&defenderv1.WatchAlertsRequest{Parent: "tenants/-"}, defender.ReasonOperationNotAllowed},
		{"no wildcard for an alert get", apiKeyCaller("soc-bot"), defenderv1.AlertService_GetAlert_FullMethodName,
			&defenderv1.GetAlertRequest{Name: "tenants/-/alerts/a1"}, defender.ReasonCallerTenantNotAllowed},
		{"no wildcard for a get", apiKeyCaller("soc-bot"), defenderv1.IncidentService_GetIncident_FullMethodName, getIn("-"), defender.ReasonCallerTenantNotAllowed},
		{"wildcard query", apiKeyCaller("soc-bot"), defenderv1.HuntingService_RunQuery_FullMethodName,
			&defenderv1.RunQueryRequest{Tenant: "tenants/-", Query: "x"}, ""},
		{"wildcard query still needs the operation", apiKeyCaller("reader"), defenderv1.HuntingService_RunQuery_FullMethodName,
			&defenderv1.RunQueryRequest{Tenant: "tenants/-", Query: "x"}, defender.ReasonOperationNotAllowed},
		{"wildcard stream query", apiKeyCaller("soc-bot"), defenderv1.HuntingService_StreamQuery_FullMethodName,
			&defenderv1.StreamQueryRequest{Tenant: "tenants/-", Query: "x"}, ""},
		{"wildcard stream query still needs the operation", apiKeyCaller("reader"), defenderv1.HuntingService_StreamQuery_FullMethodName,
			&defenderv1.StreamQueryRequest{Tenant: "tenants/-", Query: "x"}, defender.ReasonOperationNotAllowed},
		{"any account", withAccount(&caller.Request{Identity: caller.Identity{Kind: caller.KindCertificate, Name: "mtls:spiffe://corp/any-account"}}, "zed@contoso.onmicrosoft.com"),
			defenderv1.IncidentService_GetIncident_FullMethodName, getIn("default"), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := store.Authorize(tt.caller, tt.method, tt.req)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("Authorize = %v, want allowed", err)
				}
				return
			}
			de, ok := defender.AsError(err)
			if !ok {
				t.Fatalf("Authorize = %v, want a *defender.Error", err)
			}
			if de.Kind != defender.KindPermissionDenied || de.Reason != tt.reason {
				t.Errorf("Authorize = kind %v reason %s, want PermissionDenied %s", de.Kind, de.Reason, tt.reason)
			}
			if !strings.Contains(de.Message, tt.caller.Identity.Name) {
				t.Errorf("message %q does not name the caller", de.Message)
			}
		})
	}
}

// TestAuthorizeTenant checks each tenant of a call on tenants/- by the
// policy and rule that allowed the call.
func TestAuthorizeTenant(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(path, []byte(goodPolicy), 0o600); err != nil {
		t.Fatal(err)
	}
	store, err := policy.NewStore(path, canonical)
	if err != nil {
		t.Fatal(err)
	}
	list := &defenderv1.ListIncidentsRequest{Parent: "tenants/-"}
	bot, reader := apiKeyCaller("soc-bot"), apiKeyCaller("reader")
	for _, r := range []*caller.Request{bot, reader} {
		if err := store.Authorize(r, defenderv1.IncidentService_ListIncidents_FullMethodName, list); err != nil {
			t.Fatalf("Authorize(%s, tenants/-) = %v", r.Identity.Name, err)
		}
	}
	// The policy changes after the calls were authorized: they keep theirs.
	if err := os.WriteFile(path, []byte("callers:\n  - identity: api-key:soc-bot\n    tenants: [default]\n    operations: [incidents.read]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := store.Reload(); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		r      *caller.Request
		tenant string
		reason string // "" allowed
	}{
		{"bot home", bot, "default", ""},
		{"bot home by GUID", bot, homeGUID, ""},
		{"bot partner", bot, "fabrikam.onmicrosoft.com", ""},
		{"bot tenant not served", bot, "northwind.example", defender.ReasonCallerTenantNotAllowed},
		{"reader home", reader, "contoso.onmicrosoft.com", ""},
		{"reader partner", reader, "fabrikam.onmicrosoft.com", defender.ReasonCallerTenantNotAllowed},
		{"the wildcard is no tenant", reader, "-", defender.ReasonCallerTenantNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.AuthorizeTenant(tt.tenant)
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("AuthorizeTenant(%s) = %v, want allowed", tt.tenant, err)
				}
				return
			}
			if de, _ := defender.AsError(err); de == nil || de.Reason != tt.reason {
				t.Errorf("AuthorizeTenant(%s) = %v, want %s", tt.tenant, err, tt.reason)
			}
		})
	}
}

func TestDenialMessageNamesOperationAndTenant(t *testing.T) {
	store := policy.StaticStore(mustParse(t, goodPolicy))
	err := store.Authorize(apiKeyCaller("reader"), defenderv1.HuntingService_RunQuery_FullMethodName, &defenderv1.RunQueryRequest{Tenant: "tenants/default", Query: "secret KQL"})
	de, _ := defender.AsError(err)
	if de == nil {
		t.Fatalf("Authorize = %v, want a denial", err)
	}
	for _, want := range []string{"api-key:reader", "hunting.run", `"default"`} {
		if !strings.Contains(de.Message, want) {
			t.Errorf("message %q does not contain %q", de.Message, want)
		}
	}
	if strings.Contains(de.Message, "secret KQL") {
		t.Errorf("message %q contains the query", de.Message)
	}
}

func TestAllowedOperations(t *testing.T) {
	store := policy.StaticStore(mustParse(t, goodPolicy))
	r := apiKeyCaller("reader")
	if err := store.Authorize(r, defenderv1.AuthService_WhoAmI_FullMethodName, &defenderv1.WhoAmIRequest{Tenant: "tenants/default"}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		tenant string
		want   []string
	}{
		{"default", []string{"incidents.read"}},
		{homeGUID, []string{"incidents.read"}},
		{"fabrikam.onmicrosoft.com", []string{}},
	}
	for _, tt := range tests {
		if got := r.AllowedOperations(tt.tenant); !slices.Equal(got, tt.want) {
			t.Errorf("AllowedOperations(%s) = %v, want %v", tt.tenant, got, tt.want)
		}
	}
	all := policy.AllowAll().AllowedOperations(caller.Identity{Name: "anonymous"}, "anything")
	if want := []string{"alerts.read", "alerts.write", "auth.admin", "hunting.run", "incidents.read", "incidents.write", "quota.read"}; !slices.Equal(all, want) {
		t.Errorf("AllowAll operations = %v, want %v", all, want)
	}
}

func TestAllowAll(t *testing.T) {
	store, err := policy.NewStore("", canonical)
	if err != nil {
		t.Fatal(err)
	}
	r := &caller.Request{Identity: caller.Identity{Kind: caller.KindAnonymous, Name: "anonymous"}}
	if err := store.Authorize(r, defenderv1.IncidentService_UpdateIncident_FullMethodName, &defenderv1.UpdateIncidentRequest{}); err != nil {
		t.Errorf("allow-all store denied: %v", err)
	}
	if err := store.Reload(); err != nil {
		t.Errorf("Reload without a file: %v", err)
	}
}

func TestReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	write := func(s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(goodPolicy)
	store, err := policy.NewStore(path, canonical)
	if err != nil {
		t.Fatal(err)
	}
	get := &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/1"}
	inFlight := apiKeyCaller("reader")
	if err := store.Authorize(inFlight, defenderv1.IncidentService_GetIncident_FullMethodName, get); err != nil {
		t.Fatalf("before reload: %v", err)
	}

	write("callers:\n  - identity: api-key:reader\n    tenants: [default]\n    operations: [bogus]\n")
	err = store.Reload()
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("Reload of an invalid file = %v, want an error naming the file and the operation", err)
	}
	if err := store.Authorize(apiKeyCaller("reader"), defenderv1.IncidentService_GetIncident_FullMethodName, get); err != nil {
		t.Errorf("after a failed reload the old policy must stay: %v", err)
	}

	write("callers:\n  - identity: api-key:reader\n    tenants: [default]\n    operations: [hunting.run]\n")
	if err := store.Reload(); err != nil {
		t.Fatalf("Reload: %v", err)
	}
	err = store.Authorize(apiKeyCaller("reader"), defenderv1.IncidentService_GetIncident_FullMethodName, get)
	if de, _ := defender.AsError(err); de == nil || de.Reason != defender.ReasonOperationNotAllowed {
		t.Errorf("after reload = %v, want OPERATION_NOT_ALLOWED", err)
	}
	// The call authorized before the reload keeps its policy.
	if got := inFlight.AllowedOperations("default"); !slices.Equal(got, []string{"incidents.read"}) {
		t.Errorf("in-flight AllowedOperations = %v, want the old policy's [incidents.read]", got)
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := policy.NewStore(filepath.Join(t.TempDir(), "nope.yaml"), canonical)
	if err == nil || !strings.Contains(err.Error(), "nope.yaml") {
		t.Errorf("NewStore of a missing file = %v, want an error naming it", err)
	}
}

func TestResource(t *testing.T) {
	tests := []struct {
		name             string
		req              any
		resource, tenant string
		ok               bool
	}{
		{"parent", &defenderv1.ListIncidentsRequest{Parent: "tenants/a.com"}, "tenants/a.com", "a.com", true},
		{"name", &defenderv1.GetIncidentRequest{Name: "tenants/b/incidents/3"}, "tenants/b/incidents/3", "b", true},
		{"tenant", &defenderv1.RunQueryRequest{Tenant: "tenants/c", Query: "q"}, "tenants/c", "c", true},
		{"quota name", &defenderv1.GetQuotaRequest{Name: "tenants/e/quota"}, "tenants/e/quota", "e", true},
		{"incident.name", &defenderv1.UpdateIncidentRequest{Incident: &defenderv1.Incident{Name: "tenants/d/incidents/4"}}, "tenants/d/incidents/4", "d", true},
		{"no incident", &defenderv1.UpdateIncidentRequest{}, "", "", false},
		{"alert parent (the incident filter is not the resource)", &defenderv1.ListAlertsRequest{Parent: "tenants/f", Incident: "tenants/g/incidents/1"}, "tenants/f", "f", true},
		{"alert name", &defenderv1.GetAlertRequest{Name: "tenants/h/alerts/da1"}, "tenants/h/alerts/da1", "h", true},
		{"alert.name", &defenderv1.UpdateAlertRequest{Alert: &defenderv1.Alert{Name: "tenants/i/alerts/da2"}}, "tenants/i/alerts/da2", "i", true},
		{"no alert", &defenderv1.UpdateAlertRequest{}, "", "", false},
		{"malformed", &defenderv1.GetIncidentRequest{Name: "incidents/3"}, "incidents/3", "", false},
		{"empty tenant", &defenderv1.GetIncidentRequest{Name: "tenants//incidents/3"}, "tenants//incidents/3", "", false},
		{"no resource field", &defenderv1.ListContextsRequest{}, "", "", false},
		{"not a message", "tenants/x", "", "", false},
		{"nil", nil, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resource, tenant, ok := policy.Resource(tt.req)
			if resource != tt.resource || tenant != tt.tenant || ok != tt.ok {
				t.Errorf("Resource = %q, %q, %v; want %q, %q, %v", resource, tenant, ok, tt.resource, tt.tenant, tt.ok)
			}
		})
	}
}

func TestPublic(t *testing.T) {
	for method, want := range map[string]bool{
		"/grpc.health.v1.Health/Check":                                   true,
		"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo":      true,
		"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo": true,
		defenderv1.AuthService_WhoAmI_FullMethodName:                     false,
		"/grpc.health.v1.HealthX/Check":                                  false,
	} {
		if got := policy.Public(method); got != want {
			t.Errorf("Public(%s) = %v, want %v", method, got, want)
		}
	}
}

// TestEveryMethodHasARule: every RPC of defender.v1 has a rule, so none is
// denied by default by mistake, and the GetQuota rule is quota.read in its
// tenant.
func TestEveryMethodHasARule(t *testing.T) {
	var n int
	protoregistry.GlobalFiles.RangeFilesByPackage("defender.v1", func(fd protoreflect.FileDescriptor) bool {
		for i := range fd.Services().Len() {
			sd := fd.Services().Get(i)
			for j := range sd.Methods().Len() {
				method := "/" + string(sd.FullName()) + "/" + string(sd.Methods().Get(j).Name())
				n++
				if _, ok := policy.MethodRule(method); !ok {
					t.Errorf("%s has no rule", method)
				}
			}
		}
		return true
	})
	if n == 0 {
		t.Fatal("no defender.v1 methods are registered")
	}
	rule, _ := policy.MethodRule(defenderv1.QuotaService_GetQuota_FullMethodName)
	if want := (policy.Rule{Operation: policy.OpQuotaRead, TenantScoped: true}); rule != want {
		t.Errorf("GetQuota rule = %+v, want %+v", rule, want)
	}
}
