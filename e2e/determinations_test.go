package e2e

import (
	"context"
	"testing"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// determinationPairs are the classification/determination pairs an update
// may set (the comment on enum Determination in incident.proto; the
// service's allowedDeterminations): 14 in all.
var determinationPairs = map[defenderv1.Classification][]defenderv1.Determination{
	defenderv1.Classification_CLASSIFICATION_TRUE_POSITIVE: {
		defenderv1.Determination_DETERMINATION_MULTI_STAGED_ATTACK,
		defenderv1.Determination_DETERMINATION_MALICIOUS_USER_ACTIVITY,
		defenderv1.Determination_DETERMINATION_COMPROMISED_ACCOUNT,
		defenderv1.Determination_DETERMINATION_MALWARE,
		defenderv1.Determination_DETERMINATION_PHISHING,
		defenderv1.Determination_DETERMINATION_UNWANTED_SOFTWARE,
		defenderv1.Determination_DETERMINATION_OTHER,
	},
	defenderv1.Classification_CLASSIFICATION_INFORMATIONAL_EXPECTED_ACTIVITY: {
		defenderv1.Determination_DETERMINATION_SECURITY_TESTING,
		defenderv1.Determination_DETERMINATION_LINE_OF_BUSINESS_APPLICATION,
		defenderv1.Determination_DETERMINATION_CONFIRMED_ACTIVITY,
		defenderv1.Determination_DETERMINATION_OTHER,
	},
	defenderv1.Classification_CLASSIFICATION_FALSE_POSITIVE: {
		defenderv1.Determination_DETERMINATION_CLEAN,
		defenderv1.Determination_DETERMINATION_INSUFFICIENT_DATA,
		defenderv1.Determination_DETERMINATION_OTHER,
	},
}

// TestEveryDeterminationWithItsClassification sets every allowed pair on
// both backends over both transports and reads it back. The emulator
// rejects what the real upstream rejects (on Graph, a determination that is
// not an alertDetermination member, such as compromisedUser or clean), so a
// wrong spelling fails here.
func TestEveryDeterminationWithItsClassification(t *testing.T) {
	pairs := 0
	for _, ds := range determinationPairs {
		pairs += len(ds)
	}
	if pairs != 14 {
		t.Fatalf("%d pairs, want the 14 of incident.proto", pairs)
	}
	forEach(t, func(t *testing.T, g *gateway, c client) {
		// Each transport has an incident of its own (the newest two);
		// forEach gives each backend a fresh emulator, so no other case sees
		// these changes.
		ctx := context.Background()
		newest, err := c.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: home, PageSize: 2})
		mustOK(t, err)
		if len(newest.GetIncidents()) != 2 {
			t.Fatalf("%d incidents, want 2", len(newest.GetIncidents()))
		}
		name := newest.GetIncidents()[0].GetName()
		if c.name() == "rest" {
			name = newest.GetIncidents()[1].GetName()
		}
		for classification, ds := range determinationPairs {
			for _, d := range ds {
				t.Run(classification.String()+"/"+d.String(), func(t *testing.T) {
					got, err := c.UpdateIncident(ctx, &defenderv1.UpdateIncidentRequest{
						Incident:   &defenderv1.Incident{Name: name, Classification: classification, Determination: d},
						UpdateMask: &fieldmaskpb.FieldMask{Paths: []string{"classification", "determination"}},
					})
					mustOK(t, err)
					if got.GetClassification() != classification || got.GetDetermination() != d {
						t.Errorf("update answered %v/%v (raw %q), want %v/%v", got.GetClassification(), got.GetDetermination(),
							got.GetDeterminationRaw(), classification, d)
					}
					again, err := c.GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: name})
					mustOK(t, err)
					if again.GetClassification() != classification || again.GetDetermination() != d {
						t.Errorf("read back %v/%v (raw %q), want %v/%v", again.GetClassification(), again.GetDetermination(),
							again.GetDeterminationRaw(), classification, d)
					}
				})
			}
		}
	})
}
