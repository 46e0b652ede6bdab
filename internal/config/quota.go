package config

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/defender-gateway/gateway/internal/quota"
	"github.com/defender-gateway/gateway/internal/yamlstrict"
)

// Quota is the client-side budgets per tenant and API family and their fair, deadline-aware scheduler (internal/quota).
type Quota struct {
	// Enabled runs the scheduler; false sends every call at once.
	Enabled bool
	// File is the YAML budgets file (DEFENDER_QUOTA_FILE); Budgets are
	// the defaults with its overrides, after Load.
	File    string
	Budgets quota.Budgets
	// InteractiveShare is the part of the whole API's burst bulk calls
	// leave to interactive ones.
	InteractiveShare float64
	// MaxWait caps how long a call queues, whatever its deadline.
	MaxWait time.Duration
	// MaxQueued caps the calls queued per tenant and backend.
	MaxQueued int
	// DefaultHold is the hold of an upstream 429 that names no wait.
	DefaultHold time.Duration
}

// Defaults of the quota settings.
const (
	DefaultQuotaInteractiveShare = 0.2
	DefaultQuotaMaxWait          = 30 * time.Second
	DefaultQuotaMaxQueued        = 1000
	DefaultQuotaDefaultHold      = 60 * time.Second
)

func defaultQuota() Quota {
	return Quota{Enabled: true, Budgets: quota.DefaultBudgets(), InteractiveShare: DefaultQuotaInteractiveShare,
		MaxWait: DefaultQuotaMaxWait, MaxQueued: DefaultQuotaMaxQueued, DefaultHold: DefaultQuotaDefaultHold}
}

// quotaSettings are the quota entries of the settings table.
var quotaSettings = []setting{
	{env: "DEFENDER_QUOTA_ENABLED", flag: "quota-enabled", def: "true", usage: "Schedule upstream calls within the client-side budgets (docs/operations.md). false: no scheduler, every call goes at once.",
		set: func(c *Config, v string) error { return setBool(&c.Quota.Enabled, v) }},
	{env: "DEFENDER_QUOTA_FILE", flag: "quota-file", usage: "YAML file overriding the budgets per backend and per tenant, family and whole API (docs/operations.md#quota-budgets). Read and checked at start.",
		set: func(c *Config, v string) error { c.Quota.File = strings.TrimSpace(v); return nil }},
	{env: "DEFENDER_QUOTA_INTERACTIVE_SHARE", flag: "quota-interactive-share", def: "0.2", usage: "Part of the whole-API window's burst that bulk calls (listings, hunting) may not take, kept for single gets and updates; 0 to 0.9.",
		set: func(c *Config, v string) error {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				return errors.New("must be a number such as 0.2")
			}
			c.Quota.InteractiveShare = f
			return nil
		}},
	{env: "DEFENDER_QUOTA_MAX_WAIT", flag: "quota-max-wait", def: "30s", usage: "Longest a call queues for quota, even with a longer deadline; a call that would wait longer fails at once with RESOURCE_EXHAUSTED and a retry delay.",
		set: func(c *Config, v string) error { return setDuration(&c.Quota.MaxWait, v) }},
	{env: "DEFENDER_QUOTA_MAX_QUEUED", flag: "quota-max-queued", def: "1000", usage: "Calls that may queue per tenant and backend; one more fails at once with RESOURCE_EXHAUSTED.",
		set: func(c *Config, v string) error {
			n, err := strconv.Atoi(strings.TrimSpace(v))
			if err != nil {
				return errors.New("must be a whole number")
			}
			c.Quota.MaxQueued = n
			return nil
		}},
	{env: "DEFENDER_QUOTA_DEFAULT_HOLD", flag: "quota-default-hold", def: "60s", usage: "How long an upstream 429 without Retry-After (or a window in its body) holds the family or tenant; a hunting CPU-quota error without one holds until the next 15-minute cycle.",
		set: func(c *Config, v string) error { return setDuration(&c.Quota.DefaultHold, v) }},
}

// validateQuota checks the quota settings; Load has read the file.
func (c *Config) validateQuota() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	q := c.Quota
	if q.InteractiveShare < 0 || q.InteractiveShare > 0.9 {
		add("DEFENDER_QUOTA_INTERACTIVE_SHARE: must be between 0 and 0.9, not %v", q.InteractiveShare)
	}
	if q.MaxWait <= 0 {
		add("DEFENDER_QUOTA_MAX_WAIT: must be positive, not %s", q.MaxWait)
	}
	if q.MaxQueued < 1 {
		add("DEFENDER_QUOTA_MAX_QUEUED: must be at least 1, not %d", q.MaxQueued)
	}
	if q.DefaultHold <= 0 {
		add("DEFENDER_QUOTA_DEFAULT_HOLD: must be positive, not %s", q.DefaultHold)
	}
	if err := q.Budgets.Validate(); err != nil {
		add("DEFENDER_QUOTA_FILE: %w", err)
	}
	return errs
}

