package service

import (
	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

// The enum tables pair each domain value with its proto value. They are
// spelled out rather than cast, so that a renumbering on either side cannot
// silently change meanings; a domain value missing here becomes UNKNOWN.

var incidentStatuses = map[defender.IncidentStatus]defenderv1.IncidentStatus{
	defender.StatusUnspecified:    defenderv1.IncidentStatus_INCIDENT_STATUS_UNSPECIFIED,
	defender.StatusUnknown:        defenderv1.IncidentStatus_INCIDENT_STATUS_UNKNOWN,
	defender.StatusActive:         defenderv1.IncidentStatus_INCIDENT_STATUS_ACTIVE,
	defender.StatusInProgress:     defenderv1.IncidentStatus_INCIDENT_STATUS_IN_PROGRESS,
	defender.StatusResolved:       defenderv1.IncidentStatus_INCIDENT_STATUS_RESOLVED,
	defender.StatusRedirected:     defenderv1.IncidentStatus_INCIDENT_STATUS_REDIRECTED,
	defender.StatusAwaitingAction: defenderv1.IncidentStatus_INCIDENT_STATUS_AWAITING_ACTION,
}

var severities = map[defender.Severity]defenderv1.Severity{
	defender.SeverityUnspecified:   defenderv1.Severity_SEVERITY_UNSPECIFIED,
	defender.SeverityUnknown:       defenderv1.Severity_SEVERITY_UNKNOWN,
	defender.SeverityInformational: defenderv1.Severity_SEVERITY_INFORMATIONAL,
	defender.SeverityLow:           defenderv1.Severity_SEVERITY_LOW,
	defender.SeverityMedium:        defenderv1.Severity_SEVERITY_MEDIUM,
	defender.SeverityHigh:          defenderv1.Severity_SEVERITY_HIGH,
}

var classifications = map[defender.Classification]defenderv1.Classification{
	defender.ClassificationUnspecified:                   defenderv1.Classification_CLASSIFICATION_UNSPECIFIED,
	defender.ClassificationUnknown:                       defenderv1.Classification_CLASSIFICATION_UNKNOWN,
	defender.ClassificationTruePositive:                  defenderv1.Classification_CLASSIFICATION_TRUE_POSITIVE,
	defender.ClassificationFalsePositive:                 defenderv1.Classification_CLASSIFICATION_FALSE_POSITIVE,
	defender.ClassificationInformationalExpectedActivity: defenderv1.Classification_CLASSIFICATION_INFORMATIONAL_EXPECTED_ACTIVITY,
}

var determinations = map[defender.Determination]defenderv1.Determination{
	defender.DeterminationUnspecified:               defenderv1.Determination_DETERMINATION_UNSPECIFIED,
	defender.DeterminationUnknown:                   defenderv1.Determination_DETERMINATION_UNKNOWN,
	defender.DeterminationNotAvailable:              defenderv1.Determination_DETERMINATION_NOT_AVAILABLE,
	defender.DeterminationAPT:                       defenderv1.Determination_DETERMINATION_APT,
	defender.DeterminationMalware:                   defenderv1.Determination_DETERMINATION_MALWARE,
	defender.DeterminationSecurityPersonnel:         defenderv1.Determination_DETERMINATION_SECURITY_PERSONNEL,
	defender.DeterminationSecurityTesting:           defenderv1.Determination_DETERMINATION_SECURITY_TESTING,
	defender.DeterminationUnwantedSoftware:          defenderv1.Determination_DETERMINATION_UNWANTED_SOFTWARE,
	defender.DeterminationOther:                     defenderv1.Determination_DETERMINATION_OTHER,
	defender.DeterminationMultiStagedAttack:         defenderv1.Determination_DETERMINATION_MULTI_STAGED_ATTACK,
	defender.DeterminationCompromisedAccount:        defenderv1.Determination_DETERMINATION_COMPROMISED_ACCOUNT,
	defender.DeterminationPhishing:                  defenderv1.Determination_DETERMINATION_PHISHING,
	defender.DeterminationMaliciousUserActivity:     defenderv1.Determination_DETERMINATION_MALICIOUS_USER_ACTIVITY,
	defender.DeterminationClean:                     defenderv1.Determination_DETERMINATION_CLEAN,
	defender.DeterminationInsufficientData:          defenderv1.Determination_DETERMINATION_INSUFFICIENT_DATA,
	defender.DeterminationConfirmedActivity:         defenderv1.Determination_DETERMINATION_CONFIRMED_ACTIVITY,
	defender.DeterminationLineOfBusinessApplication: defenderv1.Determination_DETERMINATION_LINE_OF_BUSINESS_APPLICATION,
}

var alertStatuses = map[defender.AlertStatus]defenderv1.AlertStatus{
	defender.AlertStatusUnspecified: defenderv1.AlertStatus_ALERT_STATUS_UNSPECIFIED,
	defender.AlertStatusUnknown:     defenderv1.AlertStatus_ALERT_STATUS_UNKNOWN,
	defender.AlertStatusNew:         defenderv1.AlertStatus_ALERT_STATUS_NEW,
	defender.AlertStatusActive:      defenderv1.AlertStatus_ALERT_STATUS_ACTIVE,
	defender.AlertStatusInProgress:  defenderv1.AlertStatus_ALERT_STATUS_IN_PROGRESS,
	defender.AlertStatusResolved:    defenderv1.AlertStatus_ALERT_STATUS_RESOLVED,
}

// The reverse tables, for filters and updates.
var (
	domainIncidentStatuses = invert(incidentStatuses)
	domainSeverities       = invert(severities)
	domainClassifications  = invert(classifications)
	domainDeterminations   = invert(determinations)
)

func invert[K, V comparable](m map[K]V) map[V]K {
	out := make(map[V]K, len(m))
	for k, v := range m {
		out[v] = k
	}
	return out
}

// toProtoEnum maps a domain value through table; a value missing from it is
// unknown.
func toProtoEnum[D, P comparable](table map[D]P, d D, unknown P) P {
	if p, ok := table[d]; ok {
		return p
	}
	return unknown
}
