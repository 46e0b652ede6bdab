package defender

import (
	"slices"
	"testing"
)

func TestParseEnums(t *testing.T) {
	determinations := []struct {
		raw  string
		want Determination
	}{
		{"compromisedUser", DeterminationCompromisedAccount},
		{"compromisedAccount", DeterminationCompromisedAccount},
		{"CompromisedUser", DeterminationCompromisedAccount},
		{"CompromisedAccount", DeterminationCompromisedAccount},
		{"clean", DeterminationClean},
		{"notMalicious", DeterminationClean},
		{"insufficientData", DeterminationInsufficientData},
		{"notEnoughDataToValidate", DeterminationInsufficientData},
		{"NoEnoughDataToValidate", DeterminationInsufficientData},
		{"confirmedUserActivity", DeterminationConfirmedActivity},
		{"confirmedActivity", DeterminationConfirmedActivity},
		{"NotAvailable", DeterminationNotAvailable},
		{"Apt", DeterminationAPT},
		{"securityPersonnel", DeterminationSecurityPersonnel},
		{"SecurityTesting", DeterminationSecurityTesting},
		{"UnwantedSoftware", DeterminationUnwantedSoftware},
		{"other", DeterminationOther},
		{"multiStagedAttack", DeterminationMultiStagedAttack},
		{"Phishing", DeterminationPhishing},
		{"maliciousUserActivity", DeterminationMaliciousUserActivity},
		{"LineOfBusinessApplication", DeterminationLineOfBusinessApplication},
		{"MALWARE", DeterminationMalware},
		{"unknown", DeterminationUnknown},
		{"unknownFutureValue", DeterminationUnknown},
		{"somethingNew", DeterminationUnknown},
		{"", DeterminationUnspecified},
	}
	for _, tt := range determinations {
		if got := parseDetermination(tt.raw); got != tt.want {
			t.Errorf("parseDetermination(%q) = %d, want %d", tt.raw, got, tt.want)
		}
	}
	severities := []struct {
		raw  string
		want Severity
	}{
		{"UnSpecified", SeverityUnknown}, {"unknown", SeverityUnknown}, {"unknownFutureValue", SeverityUnknown},
		{"Informational", SeverityInformational}, {"low", SeverityLow}, {"Medium", SeverityMedium}, {"HIGH", SeverityHigh},
		{"critical", SeverityUnknown}, {"", SeverityUnspecified},
	}
	for _, tt := range severities {
		if got := parseSeverity(tt.raw); got != tt.want {
			t.Errorf("parseSeverity(%q) = %d, want %d", tt.raw, got, tt.want)
		}
	}
	statuses := []struct {
		raw  string
		want IncidentStatus
	}{
		{"Active", StatusActive}, {"inProgress", StatusInProgress}, {"InProgress", StatusInProgress}, {"resolved", StatusResolved},
		{"Redirected", StatusRedirected}, {"awaitingAction", StatusAwaitingAction}, {"unknownFutureValue", StatusUnknown},
		{"paused", StatusUnknown}, {"", StatusUnspecified},
	}
	for _, tt := range statuses {
		if got := parseIncidentStatus(tt.raw); got != tt.want {
			t.Errorf("parseIncidentStatus(%q) = %d, want %d", tt.raw, got, tt.want)
		}
	}
	classifications := []struct {
		raw  string
		want Classification
	}{
		{"TruePositive", ClassificationTruePositive}, {"falsePositive", ClassificationFalsePositive},
		{"informationalExpectedActivity", ClassificationInformationalExpectedActivity},
		{"Unknown", ClassificationUnknown}, {"benignPositive", ClassificationUnknown}, {"", ClassificationUnspecified},
	}
	for _, tt := range classifications {
		if got := parseClassification(tt.raw); got != tt.want {
			t.Errorf("parseClassification(%q) = %d, want %d", tt.raw, got, tt.want)
		}
	}
	alertStatuses := []struct {
		raw  string
		want AlertStatus
	}{
		{"new", AlertStatusNew}, {"New", AlertStatusNew}, {"Active", AlertStatusActive}, {"inProgress", AlertStatusInProgress},
		{"Resolved", AlertStatusResolved}, {"unknownFutureValue", AlertStatusUnknown}, {"weird", AlertStatusUnknown}, {"", AlertStatusUnspecified},
	}
	for _, tt := range alertStatuses {
		if got := parseAlertStatus(tt.raw); got != tt.want {
			t.Errorf("parseAlertStatus(%q) = %d, want %d", tt.raw, got, tt.want)
		}
	}
}

