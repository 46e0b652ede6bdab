package graphapi

import "github.com/defender-gateway/gateway/internal/emulator/store"

// graphServiceSources are the members of microsoft.graph.security.serviceSource
// (reference §7.4), accepted in $filter; the sample data uses a few.
var graphServiceSources = []store.ServiceSource{
	"unknown", "microsoftDefenderForEndpoint", "microsoftDefenderForIdentity",
	"microsoftDefenderForCloudApps", "microsoftDefenderForOffice365", "microsoft365Defender",
	"azureAdIdentityProtection", "microsoftAppGovernance", "dataLossPrevention",
	unknownFutureValue, "microsoftDefenderForCloud",
}

// graphDetectionSources are the members of
// microsoft.graph.security.detectionSource in the service metadata (the
// reference names the property, not its members; these are the Graph SDKs'
// members), accepted in $filter.
var graphDetectionSources = []store.DetectionSource{
	"unknown", "microsoftDefenderForEndpoint", "antivirus", "smartScreen", "customTi",
	"microsoftDefenderForOffice365", "automatedInvestigation", "microsoftThreatExperts",
	"customDetection", "microsoftDefenderForIdentity", "cloudAppSecurity", "microsoft365Defender",
	"azureAdIdentityProtection", "manual", "microsoftDataLossPrevention", "appGovernancePolicy",
	"appGovernanceDetection", unknownFutureValue, "microsoftDefenderForCloud",
	"microsoftDefenderForIoT", "microsoftDefenderForServers", "microsoftDefenderForStorage",
	"microsoftDefenderForDNS", "microsoftDefenderForDatabases", "microsoftDefenderForContainers",
	"microsoftDefenderForNetwork", "microsoftDefenderForAppService", "microsoftDefenderForKeyVault",
	"microsoftDefenderForResourceManager", "microsoftDefenderForApiManagement", "nrtAlerts",
	"scheduledAlerts", "microsoftDefenderThreatIntelligenceAnalytics", "builtInMl",
	"microsoftInsiderRiskManagement", "microsoftSentinel",
}

func parseAlertStatus(s string) (store.AlertStatus, error) {
	return parseEnum("alert status (use new, inProgress or resolved)", s, store.AlertStatuses)
}

// parseFilterAlertStatus also accepts unknownFutureValue, which matches
// nothing.
func parseFilterAlertStatus(s string) (store.AlertStatus, error) {
	return parseEnum("alert status", s, append(store.AlertStatuses[:len(store.AlertStatuses):len(store.AlertStatuses)], unknownFutureValue))
}

func parseServiceSource(s string) (store.ServiceSource, error) {
	return parseEnum("service source", s, graphServiceSources)
}

func parseDetectionSource(s string) (store.DetectionSource, error) {
	return parseEnum("detection source", s, graphDetectionSources)
}
