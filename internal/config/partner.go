package config

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"unicode"

	"github.com/defender-gateway/gateway/internal/yamlstrict"

	"github.com/defender-gateway/gateway/internal/defender"
)

// PartnerTenant is one customer tenant of the partner context, as
// configured: fields left empty take the top-level setting (see
// Config.Partners).
type PartnerTenant struct {
	// Tenant is the customer tenant's GUID or verified domain.
	Tenant      string               `yaml:"tenant"`
	DisplayName string               `yaml:"display_name"`
	Backend     defender.BackendKind `yaml:"backend"`
	APIURL      string               `yaml:"api_url"`
	// AuthorityHost is the Entra ID host (national clouds).
	AuthorityHost string `yaml:"authority_host"`
	Scope         string `yaml:"scope"`

	// source names where the entry came from, for validation errors.
	source string
}

// maxDisplayName bounds a partner tenant's display name.
const maxDisplayName = 256

// tenantPattern is a tenant GUID or domain as resource names carry it.
var tenantPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9.-]{0,252}$`)

// parsePartnerList parses DEFENDER_PARTNER_TENANTS: comma-separated
// `tenant` or `tenant=Display Name` entries.
func parsePartnerList(v string) ([]PartnerTenant, error) {
	var out []PartnerTenant
	for i, entry := range strings.Split(v, ",") {
		entry = strings.TrimSpace(entry)
		if entry == "" {
			continue
		}
		tenant, name, _ := strings.Cut(entry, "=")
		tenant, name = strings.TrimSpace(tenant), strings.TrimSpace(name)
		if tenant == "" {
			return nil, fmt.Errorf("entry %d (%q) has no tenant", i+1, entry)
		}
		out = append(out, PartnerTenant{Tenant: tenant, DisplayName: name,
			source: fmt.Sprintf("DEFENDER_PARTNER_TENANTS: entry %d", i+1)})
	}
	return out, nil
}

// parsePartnerFile parses the YAML of DEFENDER_PARTNER_TENANTS_FILE: a list
// of tenants. Unknown keys are errors.
func parsePartnerFile(data []byte) ([]PartnerTenant, error) {
	var out []PartnerTenant
	if err := yamlstrict.Decode(data, &out); err != nil && !errors.Is(err, yamlstrict.ErrEmpty) {
		return nil, err
	}
	for i := range out {
		t := &out[i]
		t.source = fmt.Sprintf("DEFENDER_PARTNER_TENANTS_FILE: entry %d", i+1)
		t.Tenant = strings.TrimSpace(t.Tenant)
		t.DisplayName = strings.TrimSpace(t.DisplayName)
		t.Backend = defender.BackendKind(strings.ToLower(strings.TrimSpace(string(t.Backend))))
		t.APIURL = strings.TrimSpace(t.APIURL)
		t.AuthorityHost = strings.TrimSpace(t.AuthorityHost)
		t.Scope = strings.TrimSpace(t.Scope)
	}
	return out, nil
}

// loadPartnerTenants reads the allow-list file, if any, and joins it with
// the DEFENDER_PARTNER_TENANTS entries. A tenant listed twice is an error.
func (c *Config) loadPartnerTenants() error {
	var all []PartnerTenant
	if c.PartnerTenantsFile != "" {
		data, err := readSettingFile("DEFENDER_PARTNER_TENANTS_FILE", c.PartnerTenantsFile)
		if err != nil {
			return err
		}
		fromFile, err := parsePartnerFile(data)
		if err != nil {
			return fmt.Errorf("DEFENDER_PARTNER_TENANTS_FILE: %s: %w", c.PartnerTenantsFile, err)
		}
		all = append(all, fromFile...)
	}
	all = append(all, c.partnerList...)
	seen := map[string]bool{}
	var errs []error
	for _, t := range all {
		key := strings.ToLower(t.Tenant)
		if key != "" && seen[key] {
			errs = append(errs, fmt.Errorf("%s: partner tenant %q is listed more than once", t.source, t.Tenant))
		}
		seen[key] = true
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.PartnerTenants = all
	return nil
}

// Partners returns the partner tenants with every default applied: the
// top-level backend, authority host and scope, and the top-level API URL; a
// tenant that overrides the backend gets that backend's public API URL and
// scope unless it sets them too.
func (c *Config) Partners() []PartnerTenant {
	out := make([]PartnerTenant, len(c.PartnerTenants))
	for i, t := range c.PartnerTenants {
		overridden := t.Backend != "" && t.Backend != c.Backend
		if t.Backend == "" {
			t.Backend = c.Backend
		}
		if t.AuthorityHost == "" {
			t.AuthorityHost = c.AuthorityHost
		}
		d := backendDefaults[t.Backend]
		if t.APIURL == "" {
			t.APIURL = c.APIURL
			if overridden {
				t.APIURL = d.APIURL
			}
		}
		if t.Scope == "" {
			t.Scope = c.Scope
			if overridden {
				t.Scope = d.Scope
			}
		}
		out[i] = t
	}
	return out
}

// validatePartners checks every effective partner tenant and the consent
// redirect URI.
func (c *Config) validatePartners() []error {
	var errs []error
	for _, t := range c.Partners() {
		where := fmt.Sprintf("%s (%q)", t.source, t.Tenant)
		add := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf(where+": "+format, args...))
		}
		switch {
		case t.Tenant == "":
			add("tenant is required")
		case !tenantPattern.MatchString(t.Tenant):
			add("tenant must be a tenant GUID or a verified domain")
		case isReservedTenant(t.Tenant):
			add("tenant %q is an alias, not a tenant; use the customer's GUID or domain", t.Tenant)
		case c.TenantID != "" && strings.EqualFold(t.Tenant, c.TenantID):
			add("is the home tenant, which the app context serves")
		}
		if len(t.DisplayName) > maxDisplayName || strings.IndexFunc(t.DisplayName, unicode.IsControl) >= 0 {
			add("display_name must be at most %d characters without control characters", maxDisplayName)
		}
		if _, ok := backendDefaults[t.Backend]; !ok {
			add("backend %q is not a backend; use graph or xdr", t.Backend)
		}
		if err := checkURL(t.AuthorityHost, false); err != nil {
			add("authority_host: %w", err)
		}
		if err := checkURL(t.APIURL, true); err != nil {
			add("api_url: %w", err)
		}
		if t.Scope == "" {
			add("scope is empty")
		}
	}
	if c.ConsentRedirectURI != "" {
		if err := checkURL(c.ConsentRedirectURI, true); err != nil {
			errs = append(errs, fmt.Errorf("DEFENDER_CONSENT_REDIRECT_URI: %w", err))
		}
	}
	return errs
}

func isReservedTenant(t string) bool {
	switch strings.ToLower(t) {
	case "default", "common", "organizations", "consumers":
		return true
	}
	return false
}

// partnerSummary is the partner tenants for the configuration log: their
// count and the first few tenants.
func (c Config) partnerSummary() string {
	const shown = 5
	n := len(c.PartnerTenants)
	if n == 0 {
		return "(none)"
	}
	names := make([]string, 0, shown)
	for _, t := range c.PartnerTenants[:min(n, shown)] {
		names = append(names, t.Tenant)
	}
	s := fmt.Sprintf("%d: %s", n, strings.Join(names, ", "))
	if n > shown {
		s += fmt.Sprintf(", ... (%d more)", n-shown)
	}
	return s
}
