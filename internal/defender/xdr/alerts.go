package xdr

import (
	"context"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
)

// The XDR API has no alerts endpoint (reference §4: only /api/incidents,
// whose incidents embed their alerts, and hunting). An alert is not
// addressable without its incident, and XDR's PATCH changes incidents
// only, so every alert method fails with UNSUPPORTED_BY_BACKEND; the
// alerts stay readable inside the incidents (GetIncident, full view).
// docs/design.md "AlertService" says why.

// ListAlerts is not supported by the XDR backend.
func (x *XDR) ListAlerts(context.Context, defender.AlertListQuery) (*defender.AlertPage, error) {
	return nil, upstream.Unsupported(defender.BackendXDR, "listing alerts")
}

// GetAlert is not supported by the XDR backend.
func (x *XDR) GetAlert(context.Context, string) (*defender.Alert, error) {
	return nil, upstream.Unsupported(defender.BackendXDR, "getting an alert")
}

// UpdateAlert is not supported by the XDR backend.
func (x *XDR) UpdateAlert(context.Context, string, defender.AlertUpdate) (*defender.Alert, error) {
	return nil, upstream.Unsupported(defender.BackendXDR, "updating an alert")
}
