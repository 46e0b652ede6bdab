package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/quota"
)

func loadQuota(t *testing.T, file string, env map[string]string) (*Config, error) {
	t.Helper()
	env["DEFENDER_SANDBOX"] = "true"
	if file != "" {
		path := filepath.Join(t.TempDir(), "quota.yaml")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		env["DEFENDER_QUOTA_FILE"] = path
	}
	c, err := Load(nil, func(k string) string { return env[k] })
	if err != nil {
		return nil, err
	}
	return c, c.Validate()
}

func TestQuotaSettings(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
		check   func(t *testing.T, q Quota)
	}{
		{name: "defaults", env: map[string]string{}, check: func(t *testing.T, q Quota) {
			if !q.Enabled || q.InteractiveShare != 0.2 || q.MaxWait != 30*time.Second || q.MaxQueued != 1000 || q.DefaultHold != time.Minute {
				t.Errorf("defaults: %+v", q)
			}
			if got := q.Budgets.For("t", "xdr").Families[quota.FamilyIncidentGet]; len(got) != 2 || got[0].Count != 100 {
				t.Errorf("xdr incident-get: %v", got)
			}
		}},
		{name: "set", env: map[string]string{"DEFENDER_QUOTA_ENABLED": "false", "DEFENDER_QUOTA_INTERACTIVE_SHARE": "0.5",
			"DEFENDER_QUOTA_MAX_WAIT": "5s", "DEFENDER_QUOTA_MAX_QUEUED": "10", "DEFENDER_QUOTA_DEFAULT_HOLD": "2m"},
			check: func(t *testing.T, q Quota) {
				if q.Enabled || q.InteractiveShare != 0.5 || q.MaxWait != 5*time.Second || q.MaxQueued != 10 || q.DefaultHold != 2*time.Minute {
					t.Errorf("set: %+v", q)
				}
			}},
		{name: "share too large", env: map[string]string{"DEFENDER_QUOTA_INTERACTIVE_SHARE": "1"}, wantErr: "DEFENDER_QUOTA_INTERACTIVE_SHARE"},
		{name: "share not a number", env: map[string]string{"DEFENDER_QUOTA_INTERACTIVE_SHARE": "a lot"}, wantErr: "DEFENDER_QUOTA_INTERACTIVE_SHARE"},
		{name: "max wait zero", env: map[string]string{"DEFENDER_QUOTA_MAX_WAIT": "0s"}, wantErr: "DEFENDER_QUOTA_MAX_WAIT"},
		{name: "max queued zero", env: map[string]string{"DEFENDER_QUOTA_MAX_QUEUED": "0"}, wantErr: "DEFENDER_QUOTA_MAX_QUEUED"},
		{name: "default hold negative", env: map[string]string{"DEFENDER_QUOTA_DEFAULT_HOLD": "-1s"}, wantErr: "DEFENDER_QUOTA_DEFAULT_HOLD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadQuota(t, "", tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error %v, want one naming %s", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c.Quota)
		})
	}
}

