package service

import (
	"strconv"
	"strings"
)

// Resource name collections.
const (
	tenantsCollection      = "tenants"
	incidentsCollection    = "incidents"
	deviceLoginsCollection = "deviceLogins"
	quotaSingleton         = "quota"
	defaultTenant          = "default"

	maxTenantLen     = 253 // a DNS name
	maxIncidentIDLen = 19  // the digits of the largest int64
)

// parseTenantName parses `tenants/{tenant}` from field and returns {tenant}.
func parseTenantName(field, name string) (string, error) {
	tenant, ok := strings.CutPrefix(name, tenantsCollection+"/")
	if !ok || !validTenant(tenant) {
		return "", fieldError(field, "must be tenants/{tenant}, where {tenant} is a tenant GUID, a domain or \"default\"")
	}
	return tenant, nil
}

// parseIncidentName parses `tenants/{tenant}/incidents/{incident}` from field.
func parseIncidentName(field, name string) (tenant, id string, err error) {
	const usage = "must be tenants/{tenant}/incidents/{incident}, where {tenant} is a tenant GUID, a domain or \"default\" and {incident} is a positive 64-bit integer without leading zeros"
	rest, ok := strings.CutPrefix(name, tenantsCollection+"/")
	if !ok {
		return "", "", fieldError(field, usage)
	}
	tenant, id, ok = strings.Cut(rest, "/"+incidentsCollection+"/")
	if !ok || !validTenant(tenant) || !validIncidentID(id) {
		return "", "", fieldError(field, usage)
	}
	return tenant, id, nil
}

// parseDeviceLoginName parses `tenants/{tenant}/deviceLogins/{id}` from
// field.
func parseDeviceLoginName(field, name string) (tenant, id string, err error) {
	const usage = "must be tenants/{tenant}/deviceLogins/{device_login}, where {tenant} is a tenant GUID, a domain or \"default\""
	rest, ok := strings.CutPrefix(name, tenantsCollection+"/")
	if !ok {
		return "", "", fieldError(field, usage)
	}
	tenant, id, ok = strings.Cut(rest, "/"+deviceLoginsCollection+"/")
	if !ok || !validTenant(tenant) || !validDeviceLoginID(id) {
		return "", "", fieldError(field, usage)
	}
	return tenant, id, nil
}

// parseQuotaName parses `tenants/{tenant}/quota` from field and returns
// {tenant}.
func parseQuotaName(field, name string) (string, error) {
	const usage = "must be tenants/{tenant}/quota, where {tenant} is a tenant GUID, a domain or \"default\""
	rest, ok := strings.CutPrefix(name, tenantsCollection+"/")
	if !ok {
		return "", fieldError(field, usage)
	}
	tenant, ok := strings.CutSuffix(rest, "/"+quotaSingleton)
	if !ok || !validTenant(tenant) {
		return "", fieldError(field, usage)
	}
	return tenant, nil
}

// quotaName is the resource name of a tenant's quota under the canonical
// tenant.
func quotaName(tenant string) string {
	return tenantsCollection + "/" + tenant + "/" + quotaSingleton
}

// deviceLoginName is the resource name of a device login under the
// canonical tenant.
func deviceLoginName(tenant, id string) string {
	return tenantsCollection + "/" + tenant + "/" + deviceLoginsCollection + "/" + id
}

// validDeviceLoginID accepts 1 to 64 lower-case letters and digits.
func validDeviceLoginID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := range len(s) {
		if c := s[i]; (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			return false
		}
	}
	return true
}

// incidentName is the resource name of incident id under the canonical tenant.
func incidentName(tenant, id string) string {
	return tenantsCollection + "/" + tenant + "/" + incidentsCollection + "/" + id
}

// validTenant accepts "default" (any case), a GUID, or a DNS domain of at
// least two labels.
func validTenant(s string) bool {
	return strings.EqualFold(s, defaultTenant) || isGUID(s) || isDomain(s)
}

// isGUID accepts the 8-4-4-4-12 hexadecimal form.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := range len(s) {
		switch i {
		case 8, 13, 18, 23:
			if s[i] != '-' {
				return false
			}
		default:
			if !isHex(s[i]) {
				return false
			}
		}
	}
	return true
}

// isDomain accepts LDH labels of 1 to 63 characters, not starting or ending
// with a hyphen, at least two of them, at most 253 characters in all.
func isDomain(s string) bool {
	if len(s) > maxTenantLen {
		return false
	}
	labels := strings.Split(s, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := range len(l) {
			if !isAlnum(l[i]) && l[i] != '-' {
				return false
			}
		}
	}
	return true
}

// validIncidentID accepts a positive 64-bit integer in decimal without
// leading zeros (both upstreams' incident ids are such integers), so that
// one incident has one name: "0042" is not "42", and 0 or an id beyond
// 2^63-1 is refused before any upstream call.
func validIncidentID(s string) bool {
	if len(s) == 0 || len(s) > maxIncidentIDLen || s[0] == '0' {
		return false
	}
	for i := range len(s) {
		if !isDigit(s[i]) {
			return false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return err == nil && n > 0
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }
func isAlnum(c byte) bool { return isDigit(c) || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
