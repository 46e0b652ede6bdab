package governor

import (
	"maps"
	"slices"

	"github.com/defender-gateway/gateway/internal/defender"
)

// The deep copies every caller of a shared or cached read gets, so that no
// two callers share a mutable slice or map.

func copyPage(p *defender.IncidentPage) *defender.IncidentPage {
	if p == nil {
		return nil
	}
	out := &defender.IncidentPage{NextCursor: p.NextCursor}
	if p.Incidents != nil {
		out.Incidents = make([]defender.Incident, len(p.Incidents))
		for i := range p.Incidents {
			out.Incidents[i] = *copyIncident(&p.Incidents[i])
		}
	}
	return out
}

func copyIncident(in *defender.Incident) *defender.Incident {
	if in == nil {
		return nil
	}
	out := *in
	out.Tags = slices.Clone(in.Tags)
	out.SystemTags = slices.Clone(in.SystemTags)
	out.Comments = slices.Clone(in.Comments)
	if in.Alerts != nil {
		out.Alerts = make([]defender.Alert, len(in.Alerts))
		for i, a := range in.Alerts {
			out.Alerts[i] = copyAlert(a)
		}
	}
	return &out
}

func copyAlert(a defender.Alert) defender.Alert {
	a.MitreTechniques = slices.Clone(a.MitreTechniques)
	a.Comments = slices.Clone(a.Comments)
	a.SystemTags = slices.Clone(a.SystemTags)
	a.Devices = slices.Clone(a.Devices)
	if a.Evidence != nil {
		ev := make([]defender.Evidence, len(a.Evidence))
		for i, e := range a.Evidence {
			e.Details = copyMap(e.Details)
			ev[i] = e
		}
		a.Evidence = ev
	}
	return a
}

func copyHunting(r *defender.HuntingResult) *defender.HuntingResult {
	if r == nil {
		return nil
	}
	out := &defender.HuntingResult{Columns: slices.Clone(r.Columns), Stats: copyMap(r.Stats)}
	if r.Rows != nil {
		out.Rows = make([]map[string]any, len(r.Rows))
		for i, row := range r.Rows {
			out.Rows[i] = copyMap(row)
		}
	}
	return out
}

// copyMap copies decoded JSON: maps, slices and scalars.
func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := maps.Clone(m)
	for k, v := range out {
		out[k] = copyValue(v)
	}
	return out
}

func copyValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return copyMap(v)
	case []any:
		if v == nil {
			return v
		}
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = copyValue(e)
		}
		return out
	case []map[string]any:
		if v == nil {
			return v
		}
		out := make([]map[string]any, len(v))
		for i, e := range v {
			out[i] = copyMap(e)
		}
		return out
	case []string:
		return slices.Clone(v)
	}
	return v
}
