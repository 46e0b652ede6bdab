package graph

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
)

// Graph alerts_v2 (reference §7.4; docs/design.md "AlertService").

// graphAlertMaxTop is the largest $top the gateway sends to alerts_v2: the
// documented maximum is unknown (§9.9) and the incidents' observed 50 is
// taken, as the emulator does.
const graphAlertMaxTop = 50

var alertPermissions = struct{ Read, Write string }{
	Read:  "SecurityAlert.Read.All",
	Write: "SecurityAlert.ReadWrite.All",
}

type graphAlertList struct {
	Value    []graphAlert `json:"value"`
	NextLink string       `json:"@odata.nextLink"`
}

// ListAlerts returns q.PageSize alerts, chaining upstream pages through
// @odata.nextLink, with cursors as ListIncidents'. The order is the
// upstream's (newest created first): no $orderby is sent.
func (g *Graph) ListAlerts(ctx context.Context, q defender.AlertListQuery) (*defender.AlertPage, error) {
	if err := upstream.ValidatePageSize(q.PageSize); err != nil {
		return nil, err
	}
	pageURL, skip, err := g.alertListStart(q)
	if err != nil {
		return nil, err
	}
	out := make([]defender.Alert, 0, q.PageSize)
	for range upstream.MaxUpstreamPagesPerList {
		var page graphAlertList
		err := g.up.Send(ctx, upstream.Call{Op: "list alerts", Kind: upstream.OpList, Family: defender.FamilyAlertRead,
			Method: http.MethodGet, URL: pageURL, Prefer: graphPrefer, Permission: alertPermissions.Read}, &page)
		if err != nil {
			return nil, err
		}
		var next *url.URL
		if page.NextLink != "" {
			var ok bool
			if next, ok = g.up.Base.Resolve(page.NextLink, pageURL); !ok {
				return nil, defender.Errorf(defender.KindInternal, defender.ReasonUnsafeNextLink,
					"list alerts: the upstream sent a next link outside the API base; it was not followed")
			}
		}
		items := page.Value[min(skip, len(page.Value)):]
		if need := q.PageSize - len(out); len(items) > need {
			if out, err = appendGraphAlerts(out, items[:need]); err != nil {
				return nil, err
			}
			return &defender.AlertPage{Alerts: out, NextCursor: upstream.EncodeCursor(upstream.GraphCursor{URL: pageURL.String(), Skip: skip + need})}, nil
		}
		if out, err = appendGraphAlerts(out, items); err != nil {
			return nil, err
		}
		if next == nil {
			return &defender.AlertPage{Alerts: out}, nil
		}
		pageURL, skip = next, 0
		if len(out) == q.PageSize {
			break
		}
	}
	return &defender.AlertPage{Alerts: out, NextCursor: upstream.EncodeCursor(upstream.GraphCursor{URL: pageURL.String()})}, nil
}

// alertListStart returns the first upstream URL and how many of its alerts
// to skip: from the cursor, or a new query.
func (g *Graph) alertListStart(q defender.AlertListQuery) (*url.URL, int, error) {
	if q.Cursor != "" {
		var c upstream.GraphCursor
		if err := upstream.DecodeCursor(q.Cursor, &c); err != nil {
			return nil, 0, err
		}
		if c.Skip < 0 || c.Skip > upstream.MaxCursorOffset || c.URL == "" {
			return nil, 0, upstream.InvalidCursor()
		}
		u, err := url.Parse(c.URL)
		if err != nil || !g.up.Base.Contains(u) {
			return nil, 0, defender.Errorf(defender.KindInvalidArgument, defender.ReasonUnsafeNextLink, "the page cursor points outside the API base")
		}
		return u, c.Skip, nil
	}
	filter, err := graphAlertFilter(q.Filter)
	if err != nil {
		return nil, 0, err
	}
	var params []upstream.QueryParam
	if filter != "" {
		params = append(params, upstream.QueryParam{Key: "$filter", Value: filter})
	}
	params = append(params, upstream.QueryParam{Key: "$top", Value: strconv.Itoa(min(q.PageSize, graphAlertMaxTop))})
	u := g.up.Base.Endpoint("security", "alerts_v2")
	u.RawQuery = upstream.EncodeQuery(params)
	return u, 0, nil
}