func TestQuotaFile(t *testing.T) {
	const tenant = "11111111-2222-3333-4444-555555555555"
	tests := []struct {
		name    string
		file    string
		wantErr []string
		check   func(t *testing.T, b quota.Budgets)
	}{
		{name: "empty file keeps the defaults", file: "\n", check: func(t *testing.T, b quota.Budgets) {
			if got := b.For(tenant, "graph").WholeAPI; len(got) != 1 || got[0] != (quota.Window{Count: 150, Per: time.Minute}) {
				t.Errorf("graph whole API: %v", got)
			}
		}},
		{name: "the alert families, defaults and overrides", file: `
backends:
  graph:
    alert-get: [{count: 80, per: 1m}]
`, check: func(t *testing.T, b quota.Budgets) {
			g := b.For(tenant, "graph")
			if got := g.Families[quota.FamilyAlertGet]; len(got) != 1 || got[0].Count != 80 {
				t.Errorf("graph alert-get: %v", got)
			}
			for _, f := range []quota.Family{quota.FamilyAlertRead, quota.FamilyAlertWrite} {
				if got := g.Families[f]; len(got) != 2 || got[0] != (quota.Window{Count: 50, Per: time.Minute}) || got[1] != (quota.Window{Count: 1500, Per: time.Hour}) {
					t.Errorf("graph %s default: %v, want 50/min and 1,500/h", f, got)
				}
			}
			if _, ok := b.For(tenant, "xdr").Families[quota.FamilyAlertRead]; ok {
				t.Error("xdr has alert windows, but no alerts endpoint")
			}
		}},
		{name: "backend default and tenant override", file: `
backends:
  xdr:
    hunting: [{count: 30, per: 1m}]
tenants:
  ` + strings.ToUpper(tenant) + `:
    xdr:
      incident-get: [{count: 10, per: 1m}, {count: 100, per: 1h}]
      whole-api: [{count: 20, per: 1m}]
`, check: func(t *testing.T, b quota.Budgets) {
			other := b.For("other", "xdr")
			if got := other.Families[quota.FamilyHunting]; len(got) != 1 || got[0].Count != 30 {
				t.Errorf("xdr hunting default: %v", got)
			}
			if got := other.Families[quota.FamilyIncidentGet]; len(got) != 2 || got[0].Count != 100 {
				t.Errorf("xdr incident-get of another tenant: %v", got)
			}
			mine := b.For(tenant, "xdr")
			if got := mine.Families[quota.FamilyIncidentGet]; len(got) != 2 || got[0].Count != 10 || got[1] != (quota.Window{Count: 100, Per: time.Hour}) {
				t.Errorf("tenant incident-get: %v", got)
			}
			if got := mine.Families[quota.FamilyHunting]; len(got) != 1 || got[0].Count != 30 {
				t.Errorf("tenant hunting (backend default): %v", got)
			}
			if got := mine.WholeAPI; len(got) != 1 || got[0].Count != 20 {
				t.Errorf("tenant whole API: %v", got)
			}
		}},
		{name: "unknown key", file: "backend: {}\n", wantErr: []string{"DEFENDER_QUOTA_FILE", "backend"}},
		{name: "unknown window key", file: "backends: {xdr: {hunting: [{count: 1, per: 1m, burst: 2}]}}\n", wantErr: []string{"burst"}},
		{name: "unknown family", file: "backends: {xdr: {alerts: [{count: 1, per: 1m}]}}\n", wantErr: []string{"backends.xdr", `"alerts" is not a family`}},
		{name: "unknown backend", file: "backends: {mde: {hunting: [{count: 1, per: 1m}]}}\n", wantErr: []string{`"mde" is not a backend`}},
		{name: "bad count", file: "backends: {xdr: {hunting: [{count: 0, per: 1m}]}}\n", wantErr: []string{"backends.xdr.hunting[0].count"}},
		{name: "bad per", file: "tenants: {" + tenant + ": {graph: {incident-read: [{count: 5, per: soon}]}}}\n",
			wantErr: []string{"tenants." + tenant + ".graph.incident-read[0].per", "soon"}},
		{name: "short per", file: "backends: {xdr: {hunting: [{count: 5, per: 10ms}]}}\n", wantErr: []string{"hunting[0].per", "at least 1s"}},
		{name: "no windows", file: "backends: {xdr: {hunting: []}}\n", wantErr: []string{"backends.xdr.hunting: needs at least one window"}},
		{name: "bad tenant", file: "tenants: {'bad tenant!': {xdr: {hunting: [{count: 1, per: 1m}]}}}\n", wantErr: []string{"not a tenant GUID"}},
		{name: "two documents", file: "backends: {}\n---\nbackends: {}\n", wantErr: []string{"single YAML document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadQuota(t, tt.file, map[string]string{})
			if len(tt.wantErr) > 0 {
				if err == nil {
					t.Fatalf("no error, want one naming %v", tt.wantErr)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not name %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c.Quota.Budgets)
		})
	}
}

func TestQuotaFileMissing(t *testing.T) {
	_, err := loadQuota(t, "", map[string]string{"DEFENDER_QUOTA_FILE": filepath.Join(t.TempDir(), "none.yaml")})
	if err == nil || !strings.Contains(err.Error(), "DEFENDER_QUOTA_FILE") {
		t.Errorf("error %v, want one naming DEFENDER_QUOTA_FILE", err)
	}
}
