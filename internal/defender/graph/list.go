package graph

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
)

// graphMaxTop is the largest $top Graph takes for incidents (more is a 400).
const graphMaxTop = 50

type graphIncidentList struct {
	Value    []graphIncident `json:"value"`
	NextLink string          `json:"@odata.nextLink"`
}

// ListIncidents returns q.PageSize incidents (fewer only on the last page,
// or when MaxUpstreamPagesPerList is reached), chaining upstream pages
// through @odata.nextLink. The order is the upstream's: no $orderby is sent.
//
// The first request asks for $top = min(PageSize, 50); a resumed listing
// follows the upstream's links as they are. When an upstream page holds
// more than the page needs, the cursor is that page's URL and how many of
// its incidents were returned; the next call fetches it again and skips
// them (incidents created or changed in between can shift that page).
func (g *Graph) ListIncidents(ctx context.Context, q defender.ListQuery) (*defender.IncidentPage, error) {
	if err := upstream.ValidatePageSize(q.PageSize); err != nil {
		return nil, err
	}
	pageURL, skip, err := g.listStart(q)
	if err != nil {
		return nil, err
	}
	out := make([]defender.Incident, 0, q.PageSize)
	for range upstream.MaxUpstreamPagesPerList {
		var page graphIncidentList
		err := g.up.Send(ctx, upstream.Call{Op: "list incidents", Kind: upstream.OpList, Method: http.MethodGet, URL: pageURL,
			Prefer: graphPrefer, Permission: graphPermissions.Read}, &page)
		if err != nil {
			return nil, err
		}
		var next *url.URL
		if page.NextLink != "" {
			var ok bool
			if next, ok = g.up.Base.Resolve(page.NextLink, pageURL); !ok {
				return nil, defender.Errorf(defender.KindInternal, defender.ReasonUnsafeNextLink,
					"list incidents: the upstream sent a next link outside the API base; it was not followed")
			}
		}
		items := page.Value[min(skip, len(page.Value)):]
		if need := q.PageSize - len(out); len(items) > need {
			out, err = appendGraphIncidents(out, items[:need], q.WithAlerts)
			if err != nil {
				return nil, err
			}
			return &defender.IncidentPage{Incidents: out, NextCursor: upstream.EncodeCursor(upstream.GraphCursor{URL: pageURL.String(), Skip: skip + need})}, nil
		}
		if out, err = appendGraphIncidents(out, items, q.WithAlerts); err != nil {
			return nil, err
		}
		if next == nil {
			return &defender.IncidentPage{Incidents: out}, nil
		}
		pageURL, skip = next, 0
		if len(out) == q.PageSize {
			break
		}
	}
	return &defender.IncidentPage{Incidents: out, NextCursor: upstream.EncodeCursor(upstream.GraphCursor{URL: pageURL.String()})}, nil
}

// listStart returns the first upstream URL and how many of its incidents to
// skip: from the cursor, or a new query.
func (g *Graph) listStart(q defender.ListQuery) (*url.URL, int, error) {
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
	filter, err := graphFilter(q.Filter)
	if err != nil {
		return nil, 0, err
	}
	var params []upstream.QueryParam
	if filter != "" {
		params = append(params, upstream.QueryParam{Key: "$filter", Value: filter})
	}
	params = append(params, upstream.QueryParam{Key: "$top", Value: strconv.Itoa(min(q.PageSize, graphMaxTop))})
	if q.WithAlerts {
		params = append(params, upstream.QueryParam{Key: "$expand", Value: "alerts"})
	}
	u := g.up.Base.Endpoint("security", "incidents")
	u.RawQuery = upstream.EncodeQuery(params)
	return u, 0, nil
}

// graphFilter builds the $filter of f (every field filters upstream).
func graphFilter(f defender.IncidentFilter) (string, error) {
	statuses, err := upstream.GraphWire.StatusNames(f.Statuses)
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
	if f.AssignedTo != "" {
		b.Equals("assignedTo", f.AssignedTo)
	}
	b.TimeRange("createdDateTime", f.CreatedFrom, f.CreatedBefore)
	b.TimeRange("lastUpdateDateTime", f.UpdatedFrom, f.UpdatedBefore)
	return b.String(), nil
}

func appendGraphIncidents(out []defender.Incident, items []graphIncident, withAlerts bool) ([]defender.Incident, error) {
	for i := range items {
		inc, err := upstream.IncidentResult(items[i].toDomain(), withAlerts)
		if err != nil {
			return nil, err
		}
		out = append(out, *inc)
	}
	return out, nil
}
