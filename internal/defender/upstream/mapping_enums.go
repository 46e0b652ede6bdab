package upstream

import (
	"strings"

	"github.com/defender-gateway/gateway/internal/defender"
)

// Upstream enum spellings → domain values, keyed in lower case: both
// backends' spellings (and the conflicting ones of the reference, §4.5 and
// §7.3) are matched case-insensitively. A spelling not listed maps to the
// *Unknown value, "" to *Unspecified; the raw string is kept by the caller.

var incidentStatusByName = map[string]defender.IncidentStatus{
	"active":             defender.StatusActive,
	"inprogress":         defender.StatusInProgress,
	"resolved":           defender.StatusResolved,
	"redirected":         defender.StatusRedirected,
	"awaitingaction":     defender.StatusAwaitingAction,
	"unknown":            defender.StatusUnknown,
	"unknownfuturevalue": defender.StatusUnknown,
}

var severityByName = map[string]defender.Severity{
	"informational":      defender.SeverityInformational,
	"low":                defender.SeverityLow,
	"medium":             defender.SeverityMedium,
	"high":               defender.SeverityHigh,
	"unspecified":        defender.SeverityUnknown, // XDR "UnSpecified"
	"unknown":            defender.SeverityUnknown,
	"unknownfuturevalue": defender.SeverityUnknown,
}

var classificationByName = map[string]defender.Classification{
	"truepositive":                  defender.ClassificationTruePositive,
	"falsepositive":                 defender.ClassificationFalsePositive,
	"informationalexpectedactivity": defender.ClassificationInformationalExpectedActivity,
	"unknown":                       defender.ClassificationUnknown,
	"unknownfuturevalue":            defender.ClassificationUnknown,
}

var determinationByName = map[string]defender.Determination{
	"notavailable":              defender.DeterminationNotAvailable,
	"apt":                       defender.DeterminationAPT,
	"malware":                   defender.DeterminationMalware,
	"securitypersonnel":         defender.DeterminationSecurityPersonnel,
	"securitytesting":           defender.DeterminationSecurityTesting,
	"unwantedsoftware":          defender.DeterminationUnwantedSoftware,
	"other":                     defender.DeterminationOther,
	"multistagedattack":         defender.DeterminationMultiStagedAttack,
	"compromiseduser":           defender.DeterminationCompromisedAccount,
	"compromisedaccount":        defender.DeterminationCompromisedAccount,
	"phishing":                  defender.DeterminationPhishing,
	"malicioususeractivity":     defender.DeterminationMaliciousUserActivity,
	"clean":                     defender.DeterminationClean,
	"notmalicious":              defender.DeterminationClean,
	"insufficientdata":          defender.DeterminationInsufficientData,
	"notenoughdatatovalidate":   defender.DeterminationInsufficientData,
	"noenoughdatatovalidate":    defender.DeterminationInsufficientData,
	"confirmeduseractivity":     defender.DeterminationConfirmedActivity,
	"confirmedactivity":         defender.DeterminationConfirmedActivity,
	"lineofbusinessapplication": defender.DeterminationLineOfBusinessApplication,
	"unknown":                   defender.DeterminationUnknown,
	"unknownfuturevalue":        defender.DeterminationUnknown,
}

