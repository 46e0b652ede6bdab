package upstream

import (
	"context"
	"strconv"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
)

// UpdateFields are the enum fields of an IncidentUpdate in one backend's
// spelling; nil leaves a field unchanged.
type UpdateFields struct {
	Status, Classification, Determination *string
	Tags                                  *[]string
}

// UpdateFields converts u's enums before any call, so a value the backend
// cannot take fails without side effects.
func (w WireNames) UpdateFields(u defender.IncidentUpdate) (UpdateFields, error) {
	f, err := w.verdictFields(optionalName(u.Status, w.statusName), u.Classification, u.Determination)
	if err != nil {
		return f, err
	}
	if u.Tags != nil {
		tags := *u.Tags
		if tags == nil {
			tags = []string{} // replace with none, not null
		}
		f.Tags = &tags
	}
	return f, nil
}

// verdictFields converts the status (already named by its own enum's
// converter), classification and determination an incident and an alert
// update share.
func (w WireNames) verdictFields(status func() (*string, error), c *defender.Classification, d *defender.Determination) (UpdateFields, error) {
	var f UpdateFields
	var err error
	if f.Status, err = status(); err != nil {
		return UpdateFields{}, err
	}
	if f.Classification, err = optionalName(c, w.classificationName)(); err != nil {
		return UpdateFields{}, err
	}
	if f.Determination, err = optionalName(d, w.determinationName)(); err != nil {
		return UpdateFields{}, err
	}
	return f, nil
}

// optionalName converts *v with name when v is set; nil stays nil.
func optionalName[T any](v *T, name func(T) (string, error)) func() (*string, error) {
	return func() (*string, error) {
		if v == nil {
			return nil, nil
		}
		s, err := name(*v)
		if err != nil {
			return nil, err
		}
		return &s, nil
	}
}

// ValidateIncidentID accepts the ids both backends use: positive 64-bit
// integers in decimal, without leading zeros (the service layer checks the
// same; this is the clients' own guard).
func ValidateIncidentID(id string) error {
	invalid := defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "the incident id must be a positive 64-bit integer without leading zeros")
	if id == "" || id[0] == '0' {
		return invalid
	}
	for i := 0; i < len(id); i++ {
		if id[i] < '0' || id[i] > '9' {
			return invalid
		}
	}
	if n, err := strconv.ParseInt(id, 10, 64); err != nil || n <= 0 {
		return invalid
	}
	return nil
}

// IncidentResult checks an upstream incident and drops alerts the caller
// did not ask for.
func IncidentResult(inc defender.Incident, withAlerts bool) (*defender.Incident, error) {
	if inc.ID == "" {
		return nil, defender.Errorf(defender.KindInternal, defender.ReasonInternal, "the upstream sent an incident without an id")
	}
	if !withAlerts {
		inc.Alerts = nil
	}
	return &inc, nil
}

// commentSkew is how much older than the call a comment may look (clock
// differences with the upstream) and still be the call's own.
const commentSkew = 2 * time.Minute

// IncidentReader reads one incident (both clients).
type IncidentReader interface {
	GetIncident(ctx context.Context, id string, withAlerts bool) (*defender.Incident, error)
}

// CommentVerifier returns the verify of a comment request: after an
// attempt whose outcome is unknown (a reset or timeout after sending, a
// 5xx), it reads the incident and reports the comment applied when one
// with the same text was created since the call started (less
// commentSkew, or without a time). The upstream does not tell which
// identity wrote a comment reliably, so the text and the time decide.
func CommentVerifier(r IncidentReader, id, text string, started time.Time) func(context.Context) (bool, error) {
	return func(ctx context.Context) (bool, error) {
		inc, err := r.GetIncident(ctx, id, false)
		if err != nil {
			return false, err
		}
		return hasComment(inc.Comments, text, started.Add(-commentSkew)), nil
	}
}

// hasComment reports a comment of text created at or after since (or
// without a creation time).
func hasComment(comments []defender.Comment, text string, since time.Time) bool {
	for _, c := range comments {
		if c.Text == text && (c.CreateTime.IsZero() || !c.CreateTime.Before(since)) {
			return true
		}
	}
	return false
}
