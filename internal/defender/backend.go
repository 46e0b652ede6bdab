package defender

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

// BackendKind names an upstream API.
type BackendKind string

// The backends.
const (
	BackendGraph BackendKind = "graph"
	BackendXDR   BackendKind = "xdr"
)

// Backend is one upstream API serving the incident and hunting operations
// for one tenant and auth context. Implementations are safe for concurrent
// use and return *Error for every failure.
type Backend interface {
	// Kind says which upstream API this is.
	Kind() BackendKind
	// ListIncidents returns up to q.PageSize incidents matching q.Filter,
	// starting at q.Cursor ("" for the first page), and the cursor of the
	// next page ("" on the last page).
	ListIncidents(ctx context.Context, q ListQuery) (*IncidentPage, error)
	// GetIncident returns one incident, with its alerts when withAlerts.
	GetIncident(ctx context.Context, id string, withAlerts bool) (*Incident, error)
	// UpdateIncident applies u to an incident and returns it as it is
	// afterwards, with its alerts.
	UpdateIncident(ctx context.Context, id string, u IncidentUpdate) (*Incident, error)
	// RunHuntingQuery runs one KQL query and returns its whole result, of
	// at most q.MaxResultBytes of upstream body (else RESULT_TOO_LARGE).
	RunHuntingQuery(ctx context.Context, q HuntingQuery) (*HuntingResult, error)
	// StreamHuntingQuery runs one KQL query and hands its result to sink
	// while the upstream body is decoded, never holding it whole; the
	// upstream read goes at the sink's pace. A failure before the sink
	// took anything is retried like RunHuntingQuery's; after, it is
	// returned. q.MaxResultBytes does not apply.
	StreamHuntingQuery(ctx context.Context, q HuntingQuery, sink HuntingSink) error
	// AlertBackend serves the alerts.
	AlertBackend
}

// IncidentFilter narrows a listing. Zero fields do not filter.
type IncidentFilter struct {
	Statuses   []IncidentStatus
	Severities []Severity
	AssignedTo string
	// CreatedFrom is inclusive, CreatedBefore exclusive; zero is open.
	CreatedFrom, CreatedBefore time.Time
	// UpdatedFrom is inclusive, UpdatedBefore exclusive; zero is open.
	UpdatedFrom, UpdatedBefore time.Time
}

// ListQuery is one page request of ListIncidents.
type ListQuery struct {
	Filter     IncidentFilter
	PageSize   int
	WithAlerts bool
	// Cursor is the NextCursor of the previous page, "" for the first. It is
	// backend-defined text; the caller keeps it tamper-proof (page tokens are
	// signed), and the backend still validates it (a URL in it must be under
	// the configured API base).
	Cursor string
}

// IncidentPage is one page of incidents.
type IncidentPage struct {
	Incidents  []Incident
	NextCursor string
}

// IncidentUpdate lists the changes of UpdateIncident. A nil pointer leaves a
// field unchanged.
type IncidentUpdate struct {
	Status         *IncidentStatus
	AssignedTo     *string
	Classification *Classification
	Determination  *Determination
	// Tags, when non-nil, replaces the custom tags.
	Tags *[]string
	// Comment, when not empty, is appended as a new comment.
	Comment string
}

// Empty reports whether the update changes nothing.
func (u IncidentUpdate) Empty() bool {
	return u.Status == nil && u.AssignedTo == nil && u.Classification == nil &&
		u.Determination == nil && u.Tags == nil && u.Comment == ""
}

// HuntingQuery is one advanced hunting request.
type HuntingQuery struct {
	Query string
	// Timespan is an ISO-8601 interval or duration (Graph only); "" is the
	// upstream default.
	Timespan string
	// MaxResultBytes bounds the upstream body RunHuntingQuery reads; 0 is
	// DefaultMaxHuntingResultBytes.
	MaxResultBytes int64
}

// ClientOptions configure one backend client.
type ClientOptions struct {
	// BaseURL is the API base: for Graph e.g. https://graph.microsoft.com/v1.0,
	// for XDR e.g. https://api.security.microsoft.com. The client never sends
	// a token to a URL outside it (same scheme, host and path prefix).
	BaseURL string
	// HTTPClient makes every request. It must not be nil.
	HTTPClient *http.Client
	// Tokens authenticates every request.
	Tokens TokenSource
	// Logger receives debug records of upstream calls (never tokens).
	Logger *slog.Logger
	// Retry is how failed requests are retried; the zero value retries
	// nothing.
	Retry RetryPolicy
	// RequestTimeout bounds one attempt of a request; 0 takes HTTPClient's
	// Timeout (which the client then clears, so it cannot cut hunting).
	RequestTimeout time.Duration
	// HuntingRequestTimeout bounds one attempt of a hunting query when
	// longer than RequestTimeout: the upstream runs a query up to 3
	// minutes (the gateway passes DEFENDER_HUNTING_CALL_TIMEOUT).
	HuntingRequestTimeout time.Duration
	// Observer sees every upstream request (metrics); nil sees none.
	Observer Observer
}

// BackendFactory builds a backend client of a kind; backends.New is the real
// one. Auth contexts take it injected.
type BackendFactory func(kind BackendKind, opts ClientOptions) (Backend, error)
