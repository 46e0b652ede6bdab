package graphapi

import (
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

const evidenceTypePrefix = "#microsoft.graph.security."

// toEvidenceJSON renders one evidence item; the "@odata.type" names the
// derived type and decides which properties follow (reference §7.4, G7).
func toEvidenceJSON(e store.Evidence) map[string]any {
	m := map[string]any{
		"createdDateTime":          formatTime(e.CreatedTime),
		"verdict":                  e.Verdict,
		"remediationStatus":        e.RemediationStatus,
		"remediationStatusDetails": nil,
		"roles":                    []string{},
		"detailedRoles":            []string{},
		"tags":                     []string{},
	}
	switch e.Kind {
	case store.EvidenceDevice:
		m["@odata.type"] = evidenceTypePrefix + "deviceEvidence"
		d := e.Device
		m["mdeDeviceId"] = d.MDEDeviceID
		m["azureAdDeviceId"] = optional(d.AADDeviceID)
		m["deviceDnsName"] = d.DNSName
		m["osPlatform"] = d.OSPlatform
		m["osBuild"] = d.OSBuild
		m["version"] = d.OSVersion
		m["healthStatus"] = lowerFirst(d.HealthStatus)
		m["riskScore"] = lowerFirst(d.RiskScore)
		m["rbacGroupId"] = d.RBACGroupID
		m["rbacGroupName"] = d.RBACGroupName
		m["firstSeenDateTime"] = formatTime(d.FirstSeen)
		m["onboardingStatus"] = "onboarded"
		m["loggedOnUsers"] = []any{}
	case store.EvidenceFile:
		m["@odata.type"] = evidenceTypePrefix + "fileEvidence"
		m["fileDetails"] = fileDetailsJSON(*e.File)
		m["detectionStatus"] = "detected"
		m["mdeDeviceId"] = nil
	case store.EvidenceProcess:
		m["@odata.type"] = evidenceTypePrefix + "processEvidence"
		p := e.Process
		m["processId"] = p.ID
		m["parentProcessId"] = p.ParentID
		m["processCommandLine"] = p.CommandLine
		m["processCreationDateTime"] = formatTime(p.CreatedTime)
		m["parentProcessCreationDateTime"] = formatTime(p.ParentCreatedTime)
		m["imageFile"] = fileDetailsJSON(p.Image)
		m["parentProcessImageFile"] = nil
		m["userAccount"] = userAccountJSON(p.Account)
		m["detectionStatus"] = "detected"
		m["mdeDeviceId"] = nil
	case store.EvidenceUser:
		m["@odata.type"] = evidenceTypePrefix + "userEvidence"
		m["userAccount"] = userAccountJSON(*e.User)
	case store.EvidenceIP:
		m["@odata.type"] = evidenceTypePrefix + "ipEvidence"
		m["ipAddress"] = e.IPAddress
		m["countryLetterCode"] = nil
	case store.EvidenceURL:
		m["@odata.type"] = evidenceTypePrefix + "urlEvidence"
		m["url"] = e.URL
	case store.EvidenceMailbox:
		m["@odata.type"] = evidenceTypePrefix + "mailboxEvidence"
		m["primaryAddress"] = e.Mailbox.PrimaryAddress
		m["displayName"] = e.Mailbox.DisplayName
		m["userAccount"] = map[string]any{"userPrincipalName": e.Mailbox.UserPrincipalName}
	}
	return m
}

func fileDetailsJSON(f store.FileDetails) map[string]any {
	return map[string]any{
		"fileName": f.Name,
		"filePath": f.Path,
		"sha1":     f.SHA1,
		"sha256":   f.SHA256,
		"fileSize": f.Size,
	}
}

func userAccountJSON(u store.UserAccount) map[string]any {
	return map[string]any{
		"accountName":       u.AccountName,
		"domainName":        u.DomainName,
		"userPrincipalName": u.UserPrincipalName,
		"userSid":           u.UserSID,
		"azureAdUserId":     u.AADUserID,
		"displayName":       u.DisplayName,
	}
}

func lowerFirst(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]|0x20) + s[1:]
}
