package defender

import (
	"context"
	"time"
)

// AlertBackend is the alert half of a Backend (Graph alerts_v2). The XDR
// backend has no alerts endpoint (reference §4): it fails every method with
// KindUnimplemented, reason UNSUPPORTED_BY_BACKEND.
type AlertBackend interface {
	// ListAlerts returns up to q.PageSize alerts matching q.Filter, from
	// q.Cursor ("" for the first page), and the next page's cursor ("" on
	// the last page).
	ListAlerts(ctx context.Context, q AlertListQuery) (*AlertPage, error)
	// GetAlert returns one alert.
	GetAlert(ctx context.Context, id string) (*Alert, error)
	// UpdateAlert applies u to an alert and returns it as it is afterwards.
	// The comment is posted at most once.
	UpdateAlert(ctx context.Context, id string, u AlertUpdate) (*Alert, error)
}

// AlertFilter narrows an alert listing. Zero fields do not filter.
type AlertFilter struct {
	Statuses   []AlertStatus
	Severities []Severity
	// ServiceSources and DetectionSources are backend spellings (Graph
	// members, e.g. microsoftDefenderForEndpoint).
	ServiceSources   []string
	DetectionSources []string
	AssignedTo       string
	// IncidentID keeps the alerts of one incident.
	IncidentID string
	// CreatedFrom is inclusive, CreatedBefore exclusive; zero is open.
	CreatedFrom, CreatedBefore time.Time
	// UpdatedFrom is inclusive, UpdatedBefore exclusive; zero is open.
	UpdatedFrom, UpdatedBefore time.Time
}

// AlertListQuery is one page request of ListAlerts.
type AlertListQuery struct {
	Filter   AlertFilter
	PageSize int
	// Cursor is the NextCursor of the previous page, "" for the first (as
	// ListQuery.Cursor).
	Cursor string
}

// AlertPage is one page of alerts.
type AlertPage struct {
	Alerts     []Alert
	NextCursor string
}

// AlertUpdate lists the changes of UpdateAlert. A nil pointer leaves a
// field unchanged.
type AlertUpdate struct {
	Status         *AlertStatus
	AssignedTo     *string
	Classification *Classification
	Determination  *Determination
	// Comment, when not empty, is appended as a new comment.
	Comment string
}

// Empty reports whether the update changes nothing.
func (u AlertUpdate) Empty() bool {
	return u.Status == nil && u.AssignedTo == nil && u.Classification == nil &&
		u.Determination == nil && u.Comment == ""
}
