package xdrapi

import (
	"fmt"
	"strings"

	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// spelling pairs a store value with its XDR wire spelling.
type spelling[T comparable] struct {
	value T
	wire  string
}

// enumMap is a bidirectional store ↔ XDR mapping. Output uses the first
// spelling listed for a value; input accepts every spelling listed,
// case-insensitively.
type enumMap[T comparable] struct {
	kind      string
	spellings []spelling[T]
}

func (m enumMap[T]) out(v T) string {
	for _, s := range m.spellings {
		if s.value == v {
			return s.wire
		}
	}
	return fmt.Sprint(v)
}

func (m enumMap[T]) parse(s string) (T, error) {
	for _, sp := range m.spellings {
		if strings.EqualFold(sp.wire, s) {
			return sp.value, nil
		}
	}
	var zero T
	return zero, fmt.Errorf("%q is not a valid %s", s, m.kind)
}

// statuses: awaitingAction postdates the XDR API and is shown as Active
// (docs/emulator-apis.md); only the four documented values are accepted.
var statuses = enumMap[store.Status]{kind: "status (use Active, InProgress, Resolved or Redirected)", spellings: []spelling[store.Status]{
	{store.StatusActive, "Active"},
	{store.StatusInProgress, "InProgress"},
	{store.StatusResolved, "Resolved"},
	{store.StatusRedirected, "Redirected"},
	{store.StatusAwaitingAction, "Active"},
}}

var severities = enumMap[store.Severity]{kind: "severity", spellings: []spelling[store.Severity]{
	{store.SeverityUnknown, "UnSpecified"},
	{store.SeverityInformational, "Informational"},
	{store.SeverityLow, "Low"},
	{store.SeverityMedium, "Medium"},
	{store.SeverityHigh, "High"},
}}

var classifications = enumMap[store.Classification]{kind: "classification", spellings: []spelling[store.Classification]{
	{store.ClassificationUnknown, "Unknown"},
	{store.ClassificationFalsePositive, "FalsePositive"},
	{store.ClassificationTruePositive, "TruePositive"},
	{store.ClassificationInformationalExpectedActivity, "InformationalExpectedActivity"},
}}

// determinations: output uses the X2 spellings (CompromisedUser,
// InsufficientData, ConfirmedUserActivity); input also accepts the X4 ones
// (reference §4.5).
var determinations = enumMap[store.Determination]{kind: "determination", spellings: []spelling[store.Determination]{
	{store.DeterminationUnknown, "NotAvailable"},
	{store.DeterminationUnknown, "Unknown"},
	{store.DeterminationApt, "Apt"},
	{store.DeterminationMalware, "Malware"},
	{store.DeterminationSecurityPersonnel, "SecurityPersonnel"},
	{store.DeterminationSecurityTesting, "SecurityTesting"},
	{store.DeterminationUnwantedSoftware, "UnwantedSoftware"},
	{store.DeterminationOther, "Other"},
	{store.DeterminationMultiStagedAttack, "MultiStagedAttack"},
	{store.DeterminationCompromisedAccount, "CompromisedUser"},
	{store.DeterminationCompromisedAccount, "CompromisedAccount"},
	{store.DeterminationPhishing, "Phishing"},
	{store.DeterminationMaliciousUserActivity, "MaliciousUserActivity"},
	{store.DeterminationNotMalicious, "Clean"},
	{store.DeterminationNotEnoughDataToValidate, "InsufficientData"},
	{store.DeterminationNotEnoughDataToValidate, "NoEnoughDataToValidate"},
	{store.DeterminationConfirmedActivity, "ConfirmedUserActivity"},
	{store.DeterminationConfirmedActivity, "ConfirmedActivity"},
	{store.DeterminationLineOfBusinessApplication, "LineOfBusinessApplication"},
}}

var alertStatuses = enumMap[store.AlertStatus]{kind: "alert status", spellings: []spelling[store.AlertStatus]{
	{store.AlertStatusNew, "New"},
	{store.AlertStatusInProgress, "InProgress"},
	{store.AlertStatusResolved, "Resolved"},
}}

var serviceSources = enumMap[store.ServiceSource]{kind: "service source", spellings: []spelling[store.ServiceSource]{
	{store.ServiceDefenderForEndpoint, "MicrosoftDefenderATP"},
	{store.ServiceDefenderForOffice, "OfficeATP"},
	{store.ServiceDefenderForCloudApp, "MicrosoftCloudAppSecurity"},
	{store.ServiceDefenderForIdentity, "AzureATP"},
	{store.ServiceEntraIDProtection, "AAD"},
}}

var detectionSources = enumMap[store.DetectionSource]{kind: "detection source", spellings: []spelling[store.DetectionSource]{
	{store.DetectionAntivirus, "WindowsDefenderAv"},
	{store.DetectionEndpointEDR, "WindowsDefenderAtp"},
	{store.DetectionCustomTI, "CustomTI"},
	{store.DetectionDefenderForIdentity, "AzureATP"},
	{store.DetectionCloudAppSecurity, "MCAS"},
	{store.DetectionDefenderForOffice, "OfficeATP"},
	{store.DetectionEntraIDProtection, "AadIdentityProtection"},
	{store.DetectionAutomatedInvestigation, "AutomatedInvestigation"},
}}
