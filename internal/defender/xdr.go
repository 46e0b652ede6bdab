package defender

import (
	"context"
	"net/http"
	"time"
)

// XDR is the client of the Defender XDR API (reference §4–§6), under a base
// such as https://api.security.microsoft.com. The API retires on
// 2027-02-01. It is safe for concurrent use.
type XDR struct {
	up *upstream
}

var _ Backend = (*XDR)(nil)

var xdrPermissions = permissions{
	read:  "Incident.Read.All",
	write: "Incident.ReadWrite.All",
	hunt:  "AdvancedHunting.Read.All",
}

// NewXDR returns an XDR client; opts are validated.
func NewXDR(opts ClientOptions) (*XDR, error) {
	up, err := newUpstream(BackendXDR, xdrPermissions, opts)
	if err != nil {
		return nil, err
	}
	return &XDR{up: up}, nil
}

// Kind returns BackendXDR.
func (x *XDR) Kind() BackendKind { return BackendXDR }

// GetIncident reads one incident. XDR always sends the alerts; they are
// dropped unless withAlerts.
func (x *XDR) GetIncident(ctx context.Context, id string, withAlerts bool) (*Incident, error) {
	if err := validateIncidentID(id); err != nil {
		return nil, err
	}
	var w xdrIncident
	err := x.up.send(ctx, call{op: "get incident", kind: opRead, method: http.MethodGet,
		url: x.up.base.endpoint("api", "incidents", id), permission: xdrPermissions.read}, &w)
	if err != nil {
		return nil, err
	}
	return incidentResult(w.toDomain(), withAlerts)
}

// UpdateIncident sends every change, the comment included, in one PATCH and
// returns the incident it answers with (read again when that lacks alerts).
func (x *XDR) UpdateIncident(ctx context.Context, id string, u IncidentUpdate) (*Incident, error) {
	if err := validateIncidentID(id); err != nil {
		return nil, err
	}
	if u.Empty() {
		return nil, Errorf(KindInvalidArgument, ReasonInvalidArgument, "the update changes nothing")
	}
	fields, err := xdrWire.updateFields(u)
	if err != nil {
		return nil, err
	}
	body := xdrPatch{Status: fields.status, AssignedTo: u.AssignedTo, Classification: fields.classification,
		Determination: fields.determination, Tags: fields.tags, Comment: u.Comment}
	// The PATCH sets absolute values and is safe to send again, unless it
	// carries a comment, which must never post twice.
	c := call{op: "update incident", kind: opWrite, method: http.MethodPatch,
		url: x.up.base.endpoint("api", "incidents", id), body: body,
		permission: xdrPermissions.write, allowEmpty: true}
	if u.Comment != "" {
		c.idem, c.verify = idemOnce, commentVerifier(x, id, u.Comment, time.Now())
	}
	var w xdrIncident
	err = x.up.send(ctx, c, &w)
	if err != nil {
		return nil, err
	}
	if w.IncidentID == "" || w.Alerts == nil {
		return x.GetIncident(ctx, id, true)
	}
	return incidentResult(w.toDomain(), true)
}

// RunHuntingQuery runs KQL through /api/advancedhunting/run. XDR takes no
// timespan: the query itself must bound time.
func (x *XDR) RunHuntingQuery(ctx context.Context, q HuntingQuery) (*HuntingResult, error) {
	c, err := x.huntingCall(q)
	if err != nil {
		return nil, err
	}
	return x.up.runHunting(ctx, c, q, true)
}

// StreamHuntingQuery is RunHuntingQuery with the result handed to sink as
// it arrives.
func (x *XDR) StreamHuntingQuery(ctx context.Context, q HuntingQuery, sink HuntingSink) error {
	c, err := x.huntingCall(q)
	if err != nil {
		return err
	}
	return x.up.streamHunting(ctx, c, sink, true)
}

func (x *XDR) huntingCall(q HuntingQuery) (call, error) {
	if q.Timespan != "" {
		return call{}, Errorf(KindInvalidArgument, ReasonUnsupportedByBackend, "timespan is not supported by the XDR backend")
	}
	if q.Query == "" {
		return call{}, Errorf(KindInvalidArgument, ReasonInvalidArgument, "the query must not be empty")
	}
	return call{op: "run hunting query", kind: opHunt, method: http.MethodPost,
		url:  x.up.base.endpoint("api", "advancedhunting", "run"),
		body: xdrHuntingBody{Query: q.Query}, permission: xdrPermissions.hunt}, nil
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
