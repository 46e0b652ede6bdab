package defender

import (
	"time"
)

// IncidentStatus is an incident's status, neutral between the backends.
type IncidentStatus int

// The incident statuses. StatusUnknown stands for a value this version does
// not know; the raw string is kept next to it.
const (
	StatusUnspecified IncidentStatus = iota
	StatusUnknown
	StatusActive
	StatusInProgress
	StatusResolved
	StatusRedirected
	StatusAwaitingAction
)

// Severity is an incident's or alert's severity.
type Severity int

// The severities.
const (
	SeverityUnspecified Severity = iota
	SeverityUnknown
	SeverityInformational
	SeverityLow
	SeverityMedium
	SeverityHigh
)

// Classification is an analyst's classification.
type Classification int

// The classifications.
const (
	ClassificationUnspecified Classification = iota
	ClassificationUnknown
	ClassificationTruePositive
	ClassificationFalsePositive
	ClassificationInformationalExpectedActivity
)

// Determination is an analyst's determination.
type Determination int

// The determinations.
const (
	DeterminationUnspecified Determination = iota
	DeterminationUnknown
	DeterminationNotAvailable
	DeterminationAPT
	DeterminationMalware
	DeterminationSecurityPersonnel
	DeterminationSecurityTesting
	DeterminationUnwantedSoftware
	DeterminationOther
	DeterminationMultiStagedAttack
	DeterminationCompromisedAccount
	DeterminationPhishing
	DeterminationMaliciousUserActivity
	DeterminationClean
	DeterminationInsufficientData
	DeterminationConfirmedActivity
	DeterminationLineOfBusinessApplication
)

// AlertStatus is an alert's status.
type AlertStatus int

// The alert statuses.
const (
	AlertStatusUnspecified AlertStatus = iota
	AlertStatusUnknown
	AlertStatusNew
	AlertStatusActive
	AlertStatusInProgress
	AlertStatusResolved
)

// Incident is an incident as either backend returns it. Raw strings keep the
// backend's own enum values, so nothing is lost when a value is new.
type Incident struct {
	ID                string
	TenantID          string
	DisplayName       string
	Description       string
	Status            IncidentStatus
	StatusRaw         string
	Severity          Severity
	SeverityRaw       string
	Classification    Classification
	ClassificationRaw string
	Determination     Determination
	DeterminationRaw  string
	AssignedTo        string
	Tags              []string
	SystemTags        []string
	Comments          []Comment
	// RedirectIncidentID is the id of the incident this one was merged into.
	RedirectIncidentID string
	WebURL             string
	DetectionSource    string
	PriorityScore      int32
	LastModifiedBy     string
	CreateTime         time.Time
	UpdateTime         time.Time
	// Alerts is filled only when the caller asked for them.
	Alerts []Alert
}

// Comment is a comment on an incident.
type Comment struct {
	Text       string
	Author     string
	CreateTime time.Time
}

// Alert is an alert, of an incident or on its own (Graph alerts_v2).
type Alert struct {
	ID string
	// IncidentID is the id of the alert's incident, "" when not sent.
	IncidentID        string
	Title             string
	Description       string
	Category          string
	ServiceSource     string
	DetectionSource   string
	Status            AlertStatus
	StatusRaw         string
	Severity          Severity
	SeverityRaw       string
	Classification    Classification
	ClassificationRaw string
	Determination     Determination
	DeterminationRaw  string
	AssignedTo        string
	ThreatFamilyName  string
	MitreTechniques   []string
	WebURL            string
	CreateTime        time.Time
	UpdateTime        time.Time
	ResolveTime       time.Time
	FirstActivityTime time.Time
	LastActivityTime  time.Time
	Evidence          []Evidence
	Devices           []Device
	// The alerts_v2 fields (Graph only).
	IncidentWebURL     string
	DetectorID         string
	ProviderAlertID    string
	RecommendedActions string
	Comments           []Comment
	SystemTags         []string
}

// Evidence is a Graph evidence object or an XDR entity.
type Evidence struct {
	// Type is the kind in lower camel case: file, process, user, ip, url,
	// mailbox, mailMessage, registryKey, device, ...
	Type               string
	TypeRaw            string
	Verdict            string
	FileName           string
	FilePath           string
	SHA1               string
	SHA256             string
	ProcessID          int64
	ProcessCommandLine string
	IPAddress          string
	URL                string
	AccountName        string
	DomainName         string
	UserPrincipalName  string
	MailboxAddress     string
	Sender             string
	Recipient          string
	Subject            string
	RegistryKey        string
	RegistryValue      string
	DeviceID           string
	// Details holds every other non-null field of the backend's object.
	Details map[string]any
}

// Device is a device involved in an alert.
type Device struct {
	ID            string
	AADDeviceID   string
	DNSName       string
	OSPlatform    string
	OSBuild       string
	HealthStatus  string
	RiskScore     string
	RBACGroupName string
	FirstSeenTime time.Time
}

// HuntingColumn is one column of a hunting result.
type HuntingColumn struct {
	Name string
	Type string
}

// HuntingResult is the result of an advanced hunting query. Rows are keyed by
// column name; values are already typed by column (datetimes as RFC 3339
// strings, numbers as float64, dynamic values as decoded JSON).
type HuntingResult struct {
	Columns []HuntingColumn
	Rows    []map[string]any
	// Stats is the backend's execution statistics, nil when it sends none.
	Stats map[string]any
}
