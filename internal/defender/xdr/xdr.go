package xdr

import (
	"context"
	"net/http"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
)

// XDR is the client of the Defender XDR API (reference §4–§6), under a base
// such as https://api.security.microsoft.com. The API retires on
// 2027-02-01. It is safe for concurrent use.
type XDR struct {
	up *upstream.Client
}

var _ defender.Backend = (*XDR)(nil)

var xdrPermissions = upstream.Permissions{
	Read:  "Incident.Read.All",
	Write: "Incident.ReadWrite.All",
	Hunt:  "AdvancedHunting.Read.All",
}

// New returns an XDR client; opts are validated.
func New(opts defender.ClientOptions) (*XDR, error) {
	up, err := upstream.New(defender.BackendXDR, xdrPermissions, opts)
	if err != nil {
		return nil, err
	}
	return &XDR{up: up}, nil
}

// Upstream returns the client's HTTP core, which tests pace.
func (x *XDR) Upstream() *upstream.Client { return x.up }

// Kind returns BackendXDR.
func (x *XDR) Kind() defender.BackendKind { return defender.BackendXDR }

// GetIncident reads one incident. XDR always sends the alerts; they are
// dropped unless withAlerts.
func (x *XDR) GetIncident(ctx context.Context, id string, withAlerts bool) (*defender.Incident, error) {
	if err := upstream.ValidateIncidentID(id); err != nil {
		return nil, err
	}
	var w xdrIncident
	err := x.up.Send(ctx, upstream.Call{Op: "get incident", Kind: upstream.OpRead, Method: http.MethodGet,
		URL: x.up.Base.Endpoint("api", "incidents", id), Permission: xdrPermissions.Read}, &w)
	if err != nil {
		return nil, err
	}
	return upstream.IncidentResult(w.toDomain(), withAlerts)
}

// UpdateIncident sends every change, the comment included, in one PATCH and
// returns the incident it answers with (read again when that lacks alerts).
func (x *XDR) UpdateIncident(ctx context.Context, id string, u defender.IncidentUpdate) (*defender.Incident, error) {
	if err := upstream.ValidateIncidentID(id); err != nil {
		return nil, err
	}
	if u.Empty() {
		return nil, defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "the update changes nothing")
	}
	fields, err := upstream.XDRWire.UpdateFields(u)
	if err != nil {
		return nil, err
	}
	body := xdrPatch{Status: fields.Status, AssignedTo: u.AssignedTo, Classification: fields.Classification,
		Determination: fields.Determination, Tags: fields.Tags, Comment: u.Comment}
	// The PATCH sets absolute values and is safe to send again, unless it
	// carries a comment, which must never post twice.
	c := upstream.Call{Op: "update incident", Kind: upstream.OpWrite, Method: http.MethodPatch,
		URL: x.up.Base.Endpoint("api", "incidents", id), Body: body,
		Permission: xdrPermissions.Write, AllowEmpty: true}
	if u.Comment != "" {
		c.Idem, c.Verify = upstream.IdemOnce, upstream.CommentVerifier(x, id, u.Comment, time.Now())
	}
	var w xdrIncident
	err = x.up.Send(ctx, c, &w)
	if err != nil {
		return nil, err
	}
	if w.IncidentID == "" || w.Alerts == nil {
		return x.GetIncident(ctx, id, true)
	}
	return upstream.IncidentResult(w.toDomain(), true)
}

// RunHuntingQuery runs KQL through /api/advancedhunting/run. XDR takes no
// timespan: the query itself must bound time.
func (x *XDR) RunHuntingQuery(ctx context.Context, q defender.HuntingQuery) (*defender.HuntingResult, error) {
	c, err := x.huntingCall(q)
	if err != nil {
		return nil, err
	}
	return x.up.RunHunting(ctx, c, q, true)
}

// StreamHuntingQuery is RunHuntingQuery with the result handed to sink as
// it arrives.
func (x *XDR) StreamHuntingQuery(ctx context.Context, q defender.HuntingQuery, sink defender.HuntingSink) error {
	c, err := x.huntingCall(q)
	if err != nil {
		return err
	}
	return x.up.StreamHunting(ctx, c, sink, true)
}

func (x *XDR) huntingCall(q defender.HuntingQuery) (upstream.Call, error) {
	if q.Timespan != "" {
		return upstream.Call{}, defender.Errorf(defender.KindInvalidArgument, defender.ReasonUnsupportedByBackend, "timespan is not supported by the XDR backend")
	}
	if q.Query == "" {
		return upstream.Call{}, defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "the query must not be empty")
	}
	return upstream.Call{Op: "run hunting query", Kind: upstream.OpHunt, Method: http.MethodPost,
		URL:  x.up.Base.Endpoint("api", "advancedhunting", "run"),
		Body: xdrHuntingBody{Query: q.Query}, Permission: xdrPermissions.Hunt}, nil
}

type xdrHuntingBody struct {
	Query string `json:"Query"`
}

// xdrPatch is the one PATCH body of an update (reference §4.6).
type xdrPatch struct {
	Status         *string   `json:"status,omitempty"`
	AssignedTo     *string   `json:"assignedTo,omitempty"`
	Classification *string   `json:"classification,omitempty"`
	Determination  *string   `json:"determination,omitempty"`
	Tags           *[]string `json:"tags,omitempty"`
	Comment        string    `json:"comment,omitempty"`
}
