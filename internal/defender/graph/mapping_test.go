package graph

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

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
	if inc.ID != "2972395" || inc.TenantID != "t1" || inc.Status != defender.StatusAwaitingAction || inc.Severity != defender.SeverityMedium ||
		inc.Classification != defender.ClassificationTruePositive || inc.Determination != defender.DeterminationUnknown || inc.DeterminationRaw != "somethingNew" ||
		inc.PriorityScore != 87 || inc.WebURL == "" || !reflect.DeepEqual(inc.Tags, []string{"c"}) || !reflect.DeepEqual(inc.SystemTags, []string{"s"}) {
		t.Errorf("incident: %+v", inc)
	}
	if len(inc.Comments) != 1 || inc.Comments[0].Author != "Kat" {
		t.Errorf("comments: %+v", inc.Comments)
	}
	a := inc.Alerts[0]
	if a.Status != defender.AlertStatusNew || a.WebURL != "https://x/a" {
		t.Errorf("alert: %+v", a)
	}
	wantEvidence := []defender.Evidence{
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
	wantDevice := defender.Device{ID: "m2", AADDeviceID: "aad2", DNSName: "pc2", OSPlatform: "Windows10", OSBuild: "22631",
		HealthStatus: "active", RiskScore: "high", RBACGroupName: "g", FirstSeenTime: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)}
	if !reflect.DeepEqual(a.Devices, []defender.Device{wantDevice}) {
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
