package upstream

import (
	"context"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// graphAlertStatus is the Graph alerts_v2 spelling of the alert statuses a
// filter or an update may name (reference §7.4); XDR has no alerts
// endpoint, so XDRWire has none.
var graphAlertStatus = map[defender.AlertStatus]string{
	defender.AlertStatusNew:        "new",
	defender.AlertStatusInProgress: "inProgress",
	defender.AlertStatusResolved:   "resolved",
}

func (w WireNames) alertStatusName(v defender.AlertStatus) (string, error) {
	names := graphAlertStatus
	if w.backend != defender.BackendGraph {
		names = nil
	}
	return wireName(names, v, defender.AlertStatusUnspecified, defender.AlertStatusUnknown, "status", w.backend)
}

// AlertStatusNames converts an alert filter's status set.
func (w WireNames) AlertStatusNames(vs []defender.AlertStatus) ([]string, error) {
	return convertAll(vs, w.alertStatusName)
}

// AlertUpdateFields converts u's enums before any call, as UpdateFields.
func (w WireNames) AlertUpdateFields(u defender.AlertUpdate) (UpdateFields, error) {
	return w.verdictFields(optionalName(u.Status, w.alertStatusName), u.Classification, u.Determination)
}

// maxAlertIDLen bounds an alert id (the service checks the same).
const maxAlertIDLen = 128

// ValidateAlertID accepts the alert ids Graph uses (e.g.
// da637551227677560813_-961444813, or a GUID): 1 to 128 letters, digits,
// '_' and '-', starting with a letter or digit. Nothing in it can change
// the path of the request.
func ValidateAlertID(id string) error {
	invalid := defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument,
		"the alert id must be 1 to 128 letters, digits, '_' or '-', starting with a letter or digit")
	if id == "" || len(id) > maxAlertIDLen || id[0] == '_' || id[0] == '-' {
		return invalid
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '_' || c == '-') {
			return invalid
		}
	}
	return nil
}

// AlertResult checks an upstream alert.
func AlertResult(a defender.Alert) (*defender.Alert, error) {
	if a.ID == "" {
		return nil, defender.Errorf(defender.KindInternal, defender.ReasonInternal, "the upstream sent an alert without an id")
	}
	return &a, nil
}

// AlertReader reads one alert.
type AlertReader interface {
	GetAlert(ctx context.Context, id string) (*defender.Alert, error)
}

// AlertCommentVerifier is CommentVerifier for an alert's comments call: it
// reads the alert and reports the comment applied when one with the same
// text was created since the call started (less commentSkew).
func AlertCommentVerifier(r AlertReader, id, text string, started time.Time) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		a, err := r.GetAlert(ctx, id)
		if err != nil {
			return false, err
		}
		return hasComment(a.Comments, text, started.Add(-commentSkew)), nil
	}
}

// Unsupported is the error of an operation the backend does not offer.
func Unsupported(backend defender.BackendKind, op string) *defender.Error {
	return defender.Errorf(defender.KindUnimplemented, defender.ReasonUnsupportedByBackend,
		"%s is not supported by the %s backend", op, backend)
}
