package service

import (
	"testing"

	"google.golang.org/protobuf/reflect/protoreflect"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// Every proto enum value has exactly one domain value, so nothing the
// backends report is lost and every filter or update value has a meaning.
func TestEnumTablesCoverEveryProtoValue(t *testing.T) {
	check := func(t *testing.T, desc protoreflect.EnumDescriptor, mapped map[protoreflect.EnumNumber]int) {
		t.Helper()
		values := desc.Values()
		if len(mapped) != values.Len() {
			t.Errorf("%s: %d values mapped, the proto has %d", desc.FullName(), len(mapped), values.Len())
		}
		for i := range values.Len() {
			if n := mapped[values.Get(i).Number()]; n != 1 {
				t.Errorf("%s: %s is mapped %d times, want once", desc.FullName(), values.Get(i).Name(), n)
			}
		}
	}
	t.Run("IncidentStatus", func(t *testing.T) {
		check(t, defenderv1.IncidentStatus(0).Descriptor(), counts(incidentStatuses))
	})
	t.Run("Severity", func(t *testing.T) { check(t, defenderv1.Severity(0).Descriptor(), counts(severities)) })
	t.Run("Classification", func(t *testing.T) {
		check(t, defenderv1.Classification(0).Descriptor(), counts(classifications))
	})
	t.Run("Determination", func(t *testing.T) {
		check(t, defenderv1.Determination(0).Descriptor(), counts(determinations))
	})
	t.Run("AlertStatus", func(t *testing.T) { check(t, defenderv1.AlertStatus(0).Descriptor(), counts(alertStatuses)) })
}

func counts[D comparable, P interface {
	Number() protoreflect.EnumNumber
}](table map[D]P) map[protoreflect.EnumNumber]int {
	out := map[protoreflect.EnumNumber]int{}
	for _, p := range table {
		out[p.Number()]++
	}
	return out
}
