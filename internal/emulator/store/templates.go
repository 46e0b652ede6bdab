package store

// alertTemplate is the shape of a sample alert; generation fills in ids,
// times and entities.
type alertTemplate struct {
	title        string
	description  string
	category     string
	service      ServiceSource
	detection    DetectionSource
	mitre        []string
	threatFamily string
	evidence     []EvidenceKind
	onDevice     bool
	recommended  string
}

var alertTemplates = []alertTemplate{
	{
		title: "Suspicious PowerShell command line", category: "Execution",
		description: "A suspicious PowerShell activity was observed on the machine.",
		service:     ServiceDefenderForEndpoint, detection: DetectionEndpointEDR,
		mitre:    []string{"T1059.001"},
		evidence: []EvidenceKind{EvidenceDevice, EvidenceProcess, EvidenceUser},
		onDevice: true, recommended: "Examine the PowerShell command line and the process tree.",
	},
	{
		title: "Ransomware behavior detected in the file system", category: "Ransomware",
		description: "Files were renamed and encrypted in a pattern typical of ransomware.",
		service:     ServiceDefenderForEndpoint, detection: DetectionEndpointEDR,
		mitre: []string{"T1486", "T1490"}, threatFamily: "LockBit",
		evidence: []EvidenceKind{EvidenceDevice, EvidenceFile, EvidenceProcess},
		onDevice: true, recommended: "Isolate the device and restore the affected files.",
	},
	{
		title: "'Wacatac' malware was prevented", category: "Malware",
		description: "Malware was detected and prevented by Microsoft Defender Antivirus.",
		service:     ServiceDefenderForEndpoint, detection: DetectionAntivirus,
		mitre: []string{}, threatFamily: "Wacatac",
		evidence: []EvidenceKind{EvidenceDevice, EvidenceFile},
		onDevice: true, recommended: "Run a full antivirus scan.",
	},
	{
		title: "Mimikatz credential theft tool", category: "CredentialAccess",
		description: "The Mimikatz tool was detected; it is used to dump credentials from memory.",
		service:     ServiceDefenderForEndpoint, detection: DetectionEndpointEDR,
		mitre: []string{"T1003", "T1003.001"}, threatFamily: "Mimikatz",
		evidence: []EvidenceKind{EvidenceDevice, EvidenceProcess, EvidenceFile, EvidenceUser},
		onDevice: true, recommended: "Reset the credentials of the users signed in to the device.",
	},
	{
		title: "Suspicious connection blocked by network protection", category: "CommandAndControl",
		description: "A connection to a known malicious address was blocked.",
		service:     ServiceDefenderForEndpoint, detection: DetectionCustomTI,
		mitre:    []string{"T1071"},
		evidence: []EvidenceKind{EvidenceDevice, EvidenceIP, EvidenceURL},
		onDevice: true, recommended: "Check which process opened the connection.",
	},
	{
		title: "Suspicious scheduled task", category: "Persistence",
		description: "A scheduled task was created that runs a script from a user-writable folder.",
		service:     ServiceDefenderForEndpoint, detection: DetectionEndpointEDR,
		mitre:    []string{"T1053.005"},
		evidence: []EvidenceKind{EvidenceDevice, EvidenceProcess},
		onDevice: true, recommended: "Review and remove the scheduled task.",
	},
	{
		title: "Email messages containing malicious URL removed after delivery", category: "InitialAccess",
		description: "Emails with a malicious URL were delivered and later removed by zero-hour auto purge.",
		service:     ServiceDefenderForOffice, detection: DetectionDefenderForOffice,
		mitre:       []string{"T1566.002"},
		evidence:    []EvidenceKind{EvidenceMailbox, EvidenceURL, EvidenceUser},
		recommended: "Check whether the recipients clicked the URL.",
	},
	{
		title: "A potentially malicious URL click was detected", category: "InitialAccess",
		description: "A user clicked a URL that was later found to be malicious.",
		service:     ServiceDefenderForOffice, detection: DetectionDefenderForOffice,
		mitre:       []string{"T1204.001", "T1566.002"},
		evidence:    []EvidenceKind{EvidenceURL, EvidenceUser, EvidenceIP},
		recommended: "Reset the user's password if credentials were entered.",
	},
	{
		title: "Suspicious inbox forwarding rule", category: "Collection",
		description: "A user created an inbox rule forwarding mail to an external address.",
		service:     ServiceDefenderForCloudApp, detection: DetectionCloudAppSecurity,
		mitre:       []string{"T1114.003"},
		evidence:    []EvidenceKind{EvidenceMailbox, EvidenceUser, EvidenceIP},
		recommended: "Remove the forwarding rule and review the user's sign-ins.",
	},
	{
		title: "Impossible travel activity", category: "InitialAccess",
		description: "Sign-ins from geographically distant locations within a short time.",
		service:     ServiceDefenderForCloudApp, detection: DetectionCloudAppSecurity,
		mitre:       []string{"T1078"},
		evidence:    []EvidenceKind{EvidenceUser, EvidenceIP},
		recommended: "Confirm the sign-ins with the user.",
	},
	{
		title: "Anomalous token", category: "CredentialAccess",
		description: "A token with unusual characteristics was used to access resources.",
		service:     ServiceEntraIDProtection, detection: DetectionEntraIDProtection,
		mitre:       []string{"T1528"},
		evidence:    []EvidenceKind{EvidenceUser, EvidenceIP},
		recommended: "Revoke the user's sessions.",
	},
	{
		title: "Suspected DCSync attack (replication of directory services)", category: "CredentialAccess",
		description: "A non-domain-controller requested directory replication.",
		service:     ServiceDefenderForIdentity, detection: DetectionDefenderForIdentity,
		mitre:    []string{"T1003.006"},
		evidence: []EvidenceKind{EvidenceDevice, EvidenceUser, EvidenceIP},
		onDevice: true, recommended: "Isolate the source computer.",
	},
}

