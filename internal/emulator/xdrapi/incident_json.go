package xdrapi

import (
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// incidentJSON is an XDR incident (reference §4.3).
type incidentJSON struct {
	IncidentID         int64         `json:"incidentId"`
	IncidentURI        string        `json:"incidentUri"`
	RedirectIncidentID *int64        `json:"redirectIncidentId"`
	IncidentName       string        `json:"incidentName"`
	CreatedTime        string        `json:"createdTime"`
	LastUpdateTime     string        `json:"lastUpdateTime"`
	AssignedTo         *string       `json:"assignedTo"`
	Classification     string        `json:"classification"`
	Determination      string        `json:"determination"`
	DetectionSource    string        `json:"detectionSource"`
	Status             string        `json:"status"`
	Severity           string        `json:"severity"`
	Tags               []string      `json:"tags"`
	SystemTags         []string      `json:"systemTags"`
	Comments           []commentJSON `json:"comments"`
	Alerts             []alertJSON   `json:"alerts"`
}

type commentJSON struct {
	Comment     string `json:"comment"`
	CreatedBy   string `json:"createdBy"`
	CreatedTime string `json:"createdTime"`
}

// alertJSON is an alert inside an XDR incident (reference §4.4).
type alertJSON struct {
	AlertID            string       `json:"alertId"`
	IncidentID         int64        `json:"incidentId"`
	ServiceSource      string       `json:"serviceSource"`
	CreationTime       string       `json:"creationTime"`
	LastUpdatedTime    string       `json:"lastUpdatedTime"`
	ResolvedTime       *string      `json:"resolvedTime"`
	FirstActivity      string       `json:"firstActivity"`
	LastActivity       string       `json:"lastActivity"`
	Title              string       `json:"title"`
	Description        string       `json:"description"`
	Category           string       `json:"category"`
	Status             string       `json:"status"`
	Severity           string       `json:"severity"`
	InvestigationID    *int64       `json:"investigationId"`
	InvestigationState string       `json:"investigationState"`
	Classification     *string      `json:"classification"`
	Determination      *string      `json:"determination"`
	DetectionSource    string       `json:"detectionSource"`
	DetectorID         string       `json:"detectorId"`
	AssignedTo         *string      `json:"assignedTo"`
	ActorName          *string      `json:"actorName"`
	ThreatFamilyName   *string      `json:"threatFamilyName"`
	MitreTechniques    []string     `json:"mitreTechniques"`
	Devices            []deviceJSON `json:"devices"`
	Entities           []entityJSON `json:"entities"`
}

type deviceJSON struct {
	MDATPDeviceID string   `json:"mdatpDeviceId"`
	AADDeviceID   *string  `json:"aadDeviceId"`
	DeviceDNSName string   `json:"deviceDnsName"`
	OSPlatform    string   `json:"osPlatform"`
	Version       string   `json:"version"`
	OSProcessor   string   `json:"osProcessor"`
	OSBuild       int64    `json:"osBuild"`
	HealthStatus  string   `json:"healthStatus"`
	RiskScore     string   `json:"riskScore"`
	RBACGroupName string   `json:"rbacGroupName"`
	RBACGroupID   int64    `json:"rbacGroupId"`
	FirstSeen     string   `json:"firstSeen"`
	Tags          []string `json:"tags"`
}

// entityJSON carries every entity key; those that do not apply are null
// (reference §4.4).
type entityJSON struct {
	EntityType                string  `json:"entityType"`
	SHA1                      *string `json:"sha1"`
	SHA256                    *string `json:"sha256"`
	FileName                  *string `json:"fileName"`
	FilePath                  *string `json:"filePath"`
	ProcessID                 *int64  `json:"processId"`
	ProcessCommandLine        *string `json:"processCommandLine"`
	ProcessCreationTime       *string `json:"processCreationTime"`
	ParentProcessID           *int64  `json:"parentProcessId"`
	ParentProcessCreationTime *string `json:"parentProcessCreationTime"`
	IPAddress                 *string `json:"ipAddress"`
	URL                       *string `json:"url"`
	AccountName               *string `json:"accountName"`
	DomainName                *string `json:"domainName"`
	UserSID                   *string `json:"userSid"`
	AADUserID                 *string `json:"aadUserId"`
	UserPrincipalName         *string `json:"userPrincipalName"`
	MailboxDisplayName        *string `json:"mailboxDisplayName"`
	MailboxAddress            *string `json:"mailboxAddress"`
	ClusterBy                 *string `json:"clusterBy"`
	Sender                    *string `json:"sender"`
	Recipient                 *string `json:"recipient"`
	Subject                   *string `json:"subject"`
	DeliveryAction            *string `json:"deliveryAction"`
	SecurityGroupID           *string `json:"securityGroupId"`
	SecurityGroupName         *string `json:"securityGroupName"`
	RegistryHive              *string `json:"registryHive"`
	RegistryKey               *string `json:"registryKey"`
	RegistryValueType         *string `json:"registryValueType"`
	RegistryValue             *string `json:"registryValue"`
	DeviceID                  *string `json:"deviceId"`
}

func toIncidentJSON(inc store.Incident) incidentJSON {
	out := incidentJSON{
		IncidentID:     inc.ID,
		IncidentURI:    inc.WebURL,
		IncidentName:   inc.DisplayName,
		CreatedTime:    formatTime(inc.CreatedTime),
		LastUpdateTime: formatTime(inc.LastUpdateTime),
		AssignedTo:     optional(inc.AssignedTo),
		Classification: classifications.out(inc.Classification),
		Determination:  determinations.out(inc.Determination),
		Status:         statuses.out(inc.Status),
		Severity:       severities.out(inc.Severity),
		Tags:           nonNil(inc.CustomTags),
		SystemTags:     nonNil(inc.SystemTags),
		Comments:       make([]commentJSON, len(inc.Comments)),
		Alerts:         make([]alertJSON, len(inc.Alerts)),
	}
	if inc.RedirectIncidentID != 0 {
		id := inc.RedirectIncidentID
		out.RedirectIncidentID = &id
	}
	if len(inc.Alerts) > 0 {
		out.DetectionSource = detectionSources.out(inc.Alerts[0].DetectionSource)
	}
	for i, c := range inc.Comments {
		out.Comments[i] = commentJSON{Comment: c.Text, CreatedBy: c.Author, CreatedTime: formatTime(c.CreatedTime)}
	}
	for i, a := range inc.Alerts {
		out.Alerts[i] = toAlertJSON(a)
	}
	return out
}

func toAlertJSON(a store.Alert) alertJSON {
	out := alertJSON{
		AlertID:            a.ID,
		IncidentID:         a.IncidentID,
		ServiceSource:      serviceSources.out(a.ServiceSource),
		CreationTime:       formatTime(a.CreatedTime),
		LastUpdatedTime:    formatTime(a.LastUpdateTime),
		FirstActivity:      formatTime(a.FirstActivity),
		LastActivity:       formatTime(a.LastActivity),
		Title:              a.Title,
		Description:        a.Description,
		Category:           a.Category,
		Status:             alertStatuses.out(a.Status),
		Severity:           severities.out(a.Severity),
		InvestigationState: a.InvestigationState,
		DetectionSource:    detectionSources.out(a.DetectionSource),
		DetectorID:         a.DetectorID,
		AssignedTo:         optional(a.AssignedTo),
		ActorName:          optional(a.ActorName),
		ThreatFamilyName:   optional(a.ThreatFamilyName),
		MitreTechniques:    nonNil(a.MitreTechniques),
		Devices:            make([]deviceJSON, len(a.Devices)),
		Entities:           []entityJSON{},
	}
	if !a.ResolvedTime.IsZero() {
		out.ResolvedTime = optional(formatTime(a.ResolvedTime))
	}
	if a.InvestigationID != 0 {
		id := a.InvestigationID
		out.InvestigationID = &id
	}
	if a.Classification != store.ClassificationUnknown {
		out.Classification = optional(classifications.out(a.Classification))
		out.Determination = optional(determinations.out(a.Determination))
	}
	for i, d := range a.Devices {
		out.Devices[i] = toDeviceJSON(d)
	}
	deviceID := ""
	if len(a.Devices) > 0 {
		deviceID = a.Devices[0].MDEDeviceID
	}
	for _, e := range a.Evidence {
		if e.Kind == store.EvidenceDevice {
			continue // devices are listed in "devices", not as entities
		}
		out.Entities = append(out.Entities, toEntityJSON(e, deviceID))
	}
	return out
}

func toDeviceJSON(d store.Device) deviceJSON {
	return deviceJSON{
		MDATPDeviceID: d.MDEDeviceID,
		AADDeviceID:   optional(d.AADDeviceID),
		DeviceDNSName: d.DNSName,
		OSPlatform:    d.OSPlatform,
		Version:       d.OSVersion,
		OSProcessor:   d.OSProcessor,
		OSBuild:       d.OSBuild,
		HealthStatus:  d.HealthStatus,
		RiskScore:     d.RiskScore,
		RBACGroupName: d.RBACGroupName,
		RBACGroupID:   d.RBACGroupID,
		FirstSeen:     formatTime(d.FirstSeen),
		Tags:          []string{},
	}
}

func toEntityJSON(e store.Evidence, deviceID string) entityJSON {
	var out entityJSON
	switch e.Kind {
	case store.EvidenceFile:
		out.EntityType = "File"
		setFile(&out, *e.File)
		out.DeviceID = optional(deviceID)
	case store.EvidenceProcess:
		p := e.Process
		out.EntityType = "Process"
		setFile(&out, p.Image)
		out.ProcessID = &p.ID
		out.ProcessCommandLine = optional(p.CommandLine)
		out.ProcessCreationTime = optional(formatTime(p.CreatedTime))
		out.ParentProcessID = &p.ParentID
		out.ParentProcessCreationTime = optional(formatTime(p.ParentCreatedTime))
		out.AccountName = optional(p.Account.AccountName)
		out.DomainName = optional(p.Account.DomainName)
		out.UserSID = optional(p.Account.UserSID)
		out.DeviceID = optional(deviceID)
	case store.EvidenceUser:
		u := e.User
		out.EntityType = "User"
		out.AccountName = optional(u.AccountName)
		out.DomainName = optional(u.DomainName)
		out.UserSID = optional(u.UserSID)
		out.AADUserID = optional(u.AADUserID)
		out.UserPrincipalName = optional(u.UserPrincipalName)
	case store.EvidenceIP:
		out.EntityType = "Ip"
		out.IPAddress = optional(e.IPAddress)
	case store.EvidenceURL:
		out.EntityType = "Url"
		out.URL = optional(e.URL)
	case store.EvidenceMailbox:
		out.EntityType = "MailBox"
		out.MailboxDisplayName = optional(e.Mailbox.DisplayName)
		out.MailboxAddress = optional(e.Mailbox.PrimaryAddress)
		out.UserPrincipalName = optional(e.Mailbox.UserPrincipalName)
	}
	return out
}

func setFile(out *entityJSON, f store.FileDetails) {
	out.SHA1 = optional(f.SHA1)
	out.SHA256 = optional(f.SHA256)
	out.FileName = optional(f.Name)
	out.FilePath = optional(f.Path)
}

// formatTime renders a UTC time with as many fractional digits as it has
// (0–7), as XDR does.
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
