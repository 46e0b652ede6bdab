package graph

import (
	"context"
	"net/http"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
)

// Graph is the client of the Microsoft Graph security API (reference §7),
// under a base such as https://graph.microsoft.com/v1.0. It is safe for
// concurrent use.
type Graph struct {
	up *upstream.Client
}

var _ defender.Backend = (*Graph)(nil)

var graphPermissions = upstream.Permissions{
	Read:  "SecurityIncident.Read.All",
	Write: "SecurityIncident.ReadWrite.All",
	Hunt:  "ThreatHunting.Read.All",
}

// graphPrefer asks Graph for enum members added after unknownFutureValue
// (e.g. status awaitingAction).
const graphPrefer = "include-unknown-enum-members"

// New returns a Graph client; opts are validated.
func New(opts defender.ClientOptions) (*Graph, error) {
	up, err := upstream.New(defender.BackendGraph, graphPermissions, opts)
	if err != nil {
		return nil, err
	}
	return &Graph{up: up}, nil
}

// Upstream returns the client's HTTP core, which tests pace.
func (g *Graph) Upstream() *upstream.Client { return g.up }

// Kind returns BackendGraph.
func (g *Graph) Kind() defender.BackendKind { return defender.BackendGraph }

// GetIncident reads one incident, expanding its alerts when withAlerts.
func (g *Graph) GetIncident(ctx context.Context, id string, withAlerts bool) (*defender.Incident, error) {
	if err := upstream.ValidateIncidentID(id); err != nil {
		return nil, err
	}
	u := g.up.Base.Endpoint("security", "incidents", id)
	if withAlerts {
		u.RawQuery = upstream.EncodeQuery([]upstream.QueryParam{{Key: "$expand", Value: "alerts"}})
	}
	var w graphIncident
	err := g.up.Send(ctx, upstream.Call{Op: "get incident", Kind: upstream.OpRead, Method: http.MethodGet, URL: u,
		Prefer: graphPrefer, Permission: graphPermissions.Read}, &w)
	if err != nil {
		return nil, err
	}
	return upstream.IncidentResult(w.toDomain(), withAlerts)
}

// UpdateIncident patches the changed fields, then posts the comment, then
// reads the incident back with its alerts.
func (g *Graph) UpdateIncident(ctx context.Context, id string, u defender.IncidentUpdate) (*defender.Incident, error) {
	if err := upstream.ValidateIncidentID(id); err != nil {
		return nil, err
	}
	if u.Empty() {
		return nil, defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "the update changes nothing")
	}
	patch, err := newGraphPatch(u)
	if err != nil {
		return nil, err
	}
	if !patch.empty() {
		err := g.up.Send(ctx, upstream.Call{Op: "update incident", Kind: upstream.OpWrite, Method: http.MethodPatch,
			URL: g.up.Base.Endpoint("security", "incidents", id), Body: patch,
			Permission: graphPermissions.Write}, nil)
		if err != nil {
			return nil, err
		}
	}
	if u.Comment != "" {
		body := graphCommentBody{ODataType: "microsoft.graph.security.alertComment", Comment: u.Comment}
		// A comment must never post twice: it is re-sent only when it was
		// not applied (CommentVerifier).
		err := g.up.Send(ctx, upstream.Call{Op: "comment on incident", Kind: upstream.OpWrite, Method: http.MethodPost,
			URL: g.up.Base.Endpoint("security", "incidents", id, "comments"), Body: body,
			Permission: graphPermissions.Write, Idem: upstream.IdemOnce,
			Verify: upstream.CommentVerifier(g, id, u.Comment, time.Now())}, nil)
		if err != nil {
			return nil, err
		}
	}
	return g.GetIncident(ctx, id, true)
}

// RunHuntingQuery runs KQL through runHuntingQuery. Graph sends no stats.
func (g *Graph) RunHuntingQuery(ctx context.Context, q defender.HuntingQuery) (*defender.HuntingResult, error) {
	c, err := g.huntingCall(q)
	if err != nil {
		return nil, err
	}
	return g.up.RunHunting(ctx, c, q, false)
}

// StreamHuntingQuery is RunHuntingQuery with the result handed to sink as
// it arrives.
func (g *Graph) StreamHuntingQuery(ctx context.Context, q defender.HuntingQuery, sink defender.HuntingSink) error {
	c, err := g.huntingCall(q)
	if err != nil {
		return err
	}
	return g.up.StreamHunting(ctx, c, sink, false)
}

func (g *Graph) huntingCall(q defender.HuntingQuery) (upstream.Call, error) {
	if q.Query == "" {
		return upstream.Call{}, defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "the query must not be empty")
	}
	return upstream.Call{Op: "run hunting query", Kind: upstream.OpHunt, Method: http.MethodPost,
		URL:  g.up.Base.Endpoint("security", "runHuntingQuery"),
		Body: graphHuntingBody{Query: q.Query, Timespan: q.Timespan}, ContentType: upstream.ContentJSONUTF8,
		Permission: graphPermissions.Hunt}, nil
}

type graphHuntingBody struct {
	Query    string `json:"Query"`
	Timespan string `json:"Timespan,omitempty"`
}

type graphCommentBody struct {
	ODataType string `json:"@odata.type"`
	Comment   string `json:"comment"`
}

// graphPatch holds only the changed fields of a PATCH.
type graphPatch struct {
	Status         *string   `json:"status,omitempty"`
	AssignedTo     *string   `json:"assignedTo,omitempty"`
	Classification *string   `json:"classification,omitempty"`
	Determination  *string   `json:"determination,omitempty"`
	CustomTags     *[]string `json:"customTags,omitempty"`
}

func newGraphPatch(u defender.IncidentUpdate) (*graphPatch, error) {
	fields, err := upstream.GraphWire.UpdateFields(u)
	if err != nil {
		return nil, err
	}
	return &graphPatch{
		Status: fields.Status, AssignedTo: u.AssignedTo, Classification: fields.Classification,
		Determination: fields.Determination, CustomTags: fields.Tags,
	}, nil
}

func (p *graphPatch) empty() bool {
	return p.Status == nil && p.AssignedTo == nil && p.Classification == nil &&
		p.Determination == nil && p.CustomTags == nil
}
