package xdr

import (
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
)

// XDR wire types (reference §4.3, §4.4) and their mapping to the domain.

type xdrIncident struct {
	IncidentID         upstream.WireString `json:"incidentId"`
	RedirectIncidentID upstream.WireString `json:"redirectIncidentId"` // number or null
	IncidentName       string              `json:"incidentName"`
	CreatedTime        upstream.WireTime   `json:"createdTime"`
	LastUpdateTime     upstream.WireTime   `json:"lastUpdateTime"`
	AssignedTo         string              `json:"assignedTo"`
	Severity           string              `json:"severity"`
	Status             string              `json:"status"`
	Classification     string              `json:"classification"`
	Determination      string              `json:"determination"`
	DetectionSource    string              `json:"detectionSource"`
	Tags               []string            `json:"tags"`
	Comments           []xdrComment        `json:"comments"`
	// Alerts is nil when the key is absent or null, empty for [].
	Alerts []xdrAlert `json:"alerts"`
}

type xdrComment struct {
	Comment     string            `json:"comment"`
	CreatedBy   string            `json:"createdBy"`
	CreatedTime upstream.WireTime `json:"createdTime"`
	CreateTime  upstream.WireTime `json:"createTime"` // the X2 table's spelling
}

type xdrAlert struct {
	AlertID          upstream.WireString `json:"alertId"`
	IncidentID       upstream.WireString `json:"incidentId"`
	ServiceSource    string              `json:"serviceSource"`
	CreationTime     upstream.WireTime   `json:"creationTime"`
	LastUpdatedTime  upstream.WireTime   `json:"lastUpdatedTime"`
	ResolvedTime     upstream.WireTime   `json:"resolvedTime"`
	FirstActivity    upstream.WireTime   `json:"firstActivity"`
	LastActivity     upstream.WireTime   `json:"lastActivity"`
	Title            string              `json:"title"`
	Description      string              `json:"description"`
	Category         string              `json:"category"`
	Status           string              `json:"status"`
	Severity         string              `json:"severity"`
	Classification   string              `json:"classification"`
	Determination    string              `json:"determination"`
	DetectionSource  string              `json:"detectionSource"`
	AssignedTo       string              `json:"assignedTo"`
	ThreatFamilyName string              `json:"threatFamilyName"`
	MitreTechniques  []string            `json:"mitreTechniques"`
	Devices          []xdrDevice         `json:"devices"`
	Entities         []map[string]any    `json:"entities"`
}

type xdrDevice struct {
	MdatpDeviceID upstream.WireString `json:"mdatpDeviceId"`
	DeviceID      upstream.WireString `json:"deviceId"` // the X1 table's spelling ("DeviceId")
	AADDeviceID   upstream.WireString `json:"aadDeviceId"`
	DeviceDNSName string              `json:"deviceDnsName"`
	OSPlatform    string              `json:"osPlatform"`
	OSBuild       upstream.WireString `json:"osBuild"`
	HealthStatus  string              `json:"healthStatus"`
	RiskScore     upstream.WireString `json:"riskScore"`
	RBACGroupName string              `json:"rbacGroupName"`
	FirstSeen     upstream.WireTime   `json:"firstSeen"`
}

func (w *xdrIncident) toDomain() defender.Incident {
	inc := defender.Incident{
		ID:                 string(w.IncidentID),
		DisplayName:        w.IncidentName,
		Status:             upstream.ParseIncidentStatus(w.Status),
		StatusRaw:          w.Status,
		Severity:           upstream.ParseSeverity(w.Severity),
		SeverityRaw:        w.Severity,
		Classification:     upstream.ParseClassification(w.Classification),
		ClassificationRaw:  w.Classification,
		Determination:      upstream.ParseDetermination(w.Determination),
		DeterminationRaw:   w.Determination,
		AssignedTo:         w.AssignedTo,
		Tags:               w.Tags,
		RedirectIncidentID: string(w.RedirectIncidentID),
		DetectionSource:    w.DetectionSource,
		CreateTime:         w.CreatedTime.Time,
		UpdateTime:         w.LastUpdateTime.Time,
	}
	for _, c := range w.Comments {
		created := c.CreatedTime.Time
		if created.IsZero() {
			created = c.CreateTime.Time
		}
		inc.Comments = append(inc.Comments, defender.Comment{Text: c.Comment, Author: c.CreatedBy, CreateTime: created})
	}
	for i := range w.Alerts {
		inc.Alerts = append(inc.Alerts, w.Alerts[i].toDomain())
	}
	return inc
}

func (w *xdrAlert) toDomain() defender.Alert {
	a := defender.Alert{
		ID:                string(w.AlertID),
		IncidentID:        string(w.IncidentID),
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
		CreateTime:        w.CreationTime.Time,
		UpdateTime:        w.LastUpdatedTime.Time,
		ResolveTime:       w.ResolvedTime.Time,
		FirstActivityTime: w.FirstActivity.Time,
		LastActivityTime:  w.LastActivity.Time,
	}
	for _, d := range w.Devices {
		a.Devices = append(a.Devices, d.toDomain())
	}
	for _, m := range w.Entities {
		if m != nil {
			a.Evidence = append(a.Evidence, xdrEntity(m))
		}
	}
	return a
}

func (d xdrDevice) toDomain() defender.Device {
	return defender.Device{
		ID:            upstream.FirstNonEmpty(string(d.MdatpDeviceID), string(d.DeviceID)),
		AADDeviceID:   string(d.AADDeviceID),
		DNSName:       d.DeviceDNSName,
		OSPlatform:    d.OSPlatform,
		OSBuild:       string(d.OSBuild),
		HealthStatus:  d.HealthStatus,
		RiskScore:     string(d.RiskScore),
		RBACGroupName: d.RBACGroupName,
		FirstSeenTime: d.FirstSeen.Time,
	}
}
