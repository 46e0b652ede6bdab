package defender

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// graphMaxTop is the largest $top Graph takes for incidents (more is a 400).
const graphMaxTop = 50

type graphIncidentList struct {
	Value    []graphIncident `json:"value"`
	NextLink string          `json:"@odata.nextLink"`
}

// ListIncidents returns q.PageSize incidents (fewer only on the last page,
// or when maxUpstreamPagesPerList is reached), chaining upstream pages
// through @odata.nextLink. The order is the upstream's: no $orderby is sent.
//
// The first request asks for $top = min(PageSize, 50); a resumed listing
// follows the upstream's links as they are. When an upstream page holds
// more than the page needs, the cursor is that page's URL and how many of
// its incidents were returned; the next call fetches it again and skips
// them (incidents created or changed in between can shift that page).
func (g *Graph) ListIncidents(ctx context.Context, q ListQuery) (*IncidentPage, error) {
	if err := validatePageSize(q.PageSize); err != nil {
		return nil, err
	}
	pageURL, skip, err := g.listStart(q)
	if err != nil {
		return nil, err
	}
	out := make([]Incident, 0, q.PageSize)
	for range maxUpstreamPagesPerList {
		var page graphIncidentList
		err := g.up.send(ctx, call{op: "list incidents", kind: opList, method: http.MethodGet, url: pageURL,
			prefer: graphPrefer, permission: graphPermissions.read}, &page)
		if err != nil {
			return nil, err
		}
		var next *url.URL
		if page.NextLink != "" {
			var ok bool
			if next, ok = g.up.base.resolve(page.NextLink, pageURL); !ok {
				return nil, Errorf(KindInternal, ReasonUnsafeNextLink,
					"list incidents: the upstream sent a next link outside the API base; it was not followed")
			}
		}
		items := page.Value[min(skip, len(page.Value)):]
		if need := q.PageSize - len(out); len(items) > need {
			out, err = appendGraphIncidents(out, items[:need], q.WithAlerts)
			if err != nil {
				return nil, err
			}
			return &IncidentPage{Incidents: out, NextCursor: encodeCursor(graphCursor{URL: pageURL.String(), Skip: skip + need})}, nil
		}
		if out, err = appendGraphIncidents(out, items, q.WithAlerts); err != nil {
			return nil, err
		}
		if next == nil {
			return &IncidentPage{Incidents: out}, nil
		}
		pageURL, skip = next, 0
		if len(out) == q.PageSize {
			break
		}
	}
	return &IncidentPage{Incidents: out, NextCursor: encodeCursor(graphCursor{URL: pageURL.String()})}, nil
}

// listStart returns the first upstream URL and how many of its incidents to
// skip: from the cursor, or a new query.
func (g *Graph) listStart(q ListQuery) (*url.URL, int, error) {
	if q.Cursor != "" {
		var c graphCursor
		if err := decodeCursor(q.Cursor, &c); err != nil {
			return nil, 0, err
		}
		if c.Skip < 0 || c.Skip > maxCursorOffset || c.URL == "" {
			return nil, 0, invalidCursor()
		}
		u, err := url.Parse(c.URL)
		if err != nil || !g.up.base.contains(u) {
			return nil, 0, Errorf(KindInvalidArgument, ReasonUnsafeNextLink, "the page cursor points outside the API base")
		}
		return u, c.Skip, nil
	}
	filter, err := graphFilter(q.Filter)
	if err != nil {
		return nil, 0, err
	}
	var params []queryParam
	if filter != "" {
		params = append(params, queryParam{"$filter", filter})
	}
	params = append(params, queryParam{"$top", strconv.Itoa(min(q.PageSize, graphMaxTop))})
	if q.WithAlerts {
		params = append(params, queryParam{"$expand", "alerts"})
	}
	u := g.up.base.endpoint("security", "incidents")
	u.RawQuery = encodeQuery(params)
	return u, 0, nil
}

// graphFilter builds the $filter of f (every field filters upstream).
func graphFilter(f IncidentFilter) (string, error) {
	statuses, err := graphWire.statusNames(f.Statuses)
	if err != nil {
		return "", err
	}
	severities, err := graphWire.severityNames(f.Severities)
	if err != nil {
		return "", err
	}
	var b odataFilter
	b.equalsAny("status", statuses)
	b.equalsAny("severity", severities)
	if f.AssignedTo != "" {
		b.equals("assignedTo", f.AssignedTo)
	}
	b.timeRange("createdDateTime", f.CreatedFrom, f.CreatedBefore)
	b.timeRange("lastUpdateDateTime", f.UpdatedFrom, f.UpdatedBefore)
	return b.String(), nil
}

func appendGraphIncidents(out []Incident, items []graphIncident, withAlerts bool) ([]Incident, error) {
	for i := range items {
		inc, err := incidentResult(items[i].toDomain(), withAlerts)
		if err != nil {
			return nil, err
		}
		out = append(out, *inc)
	}
	return out, nil
}
