package xdr

import (
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
)

func TestFilters(t *testing.T) {
	defendertest.RunFilterCases(t, xdrFilter, []defendertest.FilterCase{
		{Name: "xdr full, severity not upstream", Filter: defendertest.FullFilter(),
			Want: "(status eq 'Active' or status eq 'InProgress') and assignedTo eq 'o''brien@contoso.com'" +
				" and createdTime ge 2024-01-01T00:00:00Z and createdTime lt 2024-02-01T00:00:00.5Z" +
				" and lastUpdateTime ge 2024-01-01T00:00:00Z"},
		{Name: "xdr updated before only", Filter: defender.IncidentFilter{UpdatedBefore: defendertest.FilterFrom}, Want: "lastUpdateTime lt 2024-01-01T00:00:00Z"},
		{Name: "xdr sub-tick before rounds up", Filter: defender.IncidentFilter{UpdatedBefore: time.Date(2024, 1, 1, 0, 0, 0, 150, time.UTC)},
			Want: "lastUpdateTime lt 2024-01-01T00:00:00.0000002Z"},
		{Name: "xdr awaiting action unsupported", Filter: defender.IncidentFilter{Statuses: []defender.IncidentStatus{defender.StatusAwaitingAction}}, WantReason: defender.ReasonUnsupportedByBackend},
		{Name: "xdr unspecified severity", Filter: defender.IncidentFilter{Severities: []defender.Severity{defender.SeverityUnspecified}}, WantReason: defender.ReasonInvalidArgument},
	})
}
