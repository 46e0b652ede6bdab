package defender

import "strings"

// Upstream enum spellings → domain values, keyed in lower case: both
// backends' spellings (and the conflicting ones of the reference, §4.5 and
// §7.3) are matched case-insensitively. A spelling not listed maps to the
// *Unknown value, "" to *Unspecified; the raw string is kept by the caller.

var incidentStatusByName = map[string]IncidentStatus{
	"active":             StatusActive,
	"inprogress":         StatusInProgress,
	"resolved":           StatusResolved,
	"redirected":         StatusRedirected,
	"awaitingaction":     StatusAwaitingAction,
	"unknown":            StatusUnknown,
	"unknownfuturevalue": StatusUnknown,
}

var severityByName = map[string]Severity{
	"informational":      SeverityInformational,
	"low":                SeverityLow,
	"medium":             SeverityMedium,
	"high":               SeverityHigh,
	"unspecified":        SeverityUnknown, // XDR "UnSpecified"
	"unknown":            SeverityUnknown,
	"unknownfuturevalue": SeverityUnknown,
}

var classificationByName = map[string]Classification{
	"truepositive":                  ClassificationTruePositive,
	"falsepositive":                 ClassificationFalsePositive,
	"informationalexpectedactivity": ClassificationInformationalExpectedActivity,
	"unknown":                       ClassificationUnknown,
	"unknownfuturevalue":            ClassificationUnknown,
}

var determinationByName = map[string]Determination{
	"notavailable":              DeterminationNotAvailable,
	"apt":                       DeterminationAPT,
	"malware":                   DeterminationMalware,
	"securitypersonnel":         DeterminationSecurityPersonnel,
	"securitytesting":           DeterminationSecurityTesting,
	"unwantedsoftware":          DeterminationUnwantedSoftware,
	"other":                     DeterminationOther,
	"multistagedattack":         DeterminationMultiStagedAttack,
	"compromiseduser":           DeterminationCompromisedAccount,
	"compromisedaccount":        DeterminationCompromisedAccount,
	"phishing":                  DeterminationPhishing,
	"malicioususeractivity":     DeterminationMaliciousUserActivity,
	"clean":                     DeterminationClean,
	"notmalicious":              DeterminationClean,
	"insufficientdata":          DeterminationInsufficientData,
	"notenoughdatatovalidate":   DeterminationInsufficientData,
	"noenoughdatatovalidate":    DeterminationInsufficientData,
	"confirmeduseractivity":     DeterminationConfirmedActivity,
	"confirmedactivity":         DeterminationConfirmedActivity,
	"lineofbusinessapplication": DeterminationLineOfBusinessApplication,
	"unknown":                   DeterminationUnknown,
	"unknownfuturevalue":        DeterminationUnknown,
}

var alertStatusByName = map[string]AlertStatus{
	"new":                AlertStatusNew,
	"active":             AlertStatusActive,
	"inprogress":         AlertStatusInProgress,
	"resolved":           AlertStatusResolved,
	"unknown":            AlertStatusUnknown,
	"unknownfuturevalue": AlertStatusUnknown,
}

func parseEnum[T comparable](raw string, byName map[string]T, unspecified, unknown T) T {
	s := strings.TrimSpace(raw)
	if s == "" {
		return unspecified
	}
	if v, ok := byName[strings.ToLower(s)]; ok {
		return v
	}
	return unknown
}

func parseIncidentStatus(raw string) IncidentStatus {
	return parseEnum(raw, incidentStatusByName, StatusUnspecified, StatusUnknown)
}

func parseSeverity(raw string) Severity {
	return parseEnum(raw, severityByName, SeverityUnspecified, SeverityUnknown)
}

func parseClassification(raw string) Classification {
	return parseEnum(raw, classificationByName, ClassificationUnspecified, ClassificationUnknown)
}

func parseDetermination(raw string) Determination {
	return parseEnum(raw, determinationByName, DeterminationUnspecified, DeterminationUnknown)
}

func parseAlertStatus(raw string) AlertStatus {
	return parseEnum(raw, alertStatusByName, AlertStatusUnspecified, AlertStatusUnknown)
}

// wireNames are one backend's spellings of the domain values it accepts in
// filters and updates.
type wireNames struct {
	backend        BackendKind
	status         map[IncidentStatus]string
	severity       map[Severity]string // nil: the backend cannot filter on it
	classification map[Classification]string
	determination  map[Determination]string
}

