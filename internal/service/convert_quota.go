package service

import (
	"math"

	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/quota"
)

var quotaFamilies = map[quota.Family]defenderv1.QuotaFamily{
	quota.FamilyIncidentRead:  defenderv1.QuotaFamily_QUOTA_FAMILY_INCIDENT_READ,
	quota.FamilyIncidentGet:   defenderv1.QuotaFamily_QUOTA_FAMILY_INCIDENT_GET,
	quota.FamilyIncidentWrite: defenderv1.QuotaFamily_QUOTA_FAMILY_INCIDENT_WRITE,
	quota.FamilyHunting:       defenderv1.QuotaFamily_QUOTA_FAMILY_HUNTING,
	quota.FamilyWholeAPI:      defenderv1.QuotaFamily_QUOTA_FAMILY_WHOLE_API,
	quota.FamilyAlertRead:     defenderv1.QuotaFamily_QUOTA_FAMILY_ALERT_READ,
	quota.FamilyAlertGet:      defenderv1.QuotaFamily_QUOTA_FAMILY_ALERT_GET,
	quota.FamilyAlertWrite:    defenderv1.QuotaFamily_QUOTA_FAMILY_ALERT_WRITE,
}

// budgetsToProto converts budget states in their order. shared is true when
// there is at least one and every one is shared by the replicas; unknown
// families are UNSPECIFIED.
func budgetsToProto(states []quota.BudgetState) (shared bool, budgets []*defenderv1.QuotaBudget) {
	shared = len(states) > 0
	for _, b := range states {
		shared = shared && b.Shared
		pb := &defenderv1.QuotaBudget{
			Family:     quotaFamilies[b.Family],
			Window:     durationpb.New(b.Window),
			Limit:      clampInt32(b.Limit),
			Remaining:  clampInt32(b.Remaining),
			ResetAfter: durationpb.New(max(b.ResetAfter, 0)),
			Queued:     clampInt32(b.Queued),
		}
		if !b.HeldUntil.IsZero() {
			pb.HeldUntil = timestamppb.New(b.HeldUntil)
		}
		budgets = append(budgets, pb)
	}
	return shared, budgets
}

// clampInt32 bounds n to [0, MaxInt32].
func clampInt32(n int) int32 {
	return int32(min(max(n, 0), math.MaxInt32))
}
