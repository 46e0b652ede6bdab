package service

import "strings"

const (
	alertsCollection = "alerts"
	maxAlertIDLen    = 128
)

// parseAlertName parses `tenants/{tenant}/alerts/{alert}` from field.
func parseAlertName(field, name string) (tenant, id string, err error) {
	const usage = "must be tenants/{tenant}/alerts/{alert}, where {tenant} is a tenant GUID, a domain or \"default\" and {alert} is 1 to 128 letters, digits, '_' or '-', starting with a letter or digit"
	rest, ok := strings.CutPrefix(name, tenantsCollection+"/")
	if !ok {
		return "", "", fieldError(field, usage)
	}
	tenant, id, ok = strings.Cut(rest, "/"+alertsCollection+"/")
	if !ok || !validTenant(tenant) || !validAlertID(id) {
		return "", "", fieldError(field, usage)
	}
	return tenant, id, nil
}

// alertName is the resource name of alert id under the canonical tenant.
func alertName(tenant, id string) string {
	return tenantsCollection + "/" + tenant + "/" + alertsCollection + "/" + id
}

// validAlertID accepts the alert ids Graph uses (da637551227677560813_-961444813,
// GUIDs): letters, digits, '_' and '-', starting with a letter or digit, so
// an id never changes the upstream path.
func validAlertID(s string) bool {
	if len(s) == 0 || len(s) > maxAlertIDLen || !isAlnum(s[0]) {
		return false
	}
	for i := range len(s) {
		if !isAlnum(s[i]) && s[i] != '_' && s[i] != '-' {
			return false
		}
	}
	return true
}