// graphWire holds the Graph spellings (camelCase, reference §7.3). The
// determinations are the members of the service metadata's
// alertDetermination type, the type of an incident's determination; the
// incident page's property list (G3) spells four of them differently
// (compromisedUser, clean, insufficientData, confirmedUserActivity), and
// Graph rejects those in a PATCH. Both spellings are read.
var graphWire = wireNames{
	backend: BackendGraph,
	status: map[IncidentStatus]string{
		StatusActive:         "active",
		StatusInProgress:     "inProgress",
		StatusResolved:       "resolved",
		StatusRedirected:     "redirected",
		StatusAwaitingAction: "awaitingAction",
	},
	severity: map[Severity]string{
		SeverityUnknown:       "unknown",
		SeverityInformational: "informational",
		SeverityLow:           "low",
		SeverityMedium:        "medium",
		SeverityHigh:          "high",
	},
	classification: map[Classification]string{
		ClassificationTruePositive:                  "truePositive",
		ClassificationFalsePositive:                 "falsePositive",
		ClassificationInformationalExpectedActivity: "informationalExpectedActivity",
	},
	determination: map[Determination]string{
		DeterminationAPT:                       "apt",
		DeterminationMalware:                   "malware",
		DeterminationSecurityPersonnel:         "securityPersonnel",
		DeterminationSecurityTesting:           "securityTesting",
		DeterminationUnwantedSoftware:          "unwantedSoftware",
		DeterminationOther:                     "other",
		DeterminationMultiStagedAttack:         "multiStagedAttack",
		DeterminationCompromisedAccount:        "compromisedAccount",
		DeterminationPhishing:                  "phishing",
		DeterminationMaliciousUserActivity:     "maliciousUserActivity",
		DeterminationClean:                     "notMalicious",
		DeterminationInsufficientData:          "notEnoughDataToValidate",
		DeterminationConfirmedActivity:         "confirmedActivity",
		DeterminationLineOfBusinessApplication: "lineOfBusinessApplication",
	},
}

// xdrWire holds the XDR spellings (PascalCase, reference §4.5/§4.6 / X4).
var xdrWire = wireNames{
	backend: BackendXDR,
	status: map[IncidentStatus]string{
		StatusActive:     "Active",
		StatusInProgress: "InProgress",
		StatusResolved:   "Resolved",
		StatusRedirected: "Redirected",
	},
	classification: map[Classification]string{
		ClassificationTruePositive:                  "TruePositive",
		ClassificationFalsePositive:                 "FalsePositive",
		ClassificationInformationalExpectedActivity: "InformationalExpectedActivity",
	},
	determination: map[Determination]string{
		DeterminationNotAvailable:              "NotAvailable",
		DeterminationAPT:                       "Apt",
		DeterminationMalware:                   "Malware",
		DeterminationSecurityPersonnel:         "SecurityPersonnel",
		DeterminationSecurityTesting:           "SecurityTesting",
		DeterminationUnwantedSoftware:          "UnwantedSoftware",
		DeterminationOther:                     "Other",
		DeterminationMultiStagedAttack:         "MultiStagedAttack",
		DeterminationCompromisedAccount:        "CompromisedAccount",
		DeterminationPhishing:                  "Phishing",
		DeterminationMaliciousUserActivity:     "MaliciousUserActivity",
		DeterminationClean:                     "Clean",
		DeterminationInsufficientData:          "NoEnoughDataToValidate",
		DeterminationConfirmedActivity:         "ConfirmedActivity",
		DeterminationLineOfBusinessApplication: "LineOfBusinessApplication",
	},
}

// wireName returns the backend spelling of v. Unspecified and Unknown are
// invalid arguments; a known value the backend lacks is unsupported.
func wireName[T comparable](names map[T]string, v T, unspecified, unknown T, field string, backend BackendKind) (string, error) {
	if name, ok := names[v]; ok {
		return name, nil
	}
	if v == unspecified || v == unknown {
		return "", Errorf(KindInvalidArgument, ReasonInvalidArgument, "%s must be a known, specified value", field)
	}
	return "", Errorf(KindInvalidArgument, ReasonUnsupportedByBackend, "this %s value is not supported by the %s backend", field, backend)
}

func (w wireNames) statusName(v IncidentStatus) (string, error) {
	return wireName(w.status, v, StatusUnspecified, StatusUnknown, "status", w.backend)
}

func (w wireNames) severityName(v Severity) (string, error) {
	return wireName(w.severity, v, SeverityUnspecified, -1, "severity", w.backend)
}

func (w wireNames) classificationName(v Classification) (string, error) {
	return wireName(w.classification, v, ClassificationUnspecified, ClassificationUnknown, "classification", w.backend)
}

func (w wireNames) determinationName(v Determination) (string, error) {
	return wireName(w.determination, v, DeterminationUnspecified, DeterminationUnknown, "determination", w.backend)
}

// statusNames converts a filter's status set.
func (w wireNames) statusNames(vs []IncidentStatus) ([]string, error) {
	return convertAll(vs, w.statusName)
}

// severityNames converts a filter's severity set.
func (w wireNames) severityNames(vs []Severity) ([]string, error) {
	return convertAll(vs, w.severityName)
}

func convertAll[T any](vs []T, name func(T) (string, error)) ([]string, error) {
	out := make([]string, 0, len(vs))
	for _, v := range vs {
		n, err := name(v)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}
