package defender

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Evidence objects are decoded as maps: the typed fields are taken out of
// them (take* delete what they return) and the non-null rest becomes
// Evidence.Details.

const (
	graphEvidencePrefix = "microsoft.graph.security."
	graphODataType      = "@odata.type"
)

// graphEvidence maps a Graph alert evidence object. Its "@odata.type", e.g.
// "#microsoft.graph.security.fileEvidence", becomes Type "file".
func graphEvidence(m map[string]any) Evidence {
	// A dotted key, so not a takeString path; kept in Details unless a string.
	raw, ok := m[graphODataType].(string)
	if ok {
		delete(m, graphODataType)
	}
	e := Evidence{
		Type:               graphEvidenceType(raw),
		TypeRaw:            raw,
		Verdict:            takeString(m, "verdict"),
		FileName:           takeString(m, "fileDetails.fileName", "imageFile.fileName"),
		FilePath:           takeString(m, "fileDetails.filePath", "imageFile.filePath"),
		SHA1:               takeString(m, "fileDetails.sha1", "imageFile.sha1"),
		SHA256:             takeString(m, "fileDetails.sha256", "imageFile.sha256"),
		ProcessID:          takeInt64(m, "processId"),
		ProcessCommandLine: takeString(m, "processCommandLine"),
		IPAddress:          takeString(m, "ipAddress"),
		URL:                takeString(m, "url"),
		AccountName:        takeString(m, "userAccount.accountName"),
		DomainName:         takeString(m, "userAccount.domainName"),
		UserPrincipalName:  takeString(m, "userAccount.userPrincipalName"),
		MailboxAddress:     takeString(m, "primaryAddress"),
		Sender:             takeString(m, "p2Sender.emailAddress", "p1Sender.emailAddress"),
		Recipient:          takeString(m, "recipientEmailAddress"),
		Subject:            takeString(m, "subject"),
		RegistryKey:        takeString(m, "registryKey"),
		RegistryValue:      takeString(m, "registryValue"),
		DeviceID:           takeString(m, "mdeDeviceId"),
	}
	e.Details = compactDetails(m)
	return e
}

// graphEvidenceType strips the namespace and the Evidence suffix and lowers
// the first letter: "#microsoft.graph.security.ipEvidence" → "ip".
func graphEvidenceType(raw string) string {
	s := strings.TrimPrefix(raw, "#")
	s = strings.TrimPrefix(s, graphEvidencePrefix)
	s = strings.TrimSuffix(s, "Evidence")
	return lowerFirst(s)
}

func graphEvidenceTypeOf(m map[string]any) string {
	raw, _ := m[graphODataType].(string)
	return graphEvidenceType(raw)
}

// graphDevice maps a Graph deviceEvidence to a Device. It reads without
// taking, so call it before graphEvidence.
func graphDevice(m map[string]any) Device {
	return Device{
		ID:            scalarString(m["mdeDeviceId"]),
		AADDeviceID:   scalarString(m["azureAdDeviceId"]),
		DNSName:       scalarString(m["deviceDnsName"]),
		OSPlatform:    scalarString(m["osPlatform"]),
		OSBuild:       scalarString(m["osBuild"]),
		HealthStatus:  scalarString(m["healthStatus"]),
		RiskScore:     scalarString(m["riskScore"]),
		RBACGroupName: scalarString(m["rbacGroupName"]),
		FirstSeenTime: timeOf(m["firstSeenDateTime"]),
	}
}

// xdrEntityTypes are the XDR entityType spellings whose lower-camel form is
// not simply the first letter lowered.
var xdrEntityTypes = map[string]string{
	"ip":            "ip",
	"mailbox":       "mailbox",
	"mailmessage":   "mailMessage",
	"mailcluster":   "mailCluster",
	"securitygroup": "securityGroup",
}

// xdrEntity maps an XDR alert entity. Every XDR entity carries every key,
// null when it does not apply; null keys are dropped.
func xdrEntity(m map[string]any) Evidence {
	raw := takeString(m, "entityType")
	e := Evidence{
		Type:               xdrEntityType(raw),
		TypeRaw:            raw,
		FileName:           takeString(m, "fileName"),
		FilePath:           takeString(m, "filePath"),
		SHA1:               takeString(m, "sha1"),
		SHA256:             takeString(m, "sha256"),
		ProcessID:          takeInt64(m, "processId"),
		ProcessCommandLine: takeString(m, "processCommandLine"),
		IPAddress:          takeString(m, "ipAddress"),
		URL:                takeString(m, "url"),
		AccountName:        takeString(m, "accountName"),
		DomainName:         takeString(m, "domainName"),
		UserPrincipalName:  takeString(m, "userPrincipalName"),
		MailboxAddress:     takeString(m, "mailboxAddress"),
		Sender:             takeString(m, "sender"),
		Recipient:          takeString(m, "recipient"),
		Subject:            takeString(m, "subject"),
		RegistryKey:        takeString(m, "registryKey"),
		RegistryValue:      takeString(m, "registryValue"),
		DeviceID:           takeString(m, "deviceId"),
	}
	e.Details = compactDetails(m)
	return e
}

func xdrEntityType(raw string) string {
	if t, ok := xdrEntityTypes[strings.ToLower(raw)]; ok {
		return t
	}
	return lowerFirst(raw)
}

func lowerFirst(s string) string {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return s
	}
	return string(s[0]+'a'-'A') + s[1:]
}

// takeString returns the first non-empty scalar at one of the dotted paths
// ("fileDetails.fileName") and deletes it from its map.
func takeString(m map[string]any, paths ...string) string {
	for _, p := range paths {
		parent, key := walk(m, p)
		if parent == nil {
			continue
		}
		if s := scalarString(parent[key]); s != "" {
			delete(parent, key)
			return s
		}
	}
	return ""
}

// takeInt64 returns the integer at path and deletes it; a value that is not
// an integer stays (and ends up in Details).
func takeInt64(m map[string]any, path string) int64 {
	parent, key := walk(m, path)
	if parent == nil {
		return 0
	}
	var n int64
	switch v := parent[key].(type) {
	case float64:
		if v != math.Trunc(v) || v < math.MinInt64 || v >= math.MaxInt64 {
			return 0
		}
		n = int64(v)
	case string:
		var err error
		if n, err = strconv.ParseInt(v, 10, 64); err != nil {
			return 0
		}
	default:
		return 0
	}
	delete(parent, key)
	return n
}

// walk returns the map holding the last key of a dotted path, nil when an
// intermediate value is not an object.
func walk(m map[string]any, path string) (map[string]any, string) {
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			return nil, ""
		}
		m = next
	}
	return m, keys[len(keys)-1]
}

// scalarString returns a string as is and a number or bool as text; ""
// for anything else.
func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	}
	return ""
}

// timeOf parses a timestamp held in a decoded map; zero when absent or bad.
func timeOf(v any) time.Time {
	s, _ := v.(string)
	t, _ := parseUpstreamTime(s)
	return t
}

// compactDetails drops null values and objects left empty, recursively;
// nil when nothing is left.
func compactDetails(m map[string]any) map[string]any {
	for k, v := range m {
		switch v := v.(type) {
		case nil:
			delete(m, k)
		case map[string]any:
			if c := compactDetails(v); c == nil {
				delete(m, k)
			}
		}
	}
	if len(m) == 0 {
		return nil
	}
	return m
}
