package defender

import (
	"context"
	"strconv"
	"time"
)

// updateFields are the enum fields of an IncidentUpdate in one backend's
// spelling; nil leaves a field unchanged.
type updateFields struct {
	status, classification, determination *string
	tags                                  *[]string
}

// updateFields converts u's enums before any call, so a value the backend
// cannot take fails without side effects.
func (w wireNames) updateFields(u IncidentUpdate) (updateFields, error) {
	var f updateFields
	if u.Status != nil {
		s, err := w.statusName(*u.Status)
		if err != nil {
			return f, err
		}
		f.status = &s
	}
	if u.Classification != nil {
		s, err := w.classificationName(*u.Classification)
		if err != nil {
			return f, err
		}
		f.classification = &s
	}
	if u.Determination != nil {
		s, err := w.determinationName(*u.Determination)
		if err != nil {
			return f, err
		}
		f.determination = &s
	}
	if u.Tags != nil {
		tags := *u.Tags
		if tags == nil {
			tags = []string{} // replace with none, not null
		}
		f.tags = &tags
	}
	return f, nil
}

// validateIncidentID accepts the ids both backends use: positive 64-bit
// integers in decimal, without leading zeros (the service layer checks the
// same; this is the clients' own guard).
func validateIncidentID(id string) error {
	invalid := Errorf(KindInvalidArgument, ReasonInvalidArgument, "the incident id must be a positive 64-bit integer without leading zeros")
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

// incidentResult checks an upstream incident and drops alerts the caller
// did not ask for.
func incidentResult(inc Incident, withAlerts bool) (*Incident, error) {
	if inc.ID == "" {
		return nil, Errorf(KindInternal, ReasonInternal, "the upstream sent an incident without an id")
	}
	if !withAlerts {
		inc.Alerts = nil
	}
	return &inc, nil
}

// commentSkew is how much older than the call a comment may look (clock
// differences with the upstream) and still be the call's own.
const commentSkew = 2 * time.Minute

// incidentReader reads one incident (both clients).
type incidentReader interface {
	GetIncident(ctx context.Context, id string, withAlerts bool) (*Incident, error)
}

// commentVerifier returns the verify of a comment request: after an
// attempt whose outcome is unknown (a reset or timeout after sending, a
// 5xx), it reads the incident and reports the comment applied when one
// with the same text was created since the call started (less
// commentSkew, or without a time). The upstream does not tell which
// identity wrote a comment reliably, so the text and the time decide.
func commentVerifier(r incidentReader, id, text string, started time.Time) func(context.Context) (bool, error) {
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
func hasComment(comments []Comment, text string, since time.Time) bool {
	for _, c := range comments {
		if c.Text == text && (c.CreateTime.IsZero() || !c.CreateTime.Before(since)) {
			return true
		}
	}
	return false
}
