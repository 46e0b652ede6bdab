package xdr

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

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
	if inc.Severity != defender.SeverityUnknown || inc.SeverityRaw != "UnSpecified" || inc.Classification != defender.ClassificationUnknown ||
		inc.Determination != defender.DeterminationNotAvailable || inc.DetectionSource != "MCAS" {
		t.Errorf("enums: %+v", inc)
	}
	if !inc.CreateTime.Equal(time.Date(2020, 9, 6, 12, 7, 54, 371666700, time.UTC)) || !inc.UpdateTime.Equal(time.Date(2020, 9, 6, 12, 7, 54, 0, time.UTC)) {
		t.Errorf("times: %v %v", inc.CreateTime, inc.UpdateTime)
	}
	if len(inc.Comments) != 1 || inc.Comments[0].Author != "me" || inc.Comments[0].CreateTime.Year() != 2021 {
		t.Errorf("comments: %+v", inc.Comments)
	}
	a := inc.Alerts[0]
	if a.ID != "da637" || a.Status != defender.AlertStatusInProgress || a.Determination != defender.DeterminationCompromisedAccount ||
		!a.UpdateTime.IsZero() || a.FirstActivityTime.IsZero() {
		t.Errorf("alert: %+v", a)
	}
	wantDevices := []defender.Device{
		{ID: "abc", DNSName: "pc1", OSBuild: "19041", RiskScore: "High", FirstSeenTime: time.Date(2020, 2, 6, 14, 16, 1, 0, time.UTC)},
		{ID: "def", OSBuild: "17763"},
	}
	if !reflect.DeepEqual(a.Devices, wantDevices) {
		t.Errorf("devices = %+v", a.Devices)
	}
	wantEvidence := []defender.Evidence{
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
