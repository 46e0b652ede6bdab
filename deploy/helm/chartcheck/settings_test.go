package chartcheck

import (
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/defender-gateway/gateway/internal/config"
)

// unknownSettings returns every DEFENDER_* variable and --flag of c that
// is not a setting the binary accepts (internal/config.SettingNames), and
// every variable that is not a DEFENDER_* one.
func unknownSettings(c corev1.Container) []string {
	envs, flags := map[string]bool{}, map[string]bool{}
	for _, s := range config.SettingNames() {
		envs[s.Env], flags[s.Flag] = true, true
	}
	var unknown []string
	for _, e := range c.Env {
		if !envs[e.Name] {
			unknown = append(unknown, e.Name)
		}
	}
	for _, a := range c.Args {
		name, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-"), "=")
		if !strings.HasPrefix(a, "-") || !flags[name] {
			unknown = append(unknown, a)
		}
	}
	return unknown
}

// TestChartSetsOnlyTheBinarysSettings: every variable and flag the chart
// sets, with the defaults and with the production example, is one the
// binary accepts; and one that is not is caught.
func TestChartSetsOnlyTheBinarysSettings(t *testing.T) {
	for _, files := range [][]string{nil, {"examples/production.yaml"}} {
		c := container(t, gateway(t, mustRender(t, files)))
		if unknown := unknownSettings(c); len(unknown) > 0 {
			t.Errorf("values %v: the chart sets what the binary does not accept: %v", files, unknown)
		}
		if len(c.Env) < 10 {
			t.Errorf("values %v: only %d variables; the check saw nothing", files, len(c.Env))
		}
	}
	c := container(t, gateway(t, mustRender(t, nil, "extraEnv.DEFENDER_NO_SUCH_SETTING=1", "extraArgs={--no-such-flag=1,--log-level=debug}")))
	got := fmt.Sprint(unknownSettings(c))
	if got != "[DEFENDER_NO_SUCH_SETTING --no-such-flag=1]" {
		t.Errorf("unknown settings = %s, want the bogus variable and flag only", got)
	}
}

// TestChartConfigurationLoads loads the rendered environment and flags
// with the binary's own config.Load and Validate, as the pod would start:
// literal values as rendered, Secret references replaced by valid sample
// values, and the files the loader reads (credential, partner list) made in
// a temporary directory with the same content the chart mounts. The
// configuration must validate.
func TestChartConfigurationLoads(t *testing.T) {
	for _, files := range [][]string{nil, {"examples/production.yaml"}} {
		t.Run(fmt.Sprint(files), func(t *testing.T) {
			objs := mustRender(t, files)
			c := container(t, gateway(t, objs))
			dir := t.TempDir()
			samples := map[string]string{
				"tenant-id":      "contoso.onmicrosoft.com",
				"client-id":      "00000000-0000-0000-0000-000000000001",
				"page-token-key": base64.StdEncoding.EncodeToString(make([]byte, 32)),
				"redis-url":      "rediss://:password@redis.example.internal:6380/0",
			}
			env := map[string]string{}
			for _, e := range c.Env {
				switch {
				case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
					v, ok := samples[e.ValueFrom.SecretKeyRef.Key]
					if !ok {
						t.Fatalf("%s from Secret key %s: no sample value", e.Name, e.ValueFrom.SecretKeyRef.Key)
					}
					env[e.Name] = v
				case e.ValueFrom != nil:
					t.Fatalf("%s from %+v: not a Secret key", e.Name, e.ValueFrom)
				case strings.HasPrefix(e.Value, "/etc/defender-gateway/"):
					// A mounted file: made here, with the chart's content
					// where the chart holds it.
					path := filepath.Join(dir, strings.TrimPrefix(e.Value, "/etc/defender-gateway/"))
					if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
						t.Fatal(err)
					}
					if err := os.WriteFile(path, []byte(fileContent(t, objs, e.Name)), 0o600); err != nil {
						t.Fatal(err)
					}
					env[e.Name] = path
				default:
					env[e.Name] = e.Value
				}
			}
			cfg, err := config.Load(c.Args, func(k string) string { return env[k] })
			if err != nil {
				t.Fatalf("config.Load: %v", err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("Validate: %v", err)
			}
			if !cfg.Redis.Enabled() || len(cfg.PageTokenKey) == 0 {
				t.Errorf("the replicas would not share state: Redis %v, page-token key set %v", cfg.Redis.Enabled(), len(cfg.PageTokenKey) > 0)
			}
			if cfg.ReloadWatchInterval == 0 || len(cfg.ReloadableFiles()) == 0 {
				t.Errorf("reload on change is off (interval %s, files %v)", cfg.ReloadWatchInterval, cfg.ReloadableFiles())
			}
		})
	}
}

// fileContent is what a mounted file holds in the test: the chart's
// content for a ConfigMap it makes, else a sample the loader accepts.
func fileContent(t *testing.T, objs []object, env string) string {
	t.Helper()
	switch env {
	case "DEFENDER_PARTNER_TENANTS_FILE":
		if cm, ok := find[*corev1.ConfigMap](objs, "ConfigMap")[gatewayName+"-partner-tenants"]; ok {
			return cm.Data["partner-tenants.yaml"]
		}
		return "- tenant: fabrikam.onmicrosoft.com\n"
	case "DEFENDER_CLIENT_SECRET_FILE":
		return "client-secret-sample\n"
	default:
		// Read by Load only for presence (the certificate) or not at all
		// (policy, keys, TLS: read when the gateway is built).
		return "sample\n"
	}
}
