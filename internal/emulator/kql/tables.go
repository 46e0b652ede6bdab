package kql

// Table names of the sample database.
const (
	TableDeviceProcessEvents = "DeviceProcessEvents"
	TableDeviceNetworkEvents = "DeviceNetworkEvents"
	TableAlertInfo           = "AlertInfo"
	TableEmailEvents         = "EmailEvents"
	// TableDeviceEvents is the large table (DeviceEventsRows rows),
	// generated lazily.
	TableDeviceEvents = "DeviceEvents"
)

// Schemas follow Microsoft's advanced hunting schema reference (a subset of
// columns, with the same names and types).
var (
	deviceProcessEventsColumns = []Column{
		{"Timestamp", TypeDateTime},
		{"DeviceId", TypeString},
		{"DeviceName", TypeString},
		{"ActionType", TypeString},
		{"FileName", TypeString},
		{"FolderPath", TypeString},
		{"SHA1", TypeString},
		{"SHA256", TypeString},
		{"ProcessId", TypeInt64},
		{"ProcessCommandLine", TypeString},
		{"AccountName", TypeString},
		{"AccountDomain", TypeString},
		{"InitiatingProcessFileName", TypeString},
		{"InitiatingProcessCommandLine", TypeString},
		{"ReportId", TypeInt64},
	}
	deviceNetworkEventsColumns = []Column{
		{"Timestamp", TypeDateTime},
		{"DeviceId", TypeString},
		{"DeviceName", TypeString},
		{"ActionType", TypeString},
		{"RemoteIP", TypeString},
		{"RemotePort", TypeInt32},
		{"RemoteUrl", TypeString},
		{"LocalIP", TypeString},
		{"LocalPort", TypeInt32},
		{"Protocol", TypeString},
		{"InitiatingProcessFileName", TypeString},
		{"ReportId", TypeInt64},
	}
	// AttackTechniques is a string holding a JSON array, as in Defender.
	alertInfoColumns = []Column{
		{"Timestamp", TypeDateTime},
		{"AlertId", TypeString},
		{"Title", TypeString},
		{"Category", TypeString},
		{"Severity", TypeString},
		{"ServiceSource", TypeString},
		{"DetectionSource", TypeString},
		{"AttackTechniques", TypeString},
	}
	// deviceEventsColumns are 10 columns of Microsoft's DeviceEvents
	// schema, of every type but Double.
	deviceEventsColumns = []Column{
		{"Timestamp", TypeDateTime},
		{"DeviceId", TypeString},
		{"DeviceName", TypeString},
		{"ActionType", TypeString},
		{"FolderPath", TypeString},
		{"InitiatingProcessCommandLine", TypeString},
		{"RemotePort", TypeInt32},
		{"ReportId", TypeInt64},
		{"IsInitiatingProcessRemoteSession", TypeBoolean},
		{"AdditionalFields", TypeDynamic},
	}
	emailEventsColumns = []Column{
		{"Timestamp", TypeDateTime},
		{"NetworkMessageId", TypeString},
		{"SenderFromAddress", TypeString},
		{"RecipientEmailAddress", TypeString},
		{"Subject", TypeString},
		{"DeliveryAction", TypeString},
		{"ThreatTypes", TypeString},
		{"EmailDirection", TypeString},
		{"ReportId", TypeString},
	}
)
