package store

import "time"

// Incident is one incident of a tenant. Optional strings are "" when absent
// and optional numbers are 0; the API packages render those as JSON null.
type Incident struct {
	ID                 int64
	TenantID           string
	RedirectIncidentID int64 // 0 unless Status is StatusRedirected
	DisplayName        string
	Description        string
	CreatedTime        time.Time
	LastUpdateTime     time.Time
	AssignedTo         string
	Classification     Classification
	Determination      Determination
	Status             Status
	Severity           Severity
	CustomTags         []string
	SystemTags         []string
	Comments           []Comment
	LastModifiedBy     string
	PriorityScore      int // 0–100
	WebURL             string
	Alerts             []Alert
}

// Comment is a comment on an incident.
type Comment struct {
	Text        string
	Author      string
	CreatedTime time.Time
}

// Alert is one alert of an incident.
type Alert struct {
	ID                 string
	ProviderAlertID    string
	IncidentID         int64
	Title              string
	Description        string
	Category           string
	Status             AlertStatus
	Severity           Severity
	Classification     Classification
	Determination      Determination
	ServiceSource      ServiceSource
	DetectionSource    DetectionSource
	DetectorID         string
	AssignedTo         string
	ThreatFamilyName   string
	ActorName          string
	RecommendedActions string
	MitreTechniques    []string
	CreatedTime        time.Time
	LastUpdateTime     time.Time
	ResolvedTime       time.Time // zero unless resolved
	FirstActivity      time.Time
	LastActivity       time.Time
	InvestigationID    int64 // 0 when no automated investigation ran
	InvestigationState string
	WebURL             string
	Devices            []Device
	Evidence           []Evidence
	// Comments are the alert's own comments (Graph alerts_v2), oldest
	// first; the incident's comments are separate.
	Comments   []Comment
	SystemTags []string
}

// Device is a machine involved in an alert.
type Device struct {
	MDEDeviceID   string
	AADDeviceID   string // "" when not Entra-joined
	DNSName       string
	OSPlatform    string
	OSVersion     string
	OSProcessor   string
	OSBuild       int64
	HealthStatus  string
	RiskScore     string
	RBACGroupName string
	RBACGroupID   int64
	FirstSeen     time.Time
}

// Evidence is one entity of an alert. Exactly the field matching Kind is set
// (Device for EvidenceDevice, File for EvidenceFile, and so on).
type Evidence struct {
	Kind              EvidenceKind
	CreatedTime       time.Time
	Verdict           string // unknown, suspicious, malicious, noThreatsFound
	RemediationStatus string // none, remediated, prevented, blocked, notFound
	Device            *Device
	File              *FileDetails
	Process           *Process
	User              *UserAccount
	IPAddress         string
	URL               string
	Mailbox           *Mailbox
}

// FileDetails describes a file.
type FileDetails struct {
	Name   string
	Path   string
	SHA1   string
	SHA256 string
	Size   int64
}

// Process describes a process and its image.
type Process struct {
	ID                int64
	CommandLine       string
	CreatedTime       time.Time
	ParentID          int64
	ParentCreatedTime time.Time
	Image             FileDetails
	Account           UserAccount
}

// UserAccount describes a user.
type UserAccount struct {
	AccountName       string
	DomainName        string
	UserPrincipalName string
	UserSID           string
	AADUserID         string
	DisplayName       string
}

// Mailbox describes a mailbox.
type Mailbox struct {
	DisplayName       string
	PrimaryAddress    string
	UserPrincipalName string
}

// clone returns a deep copy of inc, so that callers cannot reach into the
// store.
func (inc Incident) clone() Incident {
	inc.CustomTags = cloneSlice(inc.CustomTags)
	inc.SystemTags = cloneSlice(inc.SystemTags)
	inc.Comments = cloneSlice(inc.Comments)
	alerts := make([]Alert, len(inc.Alerts))
	for i, a := range inc.Alerts {
		alerts[i] = a.clone()
	}
	if inc.Alerts == nil {
		alerts = nil
	}
	inc.Alerts = alerts
	return inc
}

func (a Alert) clone() Alert {
	a.MitreTechniques = cloneSlice(a.MitreTechniques)
	a.Devices = cloneSlice(a.Devices)
	a.Comments = cloneSlice(a.Comments)
	a.SystemTags = cloneSlice(a.SystemTags)
	evidence := make([]Evidence, len(a.Evidence))
	for i, e := range a.Evidence {
		evidence[i] = e.clone()
	}
	a.Evidence = evidence
	return a
}

func (e Evidence) clone() Evidence {
	e.Device = clonePtr(e.Device)
	e.File = clonePtr(e.File)
	e.Process = clonePtr(e.Process)
	e.User = clonePtr(e.User)
	e.Mailbox = clonePtr(e.Mailbox)
	return e
}

func cloneSlice[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append(make([]T, 0, len(s)), s...)
}

func clonePtr[T any](p *T) *T {
	if p == nil {
		return nil
	}
	v := *p
	return &v
}
