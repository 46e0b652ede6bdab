package app

import (
	"fmt"
	"io"
	"strings"

	"github.com/defender-gateway/gateway/internal/config"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// bannerShell is how the banner's commands reach this sandbox: the
// addresses, TLS or plaintext, and the credential flags of the caller-auth
// mode. Every indented line of the banner is a shell command that works as
// pasted in that mode (sandbox_test.go runs them).
type bannerShell struct {
	grpcAddr, baseURL string
	// grpcurl and curl start every API call: the tool, its transport flags
	// and the caller's credential.
	grpcurl, curl string
	// grpcurlPlain and curlPlain carry no credential (reflection, health,
	// the token route).
	grpcurlPlain, curlPlain string
	// need is a shell line failing clearly when the credential variable is
	// unset ("" in mode none).
	need string
	// mode says in words how callers authenticate.
	mode string
}

func newBannerShell(cfg *config.Config, grpcAddr, httpAddr string) bannerShell {
	b := bannerShell{grpcAddr: dialable(grpcAddr)}
	b.grpcurlPlain, b.curlPlain, b.baseURL = "grpcurl -plaintext", "curl -s", "http://"+dialable(httpAddr)
	if cfg.TLSCertFile != "" {
		// The sandbox's certificate is the user's own; -insecure/-k keep
		// the lines pasteable whatever CA issued it.
		b.grpcurlPlain, b.curlPlain, b.baseURL = "grpcurl -insecure", "curl -sk", "https://"+dialable(httpAddr)
	}
	b.grpcurl, b.curl = b.grpcurlPlain, b.curlPlain
	switch cfg.CallerAuth {
	case config.CallerAuthAPIKey:
		b.grpcurl += ` -H "x-api-key: $API_KEY"`
		b.curl += ` -H "x-api-key: $API_KEY"`
		b.need = `: "${API_KEY:?set API_KEY to a key whose hash is in ` + cfg.APIKeysFile + `}"`
		b.mode = "api-key: every API call sends x-api-key: $API_KEY (a key of " + cfg.APIKeysFile + ")"
	case config.CallerAuthMTLS:
		b.grpcurl += ` -cert "$CLIENT_CERT" -key "$CLIENT_KEY"`
		b.curl += ` --cert "$CLIENT_CERT" --key "$CLIENT_KEY"`
		b.need = `: "${CLIENT_CERT:?set CLIENT_CERT and CLIENT_KEY to a client certificate and key signed by a CA in ` + cfg.ClientCAFile + `}" "${CLIENT_KEY:?}"`
		b.mode = "mtls: every API call presents $CLIENT_CERT/$CLIENT_KEY (signed by a CA in " + cfg.ClientCAFile + ")"
	case config.CallerAuthJWT:
		b.grpcurl += ` -H "authorization: Bearer $USER_TOKEN"`
		b.curl += ` -H "authorization: Bearer $USER_TOKEN"`
		b.need = `USER_TOKEN=$(` + b.tokenCommand("alice") + `)`
		b.mode = "jwt: every API call sends alice's user token, which is also her identity and selects on-behalf-of"
	default:
		b.mode = "none: callers are not authenticated (the sandbox's default; `--caller-auth` picks another mode)"
	}
	if cfg.CallerAuth != config.CallerAuthNone {
		b.mode += "; the policy " + cfg.PolicyFile + " decides what each call may do"
	}
	return b
}

// tokenCommand is the command printing a sandbox user token.
func (b bannerShell) tokenCommand(user string) string {
	return strings.Replace(b.curlPlain, "curl -s", "curl -fsS", 1) + " -d user=" + user + " " + b.baseURL + sandboxTokenPath
}

// printSandboxBanner tells the user how to talk to the sandbox, in the
// caller-auth mode it runs with.
func printSandboxBanner(w io.Writer, cfg *config.Config, grpcAddr, httpAddr string) {
	b := newBannerShell(cfg, grpcAddr, httpAddr)
	g, rest := b.grpcAddr, b.baseURL
	var s strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&s, format+"\n", args...) }
	line("")
	line("Defender Gateway is running in SANDBOX mode against its in-process emulator")
	line("(fake Entra ID, Graph and XDR APIs with sample data; nothing leaves this machine).")
	line("")
	line("gRPC     %s   (server reflection is on)", g)
	line("REST     %s   (OpenAPI 2.0 / Swagger: %s/openapi.json)", rest, rest)
	line("Health   %s/healthz  and  %s healthcheck; metrics: %s/metrics", rest, programName, rest)
	line("Callers  %s", b.mode)
	line("State    %s", stateMode(cfg.Redis))
	line("Docs     README.md (Try it, Stopping, Real tenant) and docs/auth.md")
	line("")
	line("Try (each indented line works as pasted):")
	if b.need != "" {
		line("  %s", b.need)
	}
	line("  %s %s list", b.grpcurlPlain, g)
	line("  %s -d '{\"parent\":\"tenants/default\",\"page_size\":3}' %s defender.v1.IncidentService/ListIncidents", b.grpcurl, g)
	line("  %s -d '{\"tenant\":\"tenants/default\",\"query\":\"AlertInfo | summarize count() by Severity\"}' %s defender.v1.HuntingService/RunQuery", b.grpcurl, g)
	line("  %s '%s/v1/tenants/default/incidents?pageSize=3'", b.curl, rest)
	line("  %s %s/v1/contexts", b.curl, rest)
	line("")
	line("Partner context (customer tenants on the allow-list):")
	if cfg.CallerAuth == config.CallerAuthJWT {
		// A user token works in its own tenant only: carol is Fabrikam's.
		jwtCarol := strings.Replace(b.grpcurl, "$USER_TOKEN", "$CAROL_TOKEN", 1)
		line("  CAROL_TOKEN=$(%s)", b.tokenCommand("carol"))
		line("  %s -d '{\"parent\":\"tenants/%s\",\"page_size\":3}' %s defender.v1.IncidentService/ListIncidents", jwtCarol, identity.SecondTenantDomain, g)
	} else {
		line("  %s -d '{\"parent\":\"tenants/%s\",\"page_size\":3}' %s defender.v1.IncidentService/ListIncidents", b.grpcurl, identity.SecondTenantDomain, g)
		line("  %s '%s/v1/tenants/%s/incidents'        # FAILED_PRECONDITION: CONSENT_REQUIRED", b.curl, rest, identity.ThirdTenantDomain)
		line("  %s '%s/v1/tenants/%s:consentUrl?state=xyz'", b.curl, rest, identity.ThirdTenantDomain)
	}
	line("")
	if cfg.CallerAuth == config.CallerAuthJWT {
		line("User context: the calls above already act for alice (on-behalf-of); WhoAmI says so.")
		line("  %s -d '{\"tenant\":\"tenants/default\"}' %s defender.v1.AuthService/WhoAmI", b.grpcurl, g)
	} else {
		line("User context, on-behalf-of: a token of an emulator user (alice, bob, carol) for the gateway's API")
		line("  USER_TOKEN=$(%s)    # or: %s sandbox-token --user alice", b.tokenCommand("alice"), programName)
		line("  %s -H \"authorization: Bearer $USER_TOKEN\" -d '{\"tenant\":\"tenants/default\"}' %s defender.v1.AuthService/WhoAmI", b.grpcurl, g)
		line("  %s -H \"authorization: Bearer $USER_TOKEN\" '%s/v1/tenants/default/incidents?pageSize=3'", b.curl, rest)
		line("")
		line("User context, signed-in account: sign alice in by device code (the emulator's sign-in page")
		line("approves it here, as a browser would), wait for COMPLETED, then act as that account.")
		line("  login=$(%s -d '{\"tenant\":\"tenants/default\"}' %s defender.v1.AuthService/StartDeviceLogin) && echo \"$login\"", b.grpcurl, g)
		line("  field() { echo \"$login\" | sed -n \"s/.*\\\"$1\\\": \\\"\\(.*\\)\\\".*/\\1/p\"; }")
		line("  curl -sk -d \"user_code=$(field userCode)&upn=%s&action=approve\" \"$(field verificationUri)\"", identity.AliceUPN)
		line("  for _ in $(seq 20); do %s -d \"{\\\"name\\\":\\\"$(field name)\\\"}\" %s defender.v1.AuthService/GetDeviceLogin | grep -q COMPLETED && break; sleep 0.5; done", b.grpcurl, g)
		line("  %s -H 'x-defender-account: %s' -d '{\"tenant\":\"tenants/default\"}' %s defender.v1.AuthService/WhoAmI", b.grpcurl, identity.AliceUPN, g)
		line("  %s -H 'x-defender-account: %s' '%s/v1/tenants/default/incidents?pageSize=3'", b.curl, identity.AliceUPN, rest)
	}
	line("")
	line("If a killed `go run` left the ports busy, see README.md (Stopping).")
	line("Stop with Ctrl-C.")
	_, _ = io.WriteString(w, s.String())
}

// stateMode says where quota state and sign-ins live.
func stateMode(r config.Redis) string {
	if !r.Enabled() {
		return "quota state in memory on this replica alone (DEFENDER_REDIS_URL shares it)"
	}
	return "quota state shared through redis " + r.RedactedURL()
}

// programName is the binary's name in the banner and usage texts, whatever
// os.Args[0] is.
const programName = "defender-gateway"
