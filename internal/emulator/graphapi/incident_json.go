package graphapi

import (
	"strconv"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// incidentJSON is microsoft.graph.security.incident (reference §7.3).
type incidentJSON struct {
	ID                 string        `json:"id"`
	TenantID           string        `json:"tenantId"`
	Status             string        `json:"status"`
	IncidentWebURL     string        `json:"incidentWebUrl"`
	RedirectIncidentID *string       `json:"redirectIncidentId"`
	DisplayName        string        `json:"displayName"`
	Description        string        `json:"description"`
	CreatedDateTime    string        `json:"createdDateTime"`
	LastUpdateDateTime string        `json:"lastUpdateDateTime"`
	AssignedTo         *string       `json:"assignedTo"`
	Classification     string        `json:"classification"`
	Determination      string        `json:"determination"`
	Severity           string        `json:"severity"`
	CustomTags         []string      `json:"customTags"`
	SystemTags         []string      `json:"systemTags"`
	Comments           []commentJSON `json:"comments"`
	LastModifiedBy     *string       `json:"lastModifiedBy"`
	PriorityScore      int           `json:"priorityScore"`
	Alerts             []alertJSON   `json:"alerts,omitempty"`
}

// commentJSON is microsoft.graph.security.alertComment.
type commentJSON struct {
	Comment              string `json:"comment"`
	CreatedByDisplayName string `json:"createdByDisplayName"`
	CreatedDateTime      string `json:"createdDateTime"`
}

// alertJSON is microsoft.graph.security.alert (reference §7.4).
type alertJSON struct {
	ID                    string           `json:"id"`
	ProviderAlertID       string           `json:"providerAlertId"`
	IncidentID            string           `json:"incidentId"`
	Status                string           `json:"status"`
	Severity              string           `json:"severity"`
	Classification        string           `json:"classification"`
	Determination         string           `json:"determination"`
	ServiceSource         string           `json:"serviceSource"`
	DetectionSource       string           `json:"detectionSource"`
	DetectorID            string           `json:"detectorId"`
	TenantID              string           `json:"tenantId"`
	Title                 string           `json:"title"`
	Description           string           `json:"description"`
	RecommendedActions    string           `json:"recommendedActions"`
	Category              string           `json:"category"`
	AssignedTo            *string          `json:"assignedTo"`
	AlertWebURL           string           `json:"alertWebUrl"`
	IncidentWebURL        string           `json:"incidentWebUrl"`
	ActorDisplayName      *string          `json:"actorDisplayName"`
	ThreatFamilyName      *string          `json:"threatFamilyName"`
	MitreTechniques       []string         `json:"mitreTechniques"`
	CreatedDateTime       string           `json:"createdDateTime"`
	LastUpdateDateTime    string           `json:"lastUpdateDateTime"`
	ResolvedDateTime      *string          `json:"resolvedDateTime"`
	FirstActivityDateTime string           `json:"firstActivityDateTime"`
	LastActivityDateTime  string           `json:"lastActivityDateTime"`
	Comments              []commentJSON    `json:"comments"`
	Evidence              []map[string]any `json:"evidence"`
	SystemTags            []string         `json:"systemTags"`
}

// renderOptions are per-request choices of the incident rendering.
type renderOptions struct {
	expandAlerts   bool
	includeUnknown bool // Prefer: include-unknown-enum-members
}

func toIncidentJSON(inc store.Incident, opt renderOptions) incidentJSON {
	out := incidentJSON{
		ID:                 strconv.FormatInt(inc.ID, 10),
		TenantID:           inc.TenantID,
		Status:             statusOut(inc.Status, opt.includeUnknown),
		IncidentWebURL:     inc.WebURL,
		DisplayName:        inc.DisplayName,
		Description:        inc.Description,
		CreatedDateTime:    formatTime(inc.CreatedTime),
		LastUpdateDateTime: formatTime(inc.LastUpdateTime),
		AssignedTo:         optional(inc.AssignedTo),
		Classification:     string(inc.Classification),
		Determination:      string(inc.Determination),
		Severity:           string(inc.Severity),
		CustomTags:         nonNil(inc.CustomTags),
		SystemTags:         nonNil(inc.SystemTags),
		Comments:           toComments(inc.Comments),
		LastModifiedBy:     optional(inc.LastModifiedBy),
		PriorityScore:      inc.PriorityScore,
	}
	if inc.RedirectIncidentID != 0 {
		id := strconv.FormatInt(inc.RedirectIncidentID, 10)
		out.RedirectIncidentID = &id
	}
	if opt.expandAlerts {
		out.Alerts = make([]alertJSON, len(inc.Alerts))
		for i, a := range inc.Alerts {
			out.Alerts[i] = toAlertJSON(a, inc)
		}
	}
	return out
}

func toComments(comments []store.Comment) []commentJSON {
	out := make([]commentJSON, len(comments))
	for i, c := range comments {
		out[i] = commentJSON{Comment: c.Text, CreatedByDisplayName: c.Author, CreatedDateTime: formatTime(c.CreatedTime)}
	}
	return out
}

func toAlertJSON(a store.Alert, inc store.Incident) alertJSON {
	out := alertJSON{
		ID:                    a.ID,
		ProviderAlertID:       a.ProviderAlertID,
		IncidentID:            strconv.FormatInt(a.IncidentID, 10),
		Status:                string(a.Status),
		Severity:              string(a.Severity),
		Classification:        string(a.Classification),
		Determination:         string(a.Determination),
		ServiceSource:         string(a.ServiceSource),
		DetectionSource:       string(a.DetectionSource),
		DetectorID:            a.DetectorID,
		TenantID:              inc.TenantID,
		Title:                 a.Title,
		Description:           a.Description,
		RecommendedActions:    a.RecommendedActions,
		Category:              a.Category,
		AssignedTo:            optional(a.AssignedTo),
		AlertWebURL:           a.WebURL,
		IncidentWebURL:        inc.WebURL,
		ActorDisplayName:      optional(a.ActorName),
		ThreatFamilyName:      optional(a.ThreatFamilyName),
		MitreTechniques:       nonNil(a.MitreTechniques),
		CreatedDateTime:       formatTime(a.CreatedTime),
		LastUpdateDateTime:    formatTime(a.LastUpdateTime),
		FirstActivityDateTime: formatTime(a.FirstActivity),
		LastActivityDateTime:  formatTime(a.LastActivity),
		Comments:              toComments(a.Comments),
		Evidence:              make([]map[string]any, len(a.Evidence)),
		SystemTags:            nonNil(a.SystemTags),
	}
	if !a.ResolvedTime.IsZero() {
		t := formatTime(a.ResolvedTime)
		out.ResolvedDateTime = &t
	}
	for i, e := range a.Evidence {
		out.Evidence[i] = toEvidenceJSON(e)
	}
	return out
}

// formatTime renders a UTC time with as many fractional digits as it has
// (0–7), as Graph does.
func formatTime(t time.Time) string {
	return t.UTC().Format(time.RFC3339Nano)
}

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