// files, commandLines and urls are entity pools shared by both tenants.
var sampleFiles = []struct{ name, path string }{
	{"mimikatz.exe", `C:\Users\Public\Downloads`},
	{"invoice_2024.docm", `C:\Users\%s\Downloads`},
	{"svch0st.exe", `C:\Windows\Temp`},
	{"update.ps1", `C:\ProgramData\Updater`},
	{"payload.dll", `C:\Users\%s\AppData\Local\Temp`},
	{"readme_decrypt.txt", `C:\Users\%s\Documents`},
}

var sampleCommandLines = []struct{ image, cmd string }{
	{"powershell.exe", `powershell.exe -NoP -W Hidden -Enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQA`},
	{"cmd.exe", `cmd.exe /c "whoami /all & net group ""Domain Admins"" /domain"`},
	{"schtasks.exe", `schtasks.exe /create /tn Updater /tr C:\ProgramData\Updater\update.ps1 /sc minute`},
	{"rundll32.exe", `rundll32.exe C:\Users\Public\payload.dll,DllRegisterServer`},
	{"vssadmin.exe", `vssadmin.exe delete shadows /all /quiet`},
}

var sampleURLs = []string{
	"http://login-micros0ft.example.com/owa/auth",
	"https://sharepoint-docs.example.net/view?id=8812",
	"http://198.51.100.23/gate.php",
	"https://cdn.payload.example.org/a/b/update.bin",
}

var (
	osPlatforms   = []string{"Windows10", "Windows11", "WindowsServer2019", "WindowsServer2022", "Linux", "macOS"}
	healthStates  = []string{"Active", "Active", "Active", "Inactive", "ImpairedCommunication"}
	riskScores    = []string{"None", "Low", "Medium", "High"}
	rbacGroups    = []string{"UnassignedGroup", "Servers", "Workstations", "Executives"}
	systemTagPool = []string{"Defender Experts", "Ransomware", "Multi-stage", "BEC Fraud", "Credential Phish"}
	verdicts      = []string{"unknown", "suspicious", "malicious", "noThreatsFound"}
	remediations  = []string{"none", "remediated", "prevented", "blocked", "notFound"}
	investigation = []string{
		"Running", "SuccessfullyRemediated", "Benign", "PartiallyRemediated", "PendingApproval",
		"TerminatedBySystem", "Failed", "Queued",
	}
	commentTexts = []string{
		"Investigating, device isolated.",
		"User confirmed they did not sign in from this location.",
		"Known pen-test activity, see ticket SEC-4411.",
		"Escalated to tier 2.",
		"Password reset done; sessions revoked.",
		"Benign: IT deployment script.",
	}
)
