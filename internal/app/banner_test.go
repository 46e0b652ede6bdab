package app_test

import (
	"context"
	"crypto/x509/pkix"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/app"
	"github.com/defender-gateway/gateway/internal/callerauth"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/testpki"
)

// requireShellTools skips the test when the tools the banner's and the
// docs' commands use are missing, except in CI (CI=true), which installs
// them and must run it.
func requireShellTools(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"bash", "grpcurl", "curl", "sed", "grep", "seq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not on PATH; CI must install it (.ci/run does for grpcurl)", tool)
			}
			t.Skipf("%s is not on PATH: the pasted-commands test needs it (go install github.com/fullstorydev/grpcurl/cmd/grpcurl@v1.9.4)", tool)
		}
	}
}

// restErrorCode finds the codes of REST error bodies in output.
var restErrorCode = regexp.MustCompile(`"code":\s*(\d+)`)

// TestSandboxBannerPasted starts the sandbox in each caller-auth mode and
// runs every indented line of its banner as one bash script, exactly as
// printed (bash -e: every command must succeed), with only the variables
// the banner says to set. The output must show what the banner promises:
// incidents, the consent error, alice on-behalf-of and as a signed-in
// account.
func TestSandboxBannerPasted(t *testing.T) {
	requireShellTools(t)
	dir := t.TempDir()
	write := func(name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	policyFor := func(name string, identities ...string) string {
		var b strings.Builder
		b.WriteString("callers:\n")
		for _, id := range identities {
			b.WriteString("  - identity: " + id + "\n    tenants: [\"*\"]\n    operations: [incidents.read, hunting.run, auth.admin]\n    accounts: [\"*\"]\n")
		}
		return write(name, b.String())
	}

	const key = "banner-test-key-0123456789abcdef"
	keys := write("api-keys.yaml", "keys:\n  - name: banner\n    sha256: "+callerauth.HashAPIKey(key)+"\n")

	ca := testpki.NewCA(t, "banner test CA")
	server := ca.Issue(t, testpki.LeafSpec{Server: true, Subject: pkix.Name{CommonName: "localhost"}})
	client := ca.Issue(t, testpki.LeafSpec{Subject: pkix.Name{CommonName: "banner"}, URI: "spiffe://test/banner"})
	caFile := write("ca.pem", string(ca.PEM))
	serverCert, serverKey := write("server.pem", string(server.CertPEM)), write("server-key.pem", string(server.KeyPEM))
	clientCert, clientKey := write("client.pem", string(client.CertPEM)), write("client-key.pem", string(client.KeyPEM))

	listen := []string{"--sandbox", "--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"}
	onBehalfOf := `"context": "contexts/user/on-behalf-of"`
	aliceUpstream := `"upstreamIdentity": "` + identity.AliceUPN + `"`
	signedIn := []string{"Signed in.", `"context": "contexts/user/accounts/` + identity.AliceUPN + `"`, "CONSENT_REQUIRED", onBehalfOf, aliceUpstream}
	tests := []struct {
		name string
		args []string
		// vars are what the banner asks the user to set.
		vars     map[string]string
		wants    []string
		restErrs string // the REST error codes allowed in the output
	}{
		{name: "none", args: listen, wants: append([]string{`"caller": "anonymous"`}, signedIn...), restErrs: "9"},
		{
			name:     "api-key",
			args:     append(listen, "--caller-auth", "api-key", "--api-keys-file", keys, "--policy-file", policyFor("p1.yaml", "api-key:banner")),
			vars:     map[string]string{"API_KEY": key},
			wants:    append([]string{`"caller": "api-key:banner"`}, signedIn...),
			restErrs: "9",
		},
		{
			name: "mtls",
			args: append(listen, "--caller-auth", "mtls", "--tls-cert-file", serverCert, "--tls-key-file", serverKey,
				"--client-ca-file", caFile, "--policy-file", policyFor("p2.yaml", "mtls:spiffe://test/banner")),
			vars:     map[string]string{"CLIENT_CERT": clientCert, "CLIENT_KEY": clientKey},
			wants:    append([]string{`"caller": "mtls:spiffe://test/banner"`}, signedIn...),
			restErrs: "9",
		},
		{
			name: "jwt",
			// Users are matched by tenant and object id, never by UPN.
			args: append(listen, "--caller-auth", "jwt", "--policy-file", policyFor("p3.yaml",
				"user:"+strings.ToLower(identity.HomeTenantID+"/"+identity.AliceObjectID),
				"user:"+strings.ToLower(identity.SecondTenantID+"/"+identity.CarolObjectID))),
			wants: []string{onBehalfOf, aliceUpstream, `"id": "5`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr syncBuffer
			ctx, cancel := context.WithCancel(context.Background())
			exit := make(chan int, 1)
			go func() { exit <- app.Main(ctx, tt.args, envOf(nil), nil, &stdout, &stderr) }()
			defer func() {
				cancel()
				<-exit
			}()
			if !eventually(20*time.Second, func() bool { return strings.Contains(stdout.String(), "Stop with Ctrl-C.") || len(exit) > 0 }) {
				t.Fatalf("no banner within 20s; stderr:\n%s", stderr.String())
			}
			banner := stdout.String()
			for _, want := range []string{"/healthz", "/metrics", "README.md", "OpenAPI 2.0", "Callers  " + tt.name} {
				if !strings.Contains(banner, want) {
					t.Errorf("banner does not name %q:\n%s", want, banner)
				}
			}
			script := bannerScript(banner)
			if !strings.Contains(script, "StartDeviceLogin") && tt.name != "jwt" {
				t.Fatalf("banner has no device-code step:\n%s", banner)
			}
			out, err := runPasted(t, script, tt.vars)
			if err != nil {
				t.Fatalf("the banner's commands failed (%v):\n%s\n--- output:\n%s\n--- server log:\n%s", err, script, out, stderr.String())
			}
			for _, want := range tt.wants {
				if !strings.Contains(out, want) {
					t.Errorf("output lacks %s\n--- script:\n%s\n--- output:\n%.6000s", want, script, out)
				}
			}
			for _, m := range restErrorCode.FindAllStringSubmatch(out, -1) {
				if !strings.Contains(tt.restErrs, m[1]) || tt.restErrs == "" {
					t.Errorf("a REST call answered error code %s:\n%.6000s", m[1], out)
				}
			}
			if len(tt.vars) > 0 {
				// Without the variables the first line says what to set.
				out, err := runPasted(t, script, nil)
				if err == nil || !strings.Contains(out, "set ") {
					t.Errorf("without %v the script = %v, output %.300s; want a failure saying what to set", tt.vars, err, out)
				}
			}
		})
	}
}

// bannerScript is the banner's indented lines, the commands, in order.
func bannerScript(banner string) string {
	var lines []string
	for _, l := range strings.Split(banner, "\n") {
		if strings.HasPrefix(l, "  ") {
			lines = append(lines, strings.TrimPrefix(l, "  "))
		}
	}
	return strings.Join(lines, "\n")
}

// runPasted runs script with bash -e -o pipefail, with PATH, HOME and vars
// only.
func runPasted(t *testing.T, script string, vars map[string]string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-e", "-o", "pipefail", "-c", script)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}