// Every spelling sent upstream parses back to the value it came from.
func TestWireNamesRoundTrip(t *testing.T) {
	for _, w := range []wireNames{graphWire, xdrWire} {
		for v, name := range w.status {
			if parseIncidentStatus(name) != v {
				t.Errorf("%s status %q does not parse back", w.backend, name)
			}
		}
		for v, name := range w.severity {
			if parseSeverity(name) != v {
				t.Errorf("%s severity %q does not parse back", w.backend, name)
			}
		}
		for v, name := range w.classification {
			if parseClassification(name) != v {
				t.Errorf("%s classification %q does not parse back", w.backend, name)
			}
		}
		for v, name := range w.determination {
			if parseDetermination(name) != v {
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
		{"graph compromised", func() (string, error) { return graphWire.determinationName(DeterminationCompromisedAccount) }, "compromisedAccount", ""},
		{"xdr compromised", func() (string, error) { return xdrWire.determinationName(DeterminationCompromisedAccount) }, "CompromisedAccount", ""},
		{"graph clean", func() (string, error) { return graphWire.determinationName(DeterminationClean) }, "notMalicious", ""},
		{"xdr clean", func() (string, error) { return xdrWire.determinationName(DeterminationClean) }, "Clean", ""},
		{"graph insufficient", func() (string, error) { return graphWire.determinationName(DeterminationInsufficientData) }, "notEnoughDataToValidate", ""},
		{"xdr insufficient", func() (string, error) { return xdrWire.determinationName(DeterminationInsufficientData) }, "NoEnoughDataToValidate", ""},
		{"graph confirmed", func() (string, error) { return graphWire.determinationName(DeterminationConfirmedActivity) }, "confirmedActivity", ""},
		{"xdr confirmed", func() (string, error) { return xdrWire.determinationName(DeterminationConfirmedActivity) }, "ConfirmedActivity", ""},
		{"graph informational expected", func() (string, error) {
			return graphWire.classificationName(ClassificationInformationalExpectedActivity)
		}, "informationalExpectedActivity", ""},
		{"xdr informational expected", func() (string, error) {
			return xdrWire.classificationName(ClassificationInformationalExpectedActivity)
		}, "InformationalExpectedActivity", ""},
		{"graph in progress", func() (string, error) { return graphWire.statusName(StatusInProgress) }, "inProgress", ""},
		{"xdr in progress", func() (string, error) { return xdrWire.statusName(StatusInProgress) }, "InProgress", ""},
		{"graph not available", func() (string, error) { return graphWire.determinationName(DeterminationNotAvailable) }, "", ReasonUnsupportedByBackend},
		{"xdr awaiting action", func() (string, error) { return xdrWire.statusName(StatusAwaitingAction) }, "", ReasonUnsupportedByBackend},
		{"unknown determination", func() (string, error) { return xdrWire.determinationName(DeterminationUnknown) }, "", ReasonInvalidArgument},
		{"unspecified status", func() (string, error) { return graphWire.statusName(StatusUnspecified) }, "", ReasonInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.got()
			if tt.wantReason != "" {
				mustError(t, err, KindInvalidArgument, tt.wantReason)
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
	for v, name := range graphWire.determination {
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
