package credentials

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// knownAuthorityHosts are Microsoft's public and national-cloud Entra ID
// hosts. MSAL knows them and may validate them through instance discovery.
var knownAuthorityHosts = map[string]bool{
	"login.microsoftonline.com":        true,
	"login.microsoftonline.us":         true,
	"login.chinacloudapi.cn":           true,
	"login.partner.microsoftonline.cn": true,
}

// authorityURL joins an authority host such as https://login.microsoftonline.com
// and a tenant into the authority MSAL takes, and says whether MSAL's
// instance discovery may be used.
//
// Instance discovery asks login.microsoftonline.com whether an authority is
// genuine and which aliases share a cache. It is kept on for Microsoft's own
// hosts and turned off for any other host (the emulator, a test double, a
// private proxy), because MSAL would otherwise send that question to the
// public cloud, which fails offline and vouches for nothing here.
func authorityURL(host, tenant string) (authority string, instanceDiscovery bool, err error) {
	u, err := url.Parse(host)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" {
		return "", false, fmt.Errorf("authority host %q must be an absolute https URL", host)
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		return "", false, fmt.Errorf("authority host %q must not have a path; the tenant is added to it", host)
	}
	if err := checkTenant(tenant); err != nil {
		return "", false, err
	}
	known := knownAuthorityHosts[strings.ToLower(u.Host)]
	return "https://" + u.Host + "/" + tenant, known, nil
}

// checkTenant accepts a tenant GUID or domain. The multi-tenant aliases are
// refused: client credentials need one concrete tenant.
func checkTenant(tenant string) error {
	switch strings.ToLower(tenant) {
	case "":
		return errors.New("tenant ID is required")
	case "common", "organizations", "consumers":
		return fmt.Errorf("tenant %q is a multi-tenant alias; client credentials need a tenant GUID or domain", tenant)
	}
	for _, r := range tenant {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.' || r == '_'
		if !ok {
			return fmt.Errorf("tenant %q must be a GUID or a domain name", tenant)
		}
	}
	return nil
}