// quotaFile is DEFENDER_QUOTA_FILE: per backend, windows by family
// (incident-read, incident-get, incident-write, hunting, alert-read,
// alert-get, alert-write, whole-api); per
// tenant, the same per backend.
type quotaFile struct {
	Backends map[string]map[string][]quotaWindow            `yaml:"backends"`
	Tenants  map[string]map[string]map[string][]quotaWindow `yaml:"tenants"`
}

type quotaWindow struct {
	Count int    `yaml:"count"`
	Per   string `yaml:"per"`
}

// parseQuotaFile applies the YAML overrides to base. Unknown keys,
// families and backends and bad windows are errors naming the field.
func parseQuotaFile(data []byte, base quota.Budgets) (quota.Budgets, error) {
	var f quotaFile
	if err := yamlstrict.Decode(data, &f); err != nil {
		if errors.Is(err, yamlstrict.ErrEmpty) {
			return base, nil
		}
		return base, err
	}
	var errs []string
	budget := func(where string, m map[string][]quotaWindow) quota.Budget {
		var b quota.Budget
		for _, name := range slices.Sorted(maps.Keys(m)) {
			fw := where + "." + name
			ws, err := parseWindows(fw, m[name])
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			if len(ws) == 0 {
				errs = append(errs, fw+": needs at least one window")
				continue
			}
			switch fam := quota.Family(name); {
			case fam == quota.FamilyWholeAPI:
				b.WholeAPI = ws
			case slices.Contains(quota.Families, fam):
				if b.Families == nil {
					b.Families = map[quota.Family][]quota.Window{}
				}
				b.Families[fam] = ws
			default:
				errs = append(errs, fmt.Sprintf("%s: %q is not a family; use incident-read, incident-get, incident-write, hunting, alert-read, alert-get, alert-write or whole-api", where, name))
			}
		}
		return b
	}
	checkBackend := func(where, be string) bool {
		if be != quota.BackendGraph && be != quota.BackendXDR {
			errs = append(errs, fmt.Sprintf("%s: %q is not a backend; use graph or xdr", where, be))
			return false
		}
		return true
	}
	out := quota.Budgets{Backends: map[string]quota.Budget{}, Tenants: map[string]map[string]quota.Budget{}}
	for be, b := range base.Backends {
		out.Backends[be] = b
	}
	for _, be := range slices.Sorted(maps.Keys(f.Backends)) {
		if !checkBackend("backends", be) {
			continue
		}
		over := budget("backends."+be, f.Backends[be])
		out.Backends[be] = out.Backends[be].With(over)
	}
	for _, t := range slices.Sorted(maps.Keys(f.Tenants)) {
		where := "tenants." + t
		if !tenantPattern.MatchString(t) {
			errs = append(errs, fmt.Sprintf("tenants: %q is not a tenant GUID or domain", t))
			continue
		}
		for _, be := range slices.Sorted(maps.Keys(f.Tenants[t])) {
			if !checkBackend(where, be) {
				continue
			}
			key := strings.ToLower(t)
			if out.Tenants[key] == nil {
				out.Tenants[key] = map[string]quota.Budget{}
			}
			out.Tenants[key][be] = budget(where+"."+be, f.Tenants[t][be])
		}
	}
	if len(errs) > 0 {
		return base, errors.New(strings.Join(errs, "; "))
	}
	return out, nil
}

func parseWindows(where string, in []quotaWindow) ([]quota.Window, error) {
	out := make([]quota.Window, 0, len(in))
	for i, w := range in {
		per, err := time.ParseDuration(strings.TrimSpace(w.Per))
		if err != nil {
			return nil, fmt.Errorf("%s[%d].per: %q is not a Go duration such as 1m or 1h", where, i, w.Per)
		}
		if w.Count < 1 {
			return nil, fmt.Errorf("%s[%d].count: must be at least 1, not %d", where, i, w.Count)
		}
		if per < time.Second {
			return nil, fmt.Errorf("%s[%d].per: must be at least 1s, not %s", where, i, per)
		}
		out = append(out, quota.Window{Count: w.Count, Per: per})
	}
	return out, nil
}

// loadQuotaFile reads DEFENDER_QUOTA_FILE, if set, into c.Quota.Budgets.
func (c *Config) loadQuotaFile() error {
	if c.Quota.File == "" {
		return nil
	}
	data, err := readSettingFile("DEFENDER_QUOTA_FILE", c.Quota.File)
	if err != nil {
		return err
	}
	b, err := parseQuotaFile(data, c.Quota.Budgets)
	if err != nil {
		return fmt.Errorf("DEFENDER_QUOTA_FILE: %s: %w", c.Quota.File, err)
	}
	c.Quota.Budgets = b
	return nil
}
