package upstream

import (
	"slices"
	"testing"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

func TestParseEnums(t *testing.T) {
	determinations := []struct {
		raw  string
		want defender.Determination
	}{
		{"compromisedUser", defender.DeterminationCompromisedAccount},
		{"compromisedAccount", defender.DeterminationCompromisedAccount},
		{"CompromisedUser", defender.DeterminationCompromisedAccount},
		{"CompromisedAccount", defender.DeterminationCompromisedAccount},
		{"clean", defender.DeterminationClean},
		{"notMalicious", defender.DeterminationClean},
		{"insufficientData", defender.DeterminationInsufficientData},
		{"notEnoughDataToValidate", defender.DeterminationInsufficientData},
		{"NoEnoughDataToValidate", defender.DeterminationInsufficientData},
		{"confirmedUserActivity", defender.DeterminationConfirmedActivity},
		{"confirmedActivity", defender.DeterminationConfirmedActivity},
		{"NotAvailable", defender.DeterminationNotAvailable},
		{"Apt", defender.DeterminationAPT},
		{"securityPersonnel", defender.DeterminationSecurityPersonnel},
		{"SecurityTesting", defender.DeterminationSecurityTesting},
		{"UnwantedSoftware", defender.DeterminationUnwantedSoftware},
		{"other", defender.DeterminationOther},
		{"multiStagedAttack", defender.DeterminationMultiStagedAttack},
		{"Phishing", defender.DeterminationPhishing},
		{"maliciousUserActivity", defender.DeterminationMaliciousUserActivity},
		{"LineOfBusinessApplication", defender.DeterminationLineOfBusinessApplication},
		{"MALWARE", defender.DeterminationMalware},
		{"unknown", defender.DeterminationUnknown},
		{"unknownFutureValue", defender.DeterminationUnknown},
		{"somethingNew", defender.DeterminationUnknown},
		{"", defender.DeterminationUnspecified},
	}
	for _, tt := range determinations {
		if got := ParseDetermination(tt.raw); got != tt.want {
			t.Errorf("parseDetermination(%q) = %d, want %d", tt.raw, got, tt.want)
		}
	}
	severities := []struct {
		raw  string
		want defender.Severity
	}{
		{"UnSpecified", defender.SeverityUnknown}, {"unknown", defender.SeverityUnknown}, {"unknownFutureValue", defender.SeverityUnknown},
		{"Informational", defender.SeverityInformational}, {"low", defender.SeverityLow}, {"Medium", defender.SeverityMedium}, {"HIGH", defender.SeverityHigh},
		{"critical", defender.SeverityUnknown}, {"", defender.SeverityUnspecified},
	}
	for _, tt := range severities {
		if got := ParseSeverity(tt.raw); got != tt.want {
			t.Errorf("parseSeverity(%q) = %d, want %d", tt.raw, got, tt.want)
		}
	}
	statuses := []struct {
		raw  string
		want defender.IncidentStatus
	}{
		{"Active", defender.StatusActive}, {"inProgress", defender.StatusInProgress}, {"InProgress", defender.StatusInProgress}, {"resolved", defender.StatusResolved},
		{"Redirected", defender.StatusRedirected}, {"awaitingAction", defender.StatusAwaitingAction}, {"unknownFutureValue", defender.StatusUnknown},
		{"paused", defender.StatusUnknown}, {"", defender.StatusUnspecified},
	}
	for _, tt := range statuses {
		if got := ParseIncidentStatus(tt.raw); got != tt.want {
			t.Errorf("parseIncidentStatus(%q) = %d, want %d", tt.raw, got, tt.want)
		}
	}
	classifications := []struct {
		raw  string
		want defender.Classification
	}{
		{"TruePositive", defender.ClassificationTruePositive}, {"falsePositive", defender.ClassificationFalsePositive},
		{"informationalExpectedActivity", defender.ClassificationInformationalExpectedActivity},
		{"Unknown", defender.ClassificationUnknown}, {"benignPositive", defender.ClassificationUnknown}, {"", defender.ClassificationUnspecified},
	}
	for _, tt := range classifications {
		if got := ParseClassification(tt.raw); got != tt.want {
			t.Errorf("parseClassification(%q) = %d, want %d", tt.raw, got, tt.want)
		}
	}
	alertStatuses := []struct {
		raw  string
		want defender.AlertStatus
	}{
		{"new", defender.AlertStatusNew}, {"New", defender.AlertStatusNew}, {"Active", defender.AlertStatusActive}, {"inProgress", defender.AlertStatusInProgress},
		{"Resolved", defender.AlertStatusResolved}, {"unknownFutureValue", defender.AlertStatusUnknown}, {"weird", defender.AlertStatusUnknown}, {"", defender.AlertStatusUnspecified},
	}
	for _, tt := range alertStatuses {
		if got := ParseAlertStatus(tt.raw); got != tt.want {
			t.Errorf("parseAlertStatus(%q) = %d, want %d", tt.raw, got, tt.want)
		}
	}
}

// Every spelling sent upstream parses back to the value it came from.
func TestWireNamesRoundTrip(t *testing.T) {
	for _, w := range []WireNames{GraphWire, XDRWire} {
		for v, name := range w.status {
			if ParseIncidentStatus(name) != v {
				t.Errorf("%s status %q does not parse back", w.backend, name)
			}
		}
		for v, name := range w.severity {
			if ParseSeverity(name) != v {
				t.Errorf("%s severity %q does not parse back", w.backend, name)
			}
		}
		for v, name := range w.classification {
			if ParseClassification(name) != v {
				t.Errorf("%s classification %q does not parse back", w.backend, name)
			}
		}
		for v, name := range w.determination {
			if ParseDetermination(name) != v {
				t.Errorf("%s determination %q does not parse back", w.backend, name)
			}
		}
	}
}

func TestWireNames(t *testing.T) {
	tests := []struct {
		name       string
		got        func() (string, error)
		want       string
		wantReason string
	}{
		{"graph compromised", func() (string, error) { return GraphWire.determinationName(defender.DeterminationCompromisedAccount) }, "compromisedAccount", ""},
		{"xdr compromised", func() (string, error) { return XDRWire.determinationName(defender.DeterminationCompromisedAccount) }, "CompromisedAccount", ""},
		{"graph clean", func() (string, error) { return GraphWire.determinationName(defender.DeterminationClean) }, "notMalicious", ""},
		{"xdr clean", func() (string, error) { return XDRWire.determinationName(defender.DeterminationClean) }, "Clean", ""},
		{"graph insufficient", func() (string, error) { return GraphWire.determinationName(defender.DeterminationInsufficientData) }, "notEnoughDataToValidate", ""},
		{"xdr insufficient", func() (string, error) { return XDRWire.determinationName(defender.DeterminationInsufficientData) }, "NoEnoughDataToValidate", ""},
		{"graph confirmed", func() (string, error) { return GraphWire.determinationName(defender.DeterminationConfirmedActivity) }, "confirmedActivity", ""},
		{"xdr confirmed", func() (string, error) { return XDRWire.determinationName(defender.DeterminationConfirmedActivity) }, "ConfirmedActivity", ""},
		{"graph informational expected", func() (string, error) {
			return GraphWire.classificationName(defender.ClassificationInformationalExpectedActivity)
		}, "informationalExpectedActivity", ""},
		{"xdr informational expected", func() (string, error) {
			return XDRWire.classificationName(defender.ClassificationInformationalExpectedActivity)
		}, "InformationalExpectedActivity", ""},
		{"graph in progress", func() (string, error) { return GraphWire.statusName(defender.StatusInProgress) }, "inProgress", ""},
		{"xdr in progress", func() (string, error) { return XDRWire.statusName(defender.StatusInProgress) }, "InProgress", ""},
		{"graph not available", func() (string, error) { return GraphWire.determinationName(defender.DeterminationNotAvailable) }, "", defender.ReasonUnsupportedByBackend},
		{"xdr awaiting action", func() (string, error) { return XDRWire.statusName(defender.StatusAwaitingAction) }, "", defender.ReasonUnsupportedByBackend},
		{"unknown determination", func() (string, error) { return XDRWire.determinationName(defender.DeterminationUnknown) }, "", defender.ReasonInvalidArgument},
		{"unspecified status", func() (string, error) { return GraphWire.statusName(defender.StatusUnspecified) }, "", defender.ReasonInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got()
			if tt.wantReason != "" {
				defendertest.MustError(t, err, defender.KindInvalidArgument, tt.wantReason)
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("got %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

// TestGraphSendsOnlyMetadataDeterminations guards the PATCH spelling: every
// determination sent to Graph is a member of microsoft.graph.security.
// alertDetermination in the service metadata (reference §7.3), and every
// member but unknown and unknownFutureValue is sent for some value.
func TestGraphSendsOnlyMetadataDeterminations(t *testing.T) {
	members := []string{
		"unknown", "apt", "malware", "securityPersonnel", "securityTesting", "unwantedSoftware", "other",
		"multiStagedAttack", "compromisedAccount", "phishing", "maliciousUserActivity", "notMalicious",
		"notEnoughDataToValidate", "confirmedActivity", "lineOfBusinessApplication", "unknownFutureValue",
	}
	sent := map[string]bool{}
	for v, name := range GraphWire.determination {
		if !slices.Contains(members, name) {
			t.Errorf("Graph is sent determination %q for %v, which is not an alertDetermination member", name, v)
		}
		sent[name] = true
	}
	for _, m := range members {
		if !sent[m] && m != "unknown" && m != "unknownFutureValue" {
			t.Errorf("no domain value is sent as %q", m)
		}
	}
}
