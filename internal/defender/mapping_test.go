package defender

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestParseUpstreamTime(t *testing.T) {
	base := time.Date(2024, 6, 3, 18, 4, 29, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2024-06-03T18:04:29Z", base, true},
		{"2024-06-03T18:04:29", base, true},
		{"2024-06-03T18:04:29.1Z", base.Add(100 * time.Millisecond), true},
		{"2024-06-03T18:04:29.1234567Z", base.Add(123456700), true},
		{"2024-06-03T18:04:29.1234567", base.Add(123456700), true},
		{"2024-06-03T20:04:29.5+02:00", base.Add(500 * time.Millisecond), true},
		{"", time.Time{}, false},
		{"yesterday", time.Time{}, false},
		// Outside the range of a protobuf Timestamp, which no response
		// could carry (found by FuzzUpstreamJSON).
		{"0000-12-31T23:59:59Z", time.Time{}, false},
		{"0001-01-01T00:30:00+01:00", time.Time{}, false},
		{"9999-12-31T23:59:59-01:00", time.Time{}, false},
		{"0001-01-01T00:00:00Z", time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), true},
		{"9999-12-31T23:59:59.9999999Z", time.Date(9999, 12, 31, 23, 59, 59, 999_999_900, time.UTC), true},
	}
	for _, tt := range tests {
		got, ok := parseUpstreamTime(tt.in)
		if ok != tt.ok || !got.Equal(tt.want) || (ok && got.Location() != time.UTC) {
			t.Errorf("parseUpstreamTime(%q) = %v, %v; want %v, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

func TestXDRIncidentMapping(t *testing.T) {
	const body = `{
	  "incidentId": 924565, "redirectIncidentId": null, "incidentName": "Ransomware",
	  "createdTime": "2020-09-06T12:07:54.3716667Z", "lastUpdateTime": "2020-09-06T12:07:54",
	  "assignedTo": null, "severity": "UnSpecified", "status": "Active",
	  "classification": "Unknown", "determination": "NotAvailable", "detectionSource": "MCAS",
	  "tags": ["t"], "comments": [{"comment": "c", "createdBy": "me", "createTime": "2021-01-01T00:00:00Z"}],
	  "alerts": [{
	    "alertId": "da637", "incidentId": 924565, "serviceSource": "MicrosoftDefenderATP",
	    "creationTime": "2020-09-06T12:07:54.3716667Z", "lastUpdatedTime": null, "resolvedTime": null,
	    "firstActivity": "2020-09-04T05:22:59.3378590Z", "lastActivity": "2020-09-04T05:22:59.3378590Z",
	    "title": "T", "status": "InProgress", "severity": "Low", "classification": null, "determination": "CompromisedUser",
	    "mitreTechniques": ["T1059"],
	    "devices": [
	      {"mdatpDeviceId": "abc", "aadDeviceId": null, "deviceDnsName": "pc1", "osBuild": 19041, "riskScore": "High", "firstSeen": "2020-02-06T14:16:01Z"},
	      {"DeviceId": "def", "osBuild": "17763"}
	    ],
	    "entities": [
	      {"entityType": "Ip", "ipAddress": "10.0.0.1", "sha1": null, "fileName": null, "userSid": null},
	      {"entityType": "MailBox", "mailboxAddress": "a@b.c", "mailboxDisplayName": "A", "url": null},
	      {"entityType": "MailMessage", "sender": "s@x", "recipient": "r@x", "subject": "hi", "deliveryAction": "Delivered"},
	      {"entityType": "Process", "processId": 4242, "processCommandLine": "cmd /c", "parentProcessId": 1, "fileName": "cmd.exe"},
	      {"entityType": "User", "accountName": "bob", "domainName": "CONTOSO", "userPrincipalName": "bob@contoso.com", "aadUserId": "u1"},
	      {"entityType": "SecurityGroup", "securityGroupName": "Admins"}
	    ]
	  }]
	}`
	var w xdrIncident
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		t.Fatal(err)
	}
	inc := w.toDomain()
	if inc.ID != "924565" || inc.RedirectIncidentID != "" || inc.DisplayName != "Ransomware" || inc.AssignedTo != "" {
		t.Errorf("ids/names: %+v", inc)
	}
	if inc.Severity != SeverityUnknown || inc.SeverityRaw != "UnSpecified" || inc.Classification != ClassificationUnknown ||
		inc.Determination != DeterminationNotAvailable || inc.DetectionSource != "MCAS" {
		t.Errorf("enums: %+v", inc)
	}
	if !inc.CreateTime.Equal(time.Date(2020, 9, 6, 12, 7, 54, 371666700, time.UTC)) || !inc.UpdateTime.Equal(time.Date(2020, 9, 6, 12, 7, 54, 0, time.UTC)) {
		t.Errorf("times: %v %v", inc.CreateTime, inc.UpdateTime)
	}
	if len(inc.Comments) != 1 || inc.Comments[0].Author != "me" || inc.Comments[0].CreateTime.Year() != 2021 {
		t.Errorf("comments: %+v", inc.Comments)
	}
	a := inc.Alerts[0]
	if a.ID != "da637" || a.Status != AlertStatusInProgress || a.Determination != DeterminationCompromisedAccount ||
		!a.UpdateTime.IsZero() || a.FirstActivityTime.IsZero() {
		t.Errorf("alert: %+v", a)
	}
	wantDevices := []Device{
		{ID: "abc", DNSName: "pc1", OSBuild: "19041", RiskScore: "High", FirstSeenTime: time.Date(2020, 2, 6, 14, 16, 1, 0, time.UTC)},
		{ID: "def", OSBuild: "17763"},
	}
	if !reflect.DeepEqual(a.Devices, wantDevices) {
		t.Errorf("devices = %+v", a.Devices)
	}
	wantEvidence := []Evidence{
		{Type: "ip", TypeRaw: "Ip", IPAddress: "10.0.0.1"},
		{Type: "mailbox", TypeRaw: "MailBox", MailboxAddress: "a@b.c", Details: map[string]any{"mailboxDisplayName": "A"}},
		{Type: "mailMessage", TypeRaw: "MailMessage", Sender: "s@x", Recipient: "r@x", Subject: "hi", Details: map[string]any{"deliveryAction": "Delivered"}},
		{Type: "process", TypeRaw: "Process", ProcessID: 4242, ProcessCommandLine: "cmd /c", FileName: "cmd.exe", Details: map[string]any{"parentProcessId": float64(1)}},
		{Type: "user", TypeRaw: "User", AccountName: "bob", DomainName: "CONTOSO", UserPrincipalName: "bob@contoso.com", Details: map[string]any{"aadUserId": "u1"}},
		{Type: "securityGroup", TypeRaw: "SecurityGroup", Details: map[string]any{"securityGroupName": "Admins"}},
	}
	if !reflect.DeepEqual(a.Evidence, wantEvidence) {
		t.Errorf("evidence =\n %+v\nwant\n %+v", a.Evidence, wantEvidence)
	}
}

func TestXDRRedirectIncidentID(t *testing.T) {
	for body, want := range map[string]string{
		`{"incidentId": 5, "redirectIncidentId": 9}`:    "9",
		`{"incidentId": 5, "redirectIncidentId": null}`: "",
		`{"incidentId": 5}`:                             "",
	} {
		var w xdrIncident
		if err := json.Unmarshal([]byte(body), &w); err != nil {
			t.Fatal(err)
		}
		if got := w.toDomain().RedirectIncidentID; got != want {
			t.Errorf("%s: RedirectIncidentID = %q, want %q", body, got, want)
		}
	}
}

func TestGraphIncidentMapping(t *testing.T) {
	const body = `{
	  "id": "2972395", "tenantId": "t1", "displayName": "Multi-stage", "status": "awaitingAction",
	  "severity": "medium", "classification": "truePositive", "determination": "somethingNew",
	  "assignedTo": "kat@contoso.com", "customTags": ["c"], "systemTags": ["s"], "redirectIncidentId": null,
	  "incidentWebUrl": "https://security.microsoft.com/incidents/2972395", "priorityScore": 87,
	  "createdDateTime": "2021-08-13T08:43:35.5533333Z", "lastUpdateDateTime": "2021-09-30T09:35:45.1133333Z",
	  "comments": [{"comment": "hi", "createdByDisplayName": "Kat", "createdDateTime": "2021-09-30T09:35:45Z"}],
	  "alerts": [{
	    "id": "da1", "status": "new", "severity": "high", "alertWebUrl": "https://x/a",
	    "evidence": [
	      {"@odata.type": "#microsoft.graph.security.fileEvidence", "verdict": "malicious", "detectionStatus": "detected",
	       "fileDetails": {"fileName": "x.exe", "filePath": "c:\\t", "sha1": "s1", "sha256": "s256", "fileSize": 10, "issuer": null}},
	      {"@odata.type": "#microsoft.graph.security.processEvidence", "processId": 316, "processCommandLine": "x.exe -a",
	       "imageFile": {"fileName": "x.exe"}, "userAccount": {"accountName": "bob", "domainName": "C", "userPrincipalName": "bob@c", "azureAdUserId": null},
	       "mdeDeviceId": "m1", "parentProcessId": 2},
	      {"@odata.type": "#microsoft.graph.security.deviceEvidence", "mdeDeviceId": "m2", "azureAdDeviceId": "aad2",
	       "deviceDnsName": "pc2", "osPlatform": "Windows10", "osBuild": 22631, "healthStatus": "active", "riskScore": "high",
	       "rbacGroupName": "g", "firstSeenDateTime": "2020-01-01T00:00:00Z"},
	      {"@odata.type": "#microsoft.graph.security.analyzedMessageEvidence", "subject": "s", "recipientEmailAddress": "r@c",
	       "p1Sender": {"emailAddress": "p1@x"}, "p2Sender": {"emailAddress": "p2@x", "displayName": "P2"}},
	      {"@odata.type": "#microsoft.graph.security.registryValueEvidence", "registryKey": "HKLM\\k", "registryValue": "v", "registryHive": "HKLM"},
	      {"@odata.type": "#microsoft.graph.security.mailboxEvidence", "primaryAddress": "mb@c", "displayName": null}
	    ]
	  }]
	}`
	var w graphIncident
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		t.Fatal(err)
	}
	inc := w.toDomain()
	if inc.ID != "2972395" || inc.TenantID != "t1" || inc.Status != StatusAwaitingAction || inc.Severity != SeverityMedium ||
		inc.Classification != ClassificationTruePositive || inc.Determination != DeterminationUnknown || inc.DeterminationRaw != "somethingNew" ||
		inc.PriorityScore != 87 || inc.WebURL == "" || !reflect.DeepEqual(inc.Tags, []string{"c"}) || !reflect.DeepEqual(inc.SystemTags, []string{"s"}) {
		t.Errorf("incident: %+v", inc)
	}
	if len(inc.Comments) != 1 || inc.Comments[0].Author != "Kat" {
		t.Errorf("comments: %+v", inc.Comments)
	}
	a := inc.Alerts[0]
	if a.Status != AlertStatusNew || a.WebURL != "https://x/a" {
		t.Errorf("alert: %+v", a)
	}
	wantEvidence := []Evidence{
		{Type: "file", TypeRaw: "#microsoft.graph.security.fileEvidence", Verdict: "malicious", FileName: "x.exe", FilePath: `c:\t`,
			SHA1: "s1", SHA256: "s256", Details: map[string]any{"detectionStatus": "detected", "fileDetails": map[string]any{"fileSize": float64(10)}}},
		{Type: "process", TypeRaw: "#microsoft.graph.security.processEvidence", ProcessID: 316, ProcessCommandLine: "x.exe -a",
			FileName: "x.exe", AccountName: "bob", DomainName: "C", UserPrincipalName: "bob@c", DeviceID: "m1",
			Details: map[string]any{"parentProcessId": float64(2)}},
		{Type: "device", TypeRaw: "#microsoft.graph.security.deviceEvidence", DeviceID: "m2", Details: map[string]any{
			"azureAdDeviceId": "aad2", "deviceDnsName": "pc2", "osPlatform": "Windows10", "osBuild": float64(22631),
			"healthStatus": "active", "riskScore": "high", "rbacGroupName": "g", "firstSeenDateTime": "2020-01-01T00:00:00Z"}},
		{Type: "analyzedMessage", TypeRaw: "#microsoft.graph.security.analyzedMessageEvidence", Subject: "s", Recipient: "r@c",
			Sender: "p2@x", Details: map[string]any{"p1Sender": map[string]any{"emailAddress": "p1@x"}, "p2Sender": map[string]any{"displayName": "P2"}}},
		{Type: "registryValue", TypeRaw: "#microsoft.graph.security.registryValueEvidence", RegistryKey: `HKLM\k`, RegistryValue: "v",
			Details: map[string]any{"registryHive": "HKLM"}},
		{Type: "mailbox", TypeRaw: "#microsoft.graph.security.mailboxEvidence", MailboxAddress: "mb@c"},
	}
	if !reflect.DeepEqual(a.Evidence, wantEvidence) {
		for i := range max(len(a.Evidence), len(wantEvidence)) {
			if i >= len(a.Evidence) || i >= len(wantEvidence) || !reflect.DeepEqual(a.Evidence[i], wantEvidence[i]) {
				t.Errorf("evidence[%d] mismatch", i)
			}
		}
		t.Fatalf("evidence =\n %+v\nwant\n %+v", a.Evidence, wantEvidence)
	}
	wantDevice := Device{ID: "m2", AADDeviceID: "aad2", DNSName: "pc2", OSPlatform: "Windows10", OSBuild: "22631",
		HealthStatus: "active", RiskScore: "high", RBACGroupName: "g", FirstSeenTime: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
	if !reflect.DeepEqual(a.Devices, []Device{wantDevice}) {
		t.Errorf("devices = %+v", a.Devices)
	}
}

// Bad upstream values never panic and never fail a whole decode.
func TestLenientWireValues(t *testing.T) {
	const body = `{"id": 12, "createdDateTime": "not a time", "lastUpdateDateTime": 5, "priorityScore": 1e12,
	  "alerts": [{"id": "a", "evidence": [null, {"@odata.type": 7, "processId": "x12"}, {}]}]}`
	var w graphIncident
	if err := json.Unmarshal([]byte(body), &w); err != nil {
		t.Fatal(err)
	}
	inc := w.toDomain()
	if inc.ID != "12" || !inc.CreateTime.IsZero() || !inc.UpdateTime.IsZero() || inc.PriorityScore != 2147483647 {
		t.Errorf("incident = %+v", inc)
	}
	ev := inc.Alerts[0].Evidence
	if len(ev) != 2 || ev[0].Type != "" || ev[0].ProcessID != 0 || ev[0].Details["processId"] != "x12" || ev[0].Details["@odata.type"] != float64(7) || ev[1].Details != nil {
		t.Errorf("evidence = %+v", ev)
	}
}
