package kql

import "fmt"

// Defender service names as they appear in AlertInfo.ServiceSource.
const (
	serviceEndpoint = "Microsoft Defender for Endpoint"
	serviceOffice   = "Microsoft Defender for Office 365"
	serviceIdentity = "Microsoft Defender for Identity"
)

// alertTemplate describes one kind of alert.
type alertTemplate struct {
	title, category, service, detectionSource, techniques string
	severities                                            []string
}

var alertTemplates = []weighted[alertTemplate]{
	{14, alertTemplate{"Suspicious PowerShell command line", "Execution", serviceEndpoint, "EDR",
		`["PowerShell (T1059.001)","Obfuscated Files or Information (T1027)"]`, []string{"Medium", "High"}}},
	{10, alertTemplate{"Suspicious file download via certutil", "CommandAndControl", serviceEndpoint, "EDR",
		`["Ingress Tool Transfer (T1105)","Deobfuscate/Decode Files or Information (T1140)"]`, []string{"Medium"}}},
	{6, alertTemplate{"Possible credential dumping from LSASS memory", "CredentialAccess", serviceEndpoint, "EDR",
		`["LSASS Memory (T1003.001)"]`, []string{"High"}}},
	{4, alertTemplate{"Ransomware behavior detected in the file system", "Ransomware", serviceEndpoint, "EDR",
		`["Inhibit System Recovery (T1490)","Data Encrypted for Impact (T1486)"]`, []string{"High"}}},
	{6, alertTemplate{"'Mimikatz' hacktool was prevented", "Malware", serviceEndpoint, "Antivirus",
		`[]`, []string{"Medium", "High"}}},
	{8, alertTemplate{"Connection to a known malicious IP address", "CommandAndControl", serviceEndpoint, "EDR",
		`["Application Layer Protocol (T1071)"]`, []string{"Medium"}}},
	{8, alertTemplate{"Suspicious reconnaissance activity", "Discovery", serviceEndpoint, "EDR",
		`["Account Discovery (T1087)","System Owner/User Discovery (T1033)"]`, []string{"Low", "Informational"}}},
	{12, alertTemplate{"Email messages containing malicious URL removed after delivery", "InitialAccess", serviceOffice, "Microsoft Defender for Office 365",
		`["Phishing (T1566)"]`, []string{"Informational"}}},
	{6, alertTemplate{"A potentially malicious URL click was detected", "InitialAccess", serviceOffice, "Microsoft Defender for Office 365",
		`["Spearphishing Link (T1566.002)"]`, []string{"High"}}},
	{5, alertTemplate{"Suspected brute-force attack (LDAP)", "CredentialAccess", serviceIdentity, "Microsoft Defender for Identity",
		`["Brute Force (T1110)","Password Guessing (T1110.001)"]`, []string{"Medium"}}},
	{4, alertTemplate{"User and IP address reconnaissance (SMB)", "Discovery", serviceIdentity, "Microsoft Defender for Identity",
		`["Account Discovery (T1087)"]`, []string{"Low", "Medium"}}},
	{3, alertTemplate{"Custom detection: encoded PowerShell from Office", "Execution", serviceEndpoint, "Custom detection",
		`["PowerShell (T1059.001)"]`, []string{"High"}}},
}

func (g *generator) alerts() [][]any {
	n := g.count(220, 420)
	rows := make([][]any, 0, n)
	for range n {
		tmpl := pickWeighted(g, alertTemplates)
		rows = append(rows, []any{
			g.timestamp(), g.alertIDFor(tmpl.service), tmpl.title, tmpl.category,
			pick(g, tmpl.severities), tmpl.service, tmpl.detectionSource, tmpl.techniques,
		})
	}
	return sortByTimestamp(rows)
}

// alertIDFor formats an alert id in the style of the alert's service.
func (g *generator) alertIDFor(service string) string {
	switch service {
	case serviceOffice:
		return "fa" + g.guid()
	case serviceIdentity:
		return "aa" + g.hex(16)
	}
	return fmt.Sprintf("da%018d_%d", 637_000_000_000_000_000+g.rng.Int64N(1_000_000_000_000_000), -g.rng.Int64N(2_000_000_000))
}
