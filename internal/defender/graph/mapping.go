package graph

import (
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
)

// Graph wire types (reference §7.3, §7.4) and their mapping to the domain.

type graphIncident struct {
	ID                 upstream.WireString `json:"id"`
	TenantID           string              `json:"tenantId"`
	DisplayName        string              `json:"displayName"`
	Description        string              `json:"description"`
	Status             string              `json:"status"`
	Severity           string              `json:"severity"`
	Classification     string              `json:"classification"`
	Determination      string              `json:"determination"`
	AssignedTo         string              `json:"assignedTo"`
	CustomTags         []string            `json:"customTags"`
	SystemTags         []string            `json:"systemTags"`
	Comments           []graphComment      `json:"comments"`
	RedirectIncidentID upstream.WireString `json:"redirectIncidentId"`
	IncidentWebURL     string              `json:"incidentWebUrl"`
	LastModifiedBy     string              `json:"lastModifiedBy"`
	PriorityScore      upstream.WireInt32  `json:"priorityScore"`
	CreatedDateTime    upstream.WireTime   `json:"createdDateTime"`
	LastUpdateDateTime upstream.WireTime   `json:"lastUpdateDateTime"`
	Alerts             []graphAlert        `json:"alerts"`
}

type graphComment struct {
	Comment              string            `json:"comment"`
	CreatedByDisplayName string            `json:"createdByDisplayName"`
	CreatedDateTime      upstream.WireTime `json:"createdDateTime"`
}

type graphAlert struct {
	ID                    upstream.WireString `json:"id"`
	Title                 string              `json:"title"`
	Description           string              `json:"description"`
	Category              string              `json:"category"`
	ServiceSource         string              `json:"serviceSource"`
	DetectionSource       string              `json:"detectionSource"`
	Status                string              `json:"status"`
	Severity              string              `json:"severity"`
	Classification        string              `json:"classification"`
	Determination         string              `json:"determination"`
	AssignedTo            string              `json:"assignedTo"`
	ThreatFamilyName      string              `json:"threatFamilyName"`
	MitreTechniques       []string            `json:"mitreTechniques"`
	AlertWebURL           string              `json:"alertWebUrl"`
	CreatedDateTime       upstream.WireTime   `json:"createdDateTime"`
	LastUpdateDateTime    upstream.WireTime   `json:"lastUpdateDateTime"`
	ResolvedDateTime      upstream.WireTime   `json:"resolvedDateTime"`
	FirstActivityDateTime upstream.WireTime   `json:"firstActivityDateTime"`
	LastActivityDateTime  upstream.WireTime   `json:"lastActivityDateTime"`
	Evidence              []map[string]any    `json:"evidence"`
	IncidentID            upstream.WireString `json:"incidentId"`
	IncidentWebURL        string              `json:"incidentWebUrl"`
	DetectorID            string              `json:"detectorId"`
	ProviderAlertID       string              `json:"providerAlertId"`
	RecommendedActions    string              `json:"recommendedActions"`
	Comments              []graphComment      `json:"comments"`
	SystemTags            []string            `json:"systemTags"`
}

func (w *graphIncident) toDomain() defender.Incident {
	inc := defender.Incident{
		ID:                 string(w.ID),
		TenantID:           w.TenantID,
		DisplayName:        w.DisplayName,
		Description:        w.Description,
		Status:             upstream.ParseIncidentStatus(w.Status),
		StatusRaw:          w.Status,
		Severity:           upstream.ParseSeverity(w.Severity),
		SeverityRaw:        w.Severity,
		Classification:     upstream.ParseClassification(w.Classification),
		ClassificationRaw:  w.Classification,
		Determination:      upstream.ParseDetermination(w.Determination),
		DeterminationRaw:   w.Determination,
		AssignedTo:         w.AssignedTo,
		Tags:               w.CustomTags,
		SystemTags:         w.SystemTags,
		RedirectIncidentID: string(w.RedirectIncidentID),
		WebURL:             w.IncidentWebURL,
		LastModifiedBy:     w.LastModifiedBy,
		PriorityScore:      int32(w.PriorityScore),
		CreateTime:         w.CreatedDateTime.Time,
		UpdateTime:         w.LastUpdateDateTime.Time,
	}
	for _, c := range w.Comments {
		inc.Comments = append(inc.Comments, defender.Comment{Text: c.Comment, Author: c.CreatedByDisplayName, CreateTime: c.CreatedDateTime.Time})
	}
	for i := range w.Alerts {
		inc.Alerts = append(inc.Alerts, w.Alerts[i].toDomain())
	}
	return inc
}

func (w *graphAlert) toDomain() defender.Alert {
	a := defender.Alert{
		ID:                string(w.ID),
		Title:             w.Title,
		Description:       w.Description,
		Category:          w.Category,
		ServiceSource:     w.ServiceSource,
		DetectionSource:   w.DetectionSource,
		Status:            upstream.ParseAlertStatus(w.Status),
		StatusRaw:         w.Status,
		Severity:          upstream.ParseSeverity(w.Severity),
		SeverityRaw:       w.Severity,
		Classification:    upstream.ParseClassification(w.Classification),
		ClassificationRaw: w.Classification,
		Determination:     upstream.ParseDetermination(w.Determination),
		DeterminationRaw:  w.Determination,
		AssignedTo:        w.AssignedTo,
		ThreatFamilyName:  w.ThreatFamilyName,
		MitreTechniques:   w.MitreTechniques,
		WebURL:            w.AlertWebURL,
		CreateTime:        w.CreatedDateTime.Time,
		UpdateTime:        w.LastUpdateDateTime.Time,
		ResolveTime:       w.ResolvedDateTime.Time,
		FirstActivityTime: w.FirstActivityDateTime.Time,
		LastActivityTime:  w.LastActivityDateTime.Time,

		IncidentID:         string(w.IncidentID),
		IncidentWebURL:     w.IncidentWebURL,
		DetectorID:         w.DetectorID,
		ProviderAlertID:    w.ProviderAlertID,
		RecommendedActions: w.RecommendedActions,
		SystemTags:         w.SystemTags,
	}
	for _, c := range w.Comments {
		a.Comments = append(a.Comments, defender.Comment{Text: c.Comment, Author: c.CreatedByDisplayName, CreateTime: c.CreatedDateTime.Time})
	}
	for _, m := range w.Evidence {
		if m == nil {
			continue
		}
		if graphEvidenceTypeOf(m) == "device" {
			a.Devices = append(a.Devices, graphDevice(m))
		}
		a.Evidence = append(a.Evidence, graphEvidence(m))
	}
	return a
}
