package graph

import (
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

func TestFilters(t *testing.T) {
	defendertest.RunFilterCases(t, graphFilter, []defendertest.FilterCase{
		{Name: "graph empty", Filter: defender.IncidentFilter{}, Want: ""},
		{Name: "graph full", Filter: defendertest.FullFilter(),
			Want: "(status eq 'active' or status eq 'inProgress') and severity eq 'high' and assignedTo eq 'o''brien@contoso.com'" +
				" and createdDateTime ge 2024-01-01T00:00:00Z and createdDateTime lt 2024-02-01T00:00:00.5Z" +
				" and lastUpdateDateTime ge 2024-01-01T00:00:00Z"},
		{Name: "graph severities set", Filter: defender.IncidentFilter{Severities: []defender.Severity{defender.SeverityLow, defender.SeverityMedium}},
			Want: "(severity eq 'low' or severity eq 'medium')"},
		{Name: "graph awaiting action", Filter: defender.IncidentFilter{Statuses: []defender.IncidentStatus{defender.StatusAwaitingAction}},
			Want: "status eq 'awaitingAction'"},
		{Name: "graph unspecified status", Filter: defender.IncidentFilter{Statuses: []defender.IncidentStatus{defender.StatusUnspecified}}, WantReason: defender.ReasonInvalidArgument},
		{Name: "graph unknown status", Filter: defender.IncidentFilter{Statuses: []defender.IncidentStatus{defender.StatusUnknown}}, WantReason: defender.ReasonInvalidArgument},
		{Name: "graph unspecified severity", Filter: defender.IncidentFilter{Severities: []defender.Severity{defender.SeverityUnspecified}}, WantReason: defender.ReasonInvalidArgument},
		// Bounds between 100 ns ticks round up (found by FuzzFilterOData):
		// truncated, "ge" would take the tick below from and "lt" would
		// drop the tick below before.
		{Name: "graph sub-tick bounds round up", Filter: defender.IncidentFilter{
			CreatedFrom:   time.Date(2024, 1, 1, 0, 0, 0, 1, time.UTC),
			CreatedBefore: time.Date(2024, 1, 1, 0, 0, 1, 50, time.UTC),
			UpdatedFrom:   time.Date(2024, 1, 1, 0, 0, 0, 999_999_999, time.UTC)},
			Want: "createdDateTime ge 2024-01-01T00:00:00.0000001Z and createdDateTime lt 2024-01-01T00:00:01.0000001Z" +
				" and lastUpdateDateTime ge 2024-01-01T00:00:01Z"},
		{Name: "last timestamps", Filter: defender.IncidentFilter{
			CreatedFrom:   time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
			CreatedBefore: time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
			UpdatedBefore: time.Date(9999, 12, 31, 23, 59, 59, 999_999_900, time.UTC)},
			Want: "createdDateTime ge 9999-12-31T23:59:59.9999999Z and lastUpdateDateTime lt 9999-12-31T23:59:59.9999999Z"},
	})
}
