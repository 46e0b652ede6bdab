package defender

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
)

// xdrMaxTop is the largest XDR page.
const xdrMaxTop = 100

type xdrIncidentList struct {
	Value    []xdrIncident `json:"value"`
	NextLink string        `json:"@odata.nextLink"`
}

// ListIncidents pages with $top/$skip in the upstream's order (newest
// first, per the reference). XDR cannot filter on severity, so with a
// severity filter every upstream page is a full 100 and is filtered here;
// without one, $top is what the page still needs. The cursor is the
// absolute upstream position of the first incident not yet examined.
//
// A page holds q.PageSize incidents except the last one, or when
// maxUpstreamPagesPerList upstream pages were scanned (a rare severity),
// in which case it may hold fewer, even none, with a cursor to go on. A
// last page may also be empty when the previous one ended exactly at the
// end of the data.
func (x *XDR) ListIncidents(ctx context.Context, q ListQuery) (*IncidentPage, error) {
	if err := validatePageSize(q.PageSize); err != nil {
		return nil, err
	}
	filter, err := xdrFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	pos := 0
	if q.Cursor != "" {
		var c xdrCursor
		if err := decodeCursor(q.Cursor, &c); err != nil {
			return nil, err
		}
		if c.Skip < 0 || c.Skip > maxCursorOffset {
			return nil, invalidCursor()
		}
		pos = c.Skip
	}
	filterLocally := len(q.Filter.Severities) > 0
	out := make([]Incident, 0, q.PageSize)
	for range maxUpstreamPagesPerList {
		top := xdrMaxTop
		if !filterLocally {
			top = min(q.PageSize-len(out), xdrMaxTop)
		}
		page, err := x.listPage(ctx, filter, pos, top)
		if err != nil {
			return nil, err
		}
		more := len(page.Value) >= top || page.NextLink != ""
		for i := range page.Value {
			inc, err := incidentResult(page.Value[i].toDomain(), q.WithAlerts)
			if err != nil {
				return nil, err
			}
			if filterLocally && !slices.Contains(q.Filter.Severities, inc.Severity) {
				continue
			}
			out = append(out, *inc)
			if len(out) == q.PageSize {
				if i+1 < len(page.Value) || more {
					return &IncidentPage{Incidents: out, NextCursor: encodeCursor(xdrCursor{Skip: pos + i + 1})}, nil
				}
				return &IncidentPage{Incidents: out}, nil
			}
		}
		if !more || len(page.Value) == 0 {
			return &IncidentPage{Incidents: out}, nil
		}
		pos += len(page.Value)
	}
	return &IncidentPage{Incidents: out, NextCursor: encodeCursor(xdrCursor{Skip: pos})}, nil
}

// listPage fetches one upstream page. A next link is unexpected on XDR and
// never followed: it is taken only as a sign that more incidents follow,
// and paging goes on by $skip, which needs no URL. So a link outside the API
// base does not fail the call; it is logged (its origin only: the rest of
// the URL may hold a token or user data) and otherwise ignored.
func (x *XDR) listPage(ctx context.Context, filter string, skip, top int) (*xdrIncidentList, error) {
	var params []queryParam
	if filter != "" {
		params = append(params, queryParam{"$filter", filter})
	}
	params = append(params, queryParam{"$top", strconv.Itoa(top)})
	if skip > 0 {
		params = append(params, queryParam{"$skip", strconv.Itoa(skip)})
	}
	u := x.up.base.endpoint("api", "incidents")
	u.RawQuery = encodeQuery(params)
	var page xdrIncidentList
	err := x.up.send(ctx, call{op: "list incidents", kind: opList, method: http.MethodGet, url: u,
		permission: xdrPermissions.read}, &page)
	if err != nil {
		return nil, err
	}
	if page.NextLink != "" {
		if _, ok := x.up.base.resolve(page.NextLink, u); !ok {
			x.up.log.LogAttrs(ctx, slog.LevelWarn, "XDR sent an @odata.nextLink outside the API base; ignored, paging goes on by $skip",
				slog.String("backend", string(x.up.kind)),
				slog.String("link_origin", linkOrigin(page.NextLink)))
		}
	}
	return &page, nil
}

// linkOrigin is what may be logged of an upstream link: its scheme and
// host, never its path, query or user info.
func linkOrigin(link string) string {
	l, err := url.Parse(link)
	if err != nil || l.Host == "" {
		return "(not an absolute URL)"
	}
	return l.Scheme + "://" + l.Host
}

// xdrFilter builds the upstream $filter: status, assignedTo and the time
// ranges. Severity is not filterable on XDR (it is filtered locally).
// Status values are quoted PascalCase ('Active'); the reference leaves
// quoting unconfirmed and public code sends them unquoted.
func xdrFilter(f IncidentFilter) (string, error) {
	statuses, err := xdrWire.statusNames(f.Statuses)
	if err != nil {
		return "", err
	}
	for _, s := range f.Severities {
		if s == SeverityUnspecified {
			return "", Errorf(KindInvalidArgument, ReasonInvalidArgument, "severity must be a known, specified value")
		}
	}
	var b odataFilter
	b.equalsAny("status", statuses)
	if f.AssignedTo != "" {
		b.equals("assignedTo", f.AssignedTo)
	}
	b.timeRange("createdTime", f.CreatedFrom, f.CreatedBefore)
	b.timeRange("lastUpdateTime", f.UpdatedFrom, f.UpdatedBefore)
	return b.String(), nil
}
