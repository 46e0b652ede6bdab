package quota

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Window is one documented limit: Count calls per Per.
type Window struct {
	Count int           `yaml:"count"`
	Per   time.Duration `yaml:"per"`
}

// String is e.g. 50/1m0s.
func (w Window) String() string { return fmt.Sprintf("%d/%s", w.Count, w.Per) }

// Budget is one backend's windows for a tenant: each family's, and the
// whole API's, which every family shares.
type Budget struct {
	Families map[Family][]Window
	WholeAPI []Window
}

// Budgets is every backend's default Budget and the per-tenant overrides.
// A tenant's override replaces the windows of the families (or the whole
// API) it names and keeps the backend default for the others.
type Budgets struct {
	// Backends is keyed by backend ("graph", "xdr").
	Backends map[string]Budget
	// Tenants is keyed by tenant (lower case), then backend.
	Tenants map[string]map[string]Budget
}

// The backends.
const (
	BackendGraph = "graph"
	BackendXDR   = "xdr"
)

// DefaultBudgets are the documented limits (docs/operations.md "Quota
// budgets"). The XDR ones are Microsoft's published per-tenant limits;
// the Graph incident families are not published and take XDR's (the
// conservative choice), and so do the Graph alert families (alerts_v2
// limits are not published either, §7.6); every hunting family also counts
// against the whole API.
func DefaultBudgets() Budgets {
	perMinHour := func(n int) []Window { return []Window{{n, time.Minute}, {1500, time.Hour}} }
	return Budgets{Backends: map[string]Budget{
		BackendXDR: {
			Families: map[Family][]Window{
				FamilyIncidentRead:  perMinHour(50),
				FamilyIncidentGet:   perMinHour(100),
				FamilyIncidentWrite: perMinHour(50),
				FamilyHunting:       perMinHour(45),
				// No alert families: XDR has no alerts endpoint.
			},
			WholeAPI: perMinHour(50),
		},
		BackendGraph: {
			Families: map[Family][]Window{
				FamilyIncidentRead:  perMinHour(50),
				FamilyIncidentGet:   perMinHour(50),
				FamilyIncidentWrite: perMinHour(50),
				FamilyHunting:       {{45, time.Minute}},
				// alerts_v2 limits are not published (§7.6): the
				// incidents' conservative 50/min and 1,500/h.
				FamilyAlertRead:  perMinHour(50),
				FamilyAlertGet:   perMinHour(50),
				FamilyAlertWrite: perMinHour(50),
			},
			WholeAPI: []Window{{150, time.Minute}},
		},
	}}
}

// For is the Budget of tenant and backend: the backend's, with the
// tenant's overrides.
func (b Budgets) For(tenant, backend string) Budget {
	base := b.Backends[backend]
	over, ok := b.Tenants[strings.ToLower(tenant)][backend]
	if !ok {
		return base
	}
	return base.With(over)
}

// With is b with the windows over names replacing b's: each family over
// has, and the whole API when over has any.
func (b Budget) With(over Budget) Budget {
	out := Budget{Families: map[Family][]Window{}, WholeAPI: b.WholeAPI}
	for f, w := range b.Families {
		out.Families[f] = w
	}
	for f, w := range over.Families {
		out.Families[f] = w
	}
	if over.WholeAPI != nil {
		out.WholeAPI = over.WholeAPI
	}
	return out
}

// Validate checks every window: a positive count and period, and a known
// family and backend. The errors name where the window is.
func (b Budgets) Validate() error {
	var errs []string
	check := func(where string, bu Budget) {
		for f, ws := range bu.Families {
			if !knownFamily(f) {
				errs = append(errs, fmt.Sprintf("%s: %q is not a family; use incident-read, incident-get, incident-write, hunting, alert-read, alert-get or alert-write", where, f))
			}
			checkWindows(&errs, where+".families."+string(f), ws)
		}
		checkWindows(&errs, where+".whole_api", bu.WholeAPI)
	}
	for be, bu := range b.Backends {
		if be != BackendGraph && be != BackendXDR {
			errs = append(errs, fmt.Sprintf("backends: %q is not a backend; use graph or xdr", be))
		}
		check("backends."+be, bu)
	}
	for t, m := range b.Tenants {
		for be, bu := range m {
			if be != BackendGraph && be != BackendXDR {
				errs = append(errs, fmt.Sprintf("tenants.%s: %q is not a backend; use graph or xdr", t, be))
			}
			check("tenants."+t+"."+be, bu)
		}
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

func checkWindows(errs *[]string, where string, ws []Window) {
	for i, w := range ws {
		if w.Count < 1 {
			*errs = append(*errs, fmt.Sprintf("%s[%d].count: must be at least 1, not %d", where, i, w.Count))
		}
		if w.Per < time.Second {
			*errs = append(*errs, fmt.Sprintf("%s[%d].per: must be at least 1s, not %s", where, i, w.Per))
		}
	}
}

func knownFamily(f Family) bool {
	for _, k := range Families {
		if k == f {
			return true
		}
	}
	return false
}