// graphAlertFilter builds the $filter of f. serviceSource is documented
// (§7.2); detectionSource and incidentId are not (docs/design.md).
func graphAlertFilter(f defender.AlertFilter) (string, error) {
	statuses, err := upstream.GraphWire.AlertStatusNames(f.Statuses)
	if err != nil {
		return "", err
	}
	severities, err := upstream.GraphWire.SeverityNames(f.Severities)
	if err != nil {
		return "", err
	}
	var b upstream.ODataFilter
	b.EqualsAny("status", statuses)
	b.EqualsAny("severity", severities)
	b.EqualsAny("serviceSource", f.ServiceSources)
	b.EqualsAny("detectionSource", f.DetectionSources)
	if f.AssignedTo != "" {
		b.Equals("assignedTo", f.AssignedTo)
	}
	if f.IncidentID != "" {
		b.Equals("incidentId", f.IncidentID)
	}
	b.TimeRange("createdDateTime", f.CreatedFrom, f.CreatedBefore)
	b.TimeRange("lastUpdateDateTime", f.UpdatedFrom, f.UpdatedBefore)
	return b.String(), nil
}

func appendGraphAlerts(out []defender.Alert, items []graphAlert) ([]defender.Alert, error) {
	for i := range items {
		a, err := upstream.AlertResult(items[i].toDomain())
		if err != nil {
			return nil, err
		}
		out = append(out, *a)
	}
	return out, nil
}

// GetAlert reads one alert.
func (g *Graph) GetAlert(ctx context.Context, id string) (*defender.Alert, error) {
	if err := upstream.ValidateAlertID(id); err != nil {
		return nil, err
	}
	var w graphAlert
	err := g.up.Send(ctx, upstream.Call{Op: "get alert", Kind: upstream.OpRead, Family: defender.FamilyAlertGet,
		Method: http.MethodGet, URL: g.up.Base.Endpoint("security", "alerts_v2", id),
		Prefer: graphPrefer, Permission: alertPermissions.Read}, &w)
	if err != nil {
		return nil, alertNotFound(err)
	}
	return upstream.AlertResult(w.toDomain())
}

// UpdateAlert patches the changed fields, then posts the comment (at most
// once), then reads the alert back.
func (g *Graph) UpdateAlert(ctx context.Context, id string, u defender.AlertUpdate) (*defender.Alert, error) {
	if err := upstream.ValidateAlertID(id); err != nil {
		return nil, err
	}
	if u.Empty() {
		return nil, defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "the update changes nothing")
	}
	fields, err := upstream.GraphWire.AlertUpdateFields(u)
	if err != nil {
		return nil, err
	}
	patch := &graphPatch{Status: fields.Status, AssignedTo: u.AssignedTo,
		Classification: fields.Classification, Determination: fields.Determination}
	if !patch.empty() {
		err := g.up.Send(ctx, upstream.Call{Op: "update alert", Kind: upstream.OpWrite, Family: defender.FamilyAlertWrite,
			Method: http.MethodPatch, URL: g.up.Base.Endpoint("security", "alerts_v2", id), Body: patch,
			Permission: alertPermissions.Write}, nil)
		if err != nil {
			return nil, alertNotFound(err)
		}
	}
	if u.Comment != "" {
		body := graphCommentBody{ODataType: "microsoft.graph.security.alertComment", Comment: u.Comment}
		err := g.up.Send(ctx, upstream.Call{Op: "comment on alert", Kind: upstream.OpWrite, Family: defender.FamilyAlertWrite,
			Method: http.MethodPost, URL: g.up.Base.Endpoint("security", "alerts_v2", id, "comments"), Body: body,
			Permission: alertPermissions.Write, Idem: upstream.IdemOnce,
			Verify: upstream.AlertCommentVerifier(g, id, u.Comment, time.Now())}, nil)
		if err != nil {
			return nil, alertNotFound(err)
		}
	}
	return g.GetAlert(ctx, id)
}

// alertNotFound gives an upstream 404 on an alert's read or write the
// alert's reason, ALERT_NOT_FOUND, rather than the incidents' one.
func alertNotFound(err error) error {
	var e *defender.Error
	if errors.As(err, &e) && e.Kind == defender.KindNotFound && e.Reason == defender.ReasonNotFound {
		c := *e
		c.Reason = defender.ReasonAlertNotFound
		return &c
	}
	return err
}
