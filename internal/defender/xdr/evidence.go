package xdr

import (
	"strings"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
)

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
func xdrEntity(m map[string]any) defender.Evidence {
	raw := upstream.TakeString(m, "entityType")
	e := defender.Evidence{
		Type:               xdrEntityType(raw),
		TypeRaw:            raw,
		FileName:           upstream.TakeString(m, "fileName"),
		FilePath:           upstream.TakeString(m, "filePath"),
		SHA1:               upstream.TakeString(m, "sha1"),
		SHA256:             upstream.TakeString(m, "sha256"),
		ProcessID:          upstream.TakeInt64(m, "processId"),
		ProcessCommandLine: upstream.TakeString(m, "processCommandLine"),
		IPAddress:          upstream.TakeString(m, "ipAddress"),
		URL:                upstream.TakeString(m, "url"),
		AccountName:        upstream.TakeString(m, "accountName"),
		DomainName:         upstream.TakeString(m, "domainName"),
		UserPrincipalName:  upstream.TakeString(m, "userPrincipalName"),
		MailboxAddress:     upstream.TakeString(m, "mailboxAddress"),
		Sender:             upstream.TakeString(m, "sender"),
		Recipient:          upstream.TakeString(m, "recipient"),
		Subject:            upstream.TakeString(m, "subject"),
		RegistryKey:        upstream.TakeString(m, "registryKey"),
		RegistryValue:      upstream.TakeString(m, "registryValue"),
		DeviceID:           upstream.TakeString(m, "deviceId"),
	}
	e.Details = upstream.CompactDetails(m)
	return e
}

func xdrEntityType(raw string) string {
	if t, ok := xdrEntityTypes[strings.ToLower(raw)]; ok {
		return t
	}
	return upstream.LowerFirst(raw)
}
