package store

// Status is an incident's status.
type Status string

// Incident statuses.
const (
	StatusActive         Status = "active"
	StatusInProgress     Status = "inProgress"
	StatusResolved       Status = "resolved"
	StatusRedirected     Status = "redirected"
	StatusAwaitingAction Status = "awaitingAction"
)

// Statuses lists every incident status.
var Statuses = []Status{StatusActive, StatusInProgress, StatusResolved, StatusRedirected, StatusAwaitingAction}

// Severity is an incident's or alert's severity.
type Severity string

// Severities, lowest first.
const (
	SeverityUnknown       Severity = "unknown"
	SeverityInformational Severity = "informational"
	SeverityLow           Severity = "low"
	SeverityMedium        Severity = "medium"
	SeverityHigh          Severity = "high"
)

// Severities lists every severity, lowest first.
var Severities = []Severity{SeverityUnknown, SeverityInformational, SeverityLow, SeverityMedium, SeverityHigh}

// Classification says whether an incident is a real threat.
type Classification string

// Classifications.
const (
	ClassificationUnknown                       Classification = "unknown"
	ClassificationFalsePositive                 Classification = "falsePositive"
	ClassificationTruePositive                  Classification = "truePositive"
	ClassificationInformationalExpectedActivity Classification = "informationalExpectedActivity"
)

// Classifications lists every classification.
var Classifications = []Classification{
	ClassificationUnknown, ClassificationFalsePositive, ClassificationTruePositive,
	ClassificationInformationalExpectedActivity,
}

// Determination refines a classification.
type Determination string

// Determinations, in the Graph spelling: the members of the service
// metadata's alertDetermination type (reference §7.3), which is what Graph
// sends and accepts. The incident page's property list (G3) spells four of
// them differently (compromisedUser, clean, insufficientData,
// confirmedUserActivity); Graph rejects those in a PATCH.
const (
	DeterminationUnknown                   Determination = "unknown"
	DeterminationApt                       Determination = "apt"
	DeterminationMalware                   Determination = "malware"
	DeterminationSecurityPersonnel         Determination = "securityPersonnel"
	DeterminationSecurityTesting           Determination = "securityTesting"
	DeterminationUnwantedSoftware          Determination = "unwantedSoftware"
	DeterminationOther                     Determination = "other"
	DeterminationMultiStagedAttack         Determination = "multiStagedAttack"
	DeterminationCompromisedAccount        Determination = "compromisedAccount"
	DeterminationPhishing                  Determination = "phishing"
	DeterminationMaliciousUserActivity     Determination = "maliciousUserActivity"
	DeterminationNotMalicious              Determination = "notMalicious"
	DeterminationNotEnoughDataToValidate   Determination = "notEnoughDataToValidate"
	DeterminationConfirmedActivity         Determination = "confirmedActivity"
	DeterminationLineOfBusinessApplication Determination = "lineOfBusinessApplication"
)

// Determinations lists every determination.
var Determinations = []Determination{
	DeterminationUnknown, DeterminationApt, DeterminationMalware, DeterminationSecurityPersonnel,
	DeterminationSecurityTesting, DeterminationUnwantedSoftware, DeterminationOther,
	DeterminationMultiStagedAttack, DeterminationCompromisedAccount, DeterminationPhishing,
	DeterminationMaliciousUserActivity, DeterminationNotMalicious, DeterminationNotEnoughDataToValidate,
	DeterminationConfirmedActivity, DeterminationLineOfBusinessApplication,
}

// determinationsByClassification are the pairs the update documentation
// lists (reference §4.5), used to generate consistent sample data.
var determinationsByClassification = map[Classification][]Determination{
	ClassificationUnknown: {DeterminationUnknown},
	ClassificationTruePositive: {
		DeterminationMultiStagedAttack, DeterminationMaliciousUserActivity, DeterminationCompromisedAccount,
		DeterminationMalware, DeterminationPhishing, DeterminationUnwantedSoftware, DeterminationOther,
	},
	ClassificationInformationalExpectedActivity: {
		DeterminationSecurityTesting, DeterminationLineOfBusinessApplication,
		DeterminationConfirmedActivity, DeterminationOther,
	},
	ClassificationFalsePositive: {DeterminationNotMalicious, DeterminationNotEnoughDataToValidate, DeterminationOther},
}

// DeterminationsFor returns the determinations documented for classification
// c (a copy), or nil for an unknown classification.
func DeterminationsFor(c Classification) []Determination {
	return append([]Determination(nil), determinationsByClassification[c]...)
}

// AlertStatus is an alert's status.
type AlertStatus string

// Alert statuses.
const (
	AlertStatusNew        AlertStatus = "new"
	AlertStatusInProgress AlertStatus = "inProgress"
	AlertStatusResolved   AlertStatus = "resolved"
)

// AlertStatuses lists every alert status.
var AlertStatuses = []AlertStatus{AlertStatusNew, AlertStatusInProgress, AlertStatusResolved}

// ServiceSource is the product that raised an alert (Graph spelling).
type ServiceSource string

// Service sources used by the sample data.
const (
	ServiceDefenderForEndpoint ServiceSource = "microsoftDefenderForEndpoint"
	ServiceDefenderForIdentity ServiceSource = "microsoftDefenderForIdentity"
	ServiceDefenderForCloudApp ServiceSource = "microsoftDefenderForCloudApps"
	ServiceDefenderForOffice   ServiceSource = "microsoftDefenderForOffice365"
	ServiceEntraIDProtection   ServiceSource = "azureAdIdentityProtection"
)

// DetectionSource is the detection technology behind an alert (Graph
// spelling).
type DetectionSource string

// Detection sources used by the sample data.
const (
	DetectionAntivirus              DetectionSource = "antivirus"
	DetectionEndpointEDR            DetectionSource = "microsoftDefenderForEndpoint"
	DetectionCustomTI               DetectionSource = "customTi"
	DetectionDefenderForIdentity    DetectionSource = "microsoftDefenderForIdentity"
	DetectionCloudAppSecurity       DetectionSource = "cloudAppSecurity"
	DetectionDefenderForOffice      DetectionSource = "microsoftDefenderForOffice365"
	DetectionEntraIDProtection      DetectionSource = "azureAdIdentityProtection"
	DetectionAutomatedInvestigation DetectionSource = "automatedInvestigation"
)

// EvidenceKind says which kind of entity an [Evidence] is.
type EvidenceKind string

// Evidence kinds.
const (
	EvidenceDevice  EvidenceKind = "device"
	EvidenceFile    EvidenceKind = "file"
	EvidenceProcess EvidenceKind = "process"
	EvidenceUser    EvidenceKind = "user"
	EvidenceIP      EvidenceKind = "ip"
	EvidenceURL     EvidenceKind = "url"
	EvidenceMailbox EvidenceKind = "mailbox"
)

// Valid reports whether s is a known status.
func (s Status) Valid() bool { return contains(Statuses, s) }

// Valid reports whether s is a known alert status.
func (s AlertStatus) Valid() bool { return contains(AlertStatuses, s) }

// Valid reports whether s is a known severity.
func (s Severity) Valid() bool { return contains(Severities, s) }

// Valid reports whether c is a known classification.
func (c Classification) Valid() bool { return contains(Classifications, c) }

// Valid reports whether d is a known determination.
func (d Determination) Valid() bool { return contains(Determinations, d) }

func contains[T comparable](list []T, v T) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
