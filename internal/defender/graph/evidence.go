package graph

import (
	"strings"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
)

const (
	graphEvidencePrefix = "microsoft.graph.security."
	graphODataType      = "@odata.type"
)

// graphEvidence maps a Graph alert evidence object. Its "@odata.type", e.g.
// "#microsoft.graph.security.fileEvidence", becomes Type "file".
func graphEvidence(m map[string]any) defender.Evidence {
	// A dotted key, so not a TakeString path; kept in Details unless a string.
	raw, ok := m[graphODataType].(string)
	if ok {
		delete(m, graphODataType)
	}
	e := defender.Evidence{
		Type:               graphEvidenceType(raw),
		TypeRaw:            raw,
		Verdict:            upstream.TakeString(m, "verdict"),
		FileName:           upstream.TakeString(m, "fileDetails.fileName", "imageFile.fileName"),
		FilePath:           upstream.TakeString(m, "fileDetails.filePath", "imageFile.filePath"),
		SHA1:               upstream.TakeString(m, "fileDetails.sha1", "imageFile.sha1"),
		SHA256:             upstream.TakeString(m, "fileDetails.sha256", "imageFile.sha256"),
		ProcessID:          upstream.TakeInt64(m, "processId"),
		ProcessCommandLine: upstream.TakeString(m, "processCommandLine"),
		IPAddress:          upstream.TakeString(m, "ipAddress"),
		URL:                upstream.TakeString(m, "url"),
		AccountName:        upstream.TakeString(m, "userAccount.accountName"),
		DomainName:         upstream.TakeString(m, "userAccount.domainName"),
		UserPrincipalName:  upstream.TakeString(m, "userAccount.userPrincipalName"),
		MailboxAddress:     upstream.TakeString(m, "primaryAddress"),
		Sender:             upstream.TakeString(m, "p2Sender.emailAddress", "p1Sender.emailAddress"),
		Recipient:          upstream.TakeString(m, "recipientEmailAddress"),
		Subject:            upstream.TakeString(m, "subject"),
		RegistryKey:        upstream.TakeString(m, "registryKey"),
		RegistryValue:      upstream.TakeString(m, "registryValue"),
		DeviceID:           upstream.TakeString(m, "mdeDeviceId"),
	}
	e.Details = upstream.CompactDetails(m)
	return e
}

// graphEvidenceType strips the namespace and the Evidence suffix and lowers
// the first letter: "#microsoft.graph.security.ipEvidence" → "ip".
func graphEvidenceType(raw string) string {
	s := strings.TrimPrefix(raw, "#")
	s = strings.TrimPrefix(s, graphEvidencePrefix)
	s = strings.TrimSuffix(s, "Evidence")
	return upstream.LowerFirst(s)
}

func graphEvidenceTypeOf(m map[string]any) string {
	raw, _ := m[graphODataType].(string)
	return graphEvidenceType(raw)
}

// graphDevice maps a Graph deviceEvidence to a Device. It reads without
// taking, so call it before graphEvidence.
func graphDevice(m map[string]any) defender.Device {
	return defender.Device{
		ID:            upstream.ScalarString(m["mdeDeviceId"]),
		AADDeviceID:   upstream.ScalarString(m["azureAdDeviceId"]),
		DNSName:       upstream.ScalarString(m["deviceDnsName"]),
		OSPlatform:    upstream.ScalarString(m["osPlatform"]),
		OSBuild:       upstream.ScalarString(m["osBuild"]),
		HealthStatus:  upstream.ScalarString(m["healthStatus"]),
		RiskScore:     upstream.ScalarString(m["riskScore"]),
		RBACGroupName: upstream.ScalarString(m["rbacGroupName"]),
		FirstSeenTime: upstream.TimeOf(m["firstSeenDateTime"]),
	}
}