var alertStatusByName = map[string]defender.AlertStatus{
	"new":                defender.AlertStatusNew,
	"active":             defender.AlertStatusActive,
	"inprogress":         defender.AlertStatusInProgress,
	"resolved":           defender.AlertStatusResolved,
	"unknown":            defender.AlertStatusUnknown,
	"unknownfuturevalue": defender.AlertStatusUnknown,
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

func ParseIncidentStatus(raw string) defender.IncidentStatus {
	return parseEnum(raw, incidentStatusByName, defender.StatusUnspecified, defender.StatusUnknown)
}

func ParseSeverity(raw string) defender.Severity {
	return parseEnum(raw, severityByName, defender.SeverityUnspecified, defender.SeverityUnknown)
}

func ParseClassification(raw string) defender.Classification {
	return parseEnum(raw, classificationByName, defender.ClassificationUnspecified, defender.ClassificationUnknown)
}

func ParseDetermination(raw string) defender.Determination {
	return parseEnum(raw, determinationByName, defender.DeterminationUnspecified, defender.DeterminationUnknown)
}

func ParseAlertStatus(raw string) defender.AlertStatus {
	return parseEnum(raw, alertStatusByName, defender.AlertStatusUnspecified, defender.AlertStatusUnknown)
}

// WireNames are one backend's spellings of the domain values it accepts in
// filters and updates.
type WireNames struct {
	backend        defender.BackendKind
	status         map[defender.IncidentStatus]string
	severity       map[defender.Severity]string // nil: the backend cannot filter on it
	classification map[defender.Classification]string
	determination  map[defender.Determination]string
}

// GraphWire holds the Graph spellings (camelCase, reference §7.3). The
// determinations are the members of the service metadata's
// alertDetermination type, the type of an incident's determination; the
// incident page's property list (G3) spells four of them differently
// (compromisedUser, clean, insufficientData, confirmedUserActivity), and
// Graph rejects those in a PATCH. Both spellings are read.
var GraphWire = WireNames{
	backend: defender.BackendGraph,
	status: map[defender.IncidentStatus]string{
		defender.StatusActive:         "active",
		defender.StatusInProgress:     "inProgress",
		defender.StatusResolved:       "resolved",
		defender.StatusRedirected:     "redirected",
		defender.StatusAwaitingAction: "awaitingAction",
	},
	severity: map[defender.Severity]string{
		defender.SeverityUnknown:       "unknown",
		defender.SeverityInformational: "informational",
		defender.SeverityLow:           "low",
		defender.SeverityMedium:        "medium",
		defender.SeverityHigh:          "high",
	},
	classification: map[defender.Classification]string{
		defender.ClassificationTruePositive:                  "truePositive",
		defender.ClassificationFalsePositive:                 "falsePositive",
		defender.ClassificationInformationalExpectedActivity: "informationalExpectedActivity",
	},
	determination: map[defender.Determination]string{
		defender.DeterminationAPT:                       "apt",
		defender.DeterminationMalware:                   "malware",
		defender.DeterminationSecurityPersonnel:         "securityPersonnel",
		defender.DeterminationSecurityTesting:           "securityTesting",
		defender.DeterminationUnwantedSoftware:          "unwantedSoftware",
		defender.DeterminationOther:                     "other",
		defender.DeterminationMultiStagedAttack:         "multiStagedAttack",
		defender.DeterminationCompromisedAccount:        "compromisedAccount",
		defender.DeterminationPhishing:                  "phishing",
		defender.DeterminationMaliciousUserActivity:     "maliciousUserActivity",
		defender.DeterminationClean:                     "notMalicious",
		defender.DeterminationInsufficientData:          "notEnoughDataToValidate",
		defender.DeterminationConfirmedActivity:         "confirmedActivity",
		defender.DeterminationLineOfBusinessApplication: "lineOfBusinessApplication",
	},
}

// XDRWire holds the XDR spellings (PascalCase, reference §4.5/§4.6 / X4).
var XDRWire = WireNames{
	backend: defender.BackendXDR,
	status: map[defender.IncidentStatus]string{
		defender.StatusActive:     "Active",
		defender.StatusInProgress: "InProgress",
		defender.StatusResolved:   "Resolved",
		defender.StatusRedirected: "Redirected",
	},
	classification: map[defender.Classification]string{
		defender.ClassificationTruePositive:                  "TruePositive",
		defender.ClassificationFalsePositive:                 "FalsePositive",
		defender.ClassificationInformationalExpectedActivity: "InformationalExpectedActivity",
	},
	determination: map[defender.Determination]string{
		defender.DeterminationNotAvailable:              "NotAvailable",
		defender.DeterminationAPT:                       "Apt",
		defender.DeterminationMalware:                   "Malware",
		defender.DeterminationSecurityPersonnel:         "SecurityPersonnel",
		defender.DeterminationSecurityTesting:           "SecurityTesting",
		defender.DeterminationUnwantedSoftware:          "UnwantedSoftware",
		defender.DeterminationOther:                     "Other",
		defender.DeterminationMultiStagedAttack:         "MultiStagedAttack",
		defender.DeterminationCompromisedAccount:        "CompromisedAccount",
		defender.DeterminationPhishing:                  "Phishing",
		defender.DeterminationMaliciousUserActivity:     "MaliciousUserActivity",
		defender.DeterminationClean:                     "Clean",
		defender.DeterminationInsufficientData:          "NoEnoughDataToValidate",
		defender.DeterminationConfirmedActivity:         "ConfirmedActivity",
		defender.DeterminationLineOfBusinessApplication: "LineOfBusinessApplication",
	},
}

// wireName returns the backend spelling of v. Unspecified and Unknown are
// invalid arguments; a known value the backend lacks is unsupported.
func wireName[T comparable](names map[T]string, v T, unspecified, unknown T, field string, backend defender.BackendKind) (string, error) {
	if name, ok := names[v]; ok {
		return name, nil
	}
	if v == unspecified || v == unknown {
		return "", defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "%s must be a known, specified value", field)
	}
	return "", defender.Errorf(defender.KindInvalidArgument, defender.ReasonUnsupportedByBackend, "this %s value is not supported by the %s backend", field, backend)
}

func (w WireNames) statusName(v defender.IncidentStatus) (string, error) {
	return wireName(w.status, v, defender.StatusUnspecified, defender.StatusUnknown, "status", w.backend)
}

func (w WireNames) severityName(v defender.Severity) (string, error) {
	return wireName(w.severity, v, defender.SeverityUnspecified, -1, "severity", w.backend)
}

func (w WireNames) classificationName(v defender.Classification) (string, error) {
	return wireName(w.classification, v, defender.ClassificationUnspecified, defender.ClassificationUnknown, "classification", w.backend)
}

func (w WireNames) determinationName(v defender.Determination) (string, error) {
	return wireName(w.determination, v, defender.DeterminationUnspecified, defender.DeterminationUnknown, "determination", w.backend)
}

// StatusNames converts a filter's status set.
func (w WireNames) StatusNames(vs []defender.IncidentStatus) ([]string, error) {
	return convertAll(vs, w.statusName)
}

// SeverityNames converts a filter's severity set.
func (w WireNames) SeverityNames(vs []defender.Severity) ([]string, error) {
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
