package defender

import (
	"context"
	"net/http"
	"time"
)

// Graph is the client of the Microsoft Graph security API (reference §7),
// under a base such as https://graph.microsoft.com/v1.0. It is safe for
// concurrent use.
type Graph struct {
	up *upstream
}

var _ Backend = (*Graph)(nil)

var graphPermissions = permissions{
	read:  "SecurityIncident.Read.All",
	write: "SecurityIncident.ReadWrite.All",
	hunt:  "ThreatHunting.Read.All",
}

// graphPrefer asks Graph for enum members added after unknownFutureValue
// (e.g. status awaitingAction).
const graphPrefer = "include-unknown-enum-members"

// NewGraph returns a Graph client; opts are validated.
func NewGraph(opts ClientOptions) (*Graph, error) {
	up, err := newUpstream(BackendGraph, graphPermissions, opts)
	if err != nil {
		return nil, err
	}
	return &Graph{up: up}, nil
}

// Kind returns BackendGraph.
func (g *Graph) Kind() BackendKind { return BackendGraph }

// GetIncident reads one incident, expanding its alerts when withAlerts.
func (g *Graph) GetIncident(ctx context.Context, id string, withAlerts bool) (*Incident, error) {
	if err := validateIncidentID(id); err != nil {
		return nil, err
	}
	u := g.up.base.endpoint("security", "incidents", id)
	if withAlerts {
		u.RawQuery = encodeQuery([]queryParam{{"$expand", "alerts"}})
	}
	var w graphIncident
	err := g.up.send(ctx, call{op: "get incident", kind: opRead, method: http.MethodGet, url: u,
		prefer: graphPrefer, permission: graphPermissions.read}, &w)
	if err != nil {
		return nil, err
	}
	return incidentResult(w.toDomain(), withAlerts)
}

// UpdateIncident patches the changed fields, then posts the comment, then
// reads the incident back with its alerts.
func (g *Graph) UpdateIncident(ctx context.Context, id string, u IncidentUpdate) (*Incident, error) {
	if err := validateIncidentID(id); err != nil {
		return nil, err
	}
	if u.Empty() {
		return nil, Errorf(KindInvalidArgument, ReasonInvalidArgument, "the update changes nothing")
	}
	patch, err := newGraphPatch(u)
	if err != nil {
		return nil, err
	}
	if !patch.empty() {
		err := g.up.send(ctx, call{op: "update incident", kind: opWrite, method: http.MethodPatch,
			url: g.up.base.endpoint("security", "incidents", id), body: patch,
			permission: graphPermissions.write}, nil)
		if err != nil {
			return nil, err
		}
	}
	if u.Comment != "" {
		body := graphCommentBody{ODataType: "microsoft.graph.security.alertComment", Comment: u.Comment}
		// A comment must never post twice: it is re-sent only when it was
		// not applied (commentVerifier).
		err := g.up.send(ctx, call{op: "comment on incident", kind: opWrite, method: http.MethodPost,
			url: g.up.base.endpoint("security", "incidents", id, "comments"), body: body,
			permission: graphPermissions.write, idem: idemOnce,
			verify: commentVerifier(g, id, u.Comment, time.Now())}, nil)
		if err != nil {
			return nil, err
		}
	}
	return g.GetIncident(ctx, id, true)
}

// RunHuntingQuery runs KQL through runHuntingQuery. Graph sends no stats.
func (g *Graph) RunHuntingQuery(ctx context.Context, q HuntingQuery) (*HuntingResult, error) {
	c, err := g.huntingCall(q)
	if err != nil {
		return nil, err
	}
	return g.up.runHunting(ctx, c, q, false)
}

// StreamHuntingQuery is RunHuntingQuery with the result handed to sink as
// it arrives.
func (g *Graph) StreamHuntingQuery(ctx context.Context, q HuntingQuery, sink HuntingSink) error {
	c, err := g.huntingCall(q)
	if err != nil {
		return err
	}
	return g.up.streamHunting(ctx, c, sink, false)
}

func (g *Graph) huntingCall(q HuntingQuery) (call, error) {
	if q.Query == "" {
		return call{}, Errorf(KindInvalidArgument, ReasonInvalidArgument, "the query must not be empty")
	}
	return call{op: "run hunting query", kind: opHunt, method: http.MethodPost,
		url:  g.up.base.endpoint("security", "runHuntingQuery"),
		body: graphHuntingBody{Query: q.Query, Timespan: q.Timespan}, contentType: contentJSONUTF8,
		permission: graphPermissions.hunt}, nil
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

func newGraphPatch(u IncidentUpdate) (*graphPatch, error) {
	fields, err := graphWire.updateFields(u)
	if err != nil {
		return nil, err
	}
	return &graphPatch{
		Status: fields.status, AssignedTo: u.AssignedTo, Classification: fields.classification,
		Determination: fields.determination, CustomTags: fields.tags,
	}, nil
}

func (p *graphPatch) empty() bool {
	return p.Status == nil && p.AssignedTo == nil && p.Classification == nil &&
		p.Determination == nil && p.CustomTags == nil
}
