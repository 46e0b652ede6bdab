package service

import (
	"context"
	"time"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

// precondition is the optional optimistic-concurrency check of an update:
// an etag the caller read, an update time it expects, or both.
//
// Neither upstream API offers a conditional update, so the check reads the
// incident and compares before writing. A change made by someone else
// between that read and the write goes undetected: the window is one
// upstream round trip. The check narrows lost updates; it cannot rule them
// out.
type precondition struct {
	etag       string
	updateTime time.Time
	hasTime    bool
}

func preconditionFromRequest(req *defenderv1.UpdateIncidentRequest) (precondition, error) {
	p := precondition{etag: req.GetIncident().GetEtag()}
	if ts := req.GetExpectUpdateTime(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return p, fieldError("expect_update_time", "must be a valid timestamp")
		}
		p.updateTime, p.hasTime = ts.AsTime(), true
	}
	return p, nil
}

// check reads incident id without its alerts and fails with
// FAILED_PRECONDITION (reason ETAG_MISMATCH) when it no longer matches.
func (p precondition) check(ctx context.Context, b defender.Backend, id string) error {
	if p.etag == "" && !p.hasTime {
		return nil
	}
	current, err := b.GetIncident(ctx, id, false)
	if err != nil {
		return err
	}
	if current == nil {
		return defender.Errorf(defender.KindInternal, defender.ReasonInternal, "the backend returned no incident for %s", id)
	}
	if current.ID != "" {
		id = current.ID // the etags the caller saw were computed from it
	}
	if p.etag != "" && p.etag != incidentEtag(id, current.UpdateTime) {
		return defender.Errorf(defender.KindFailedPrecondition, defender.ReasonEtagMismatch,
			"incident.etag does not match: the incident changed since it was read; read it again and retry")
	}
	if p.hasTime && !p.updateTime.Equal(current.UpdateTime) {
		return defender.Errorf(defender.KindFailedPrecondition, defender.ReasonEtagMismatch,
			"expect_update_time does not match: the incident changed since it was read; read it again and retry")
	}
	return nil
}
