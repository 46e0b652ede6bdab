package xdr

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
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
// MaxUpstreamPagesPerList upstream pages were scanned (a rare severity),
// in which case it may hold fewer, even none, with a cursor to go on. A
// last page may also be empty when the previous one ended exactly at the
// end of the data.
func (x *XDR) ListIncidents(ctx context.Context, q defender.ListQuery) (*defender.IncidentPage, error) {
	if err := upstream.ValidatePageSize(q.PageSize); err != nil {
		return nil, err
	}
	filter, err := xdrFilter(q.Filter)
	if err != nil {
		return nil, err
	}
	pos := 0
	if q.Cursor != "" {
		var c upstream.XDRCursor
		if err := upstream.DecodeCursor(q.Cursor, &c); err != nil {
			return nil, err
		}
		if c.Skip < 0 || c.Skip > upstream.MaxCursorOffset {
			return nil, upstream.InvalidCursor()
		}
		pos = c.Skip
	}
	filterLocally := len(q.Filter.Severities) > 0
	out := make([]defender.Incident, 0, q.PageSize)
	for range upstream.MaxUpstreamPagesPerList {
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
			inc, err := upstream.IncidentResult(page.Value[i].toDomain(), q.WithAlerts)
			if err != nil {
				return nil, err
			}
			if filterLocally && !slices.Contains(q.Filter.Severities, inc.Severity) {
				continue
			}
			out = append(out, *inc)
			if len(out) == q.PageSize {
				if i+1 < len(page.Value) || more {
					return &defender.IncidentPage{Incidents: out, NextCursor: upstream.EncodeCursor(upstream.XDRCursor{Skip: pos + i + 1})}, nil
				}
				return &defender.IncidentPage{Incidents: out}, nil
			}
		}
		if !more || len(page.Value) == 0 {
			return &defender.IncidentPage{Incidents: out}, nil
		}
		pos += len(page.Value)
	}
	return &defender.IncidentPage{Incidents: out, NextCursor: upstream.EncodeCursor(upstream.XDRCursor{Skip: pos})}, nil
}

// listPage fetches one upstream page. A next link is unexpected on XDR and
// never followed: it is taken only as a sign that more incidents follow,
// and paging goes on by $skip, which needs no URL. So a link outside the API
// base does not fail the call; it is logged (its origin only: the rest of
// the URL may hold a token or user data) and otherwise ignored.
func (x *XDR) listPage(ctx context.Context, filter string, skip, top int) (*xdrIncidentList, error) {
	var params []upstream.QueryParam
	if filter != "" {
		params = append(params, upstream.QueryParam{Key: "$filter", Value: filter})
	}
	params = append(params, upstream.QueryParam{Key: "$top", Value: strconv.Itoa(top)})
	if skip > 0 {
		params = append(params, upstream.QueryParam{Key: "$skip", Value: strconv.Itoa(skip)})
	}
	u := x.up.Base.Endpoint("api", "incidents")
	u.RawQuery = upstream.EncodeQuery(params)
	var page xdrIncidentList
	err := x.up.Send(ctx, upstream.Call{Op: "list incidents", Kind: upstream.OpList, Method: http.MethodGet, URL: u,
		Permission: xdrPermissions.Read}, &page)
	if err != nil {
		return nil, err
	}
	if page.NextLink != "" {
		if _, ok := x.up.Base.Resolve(page.NextLink, u); !ok {
			x.up.Log.LogAttrs(ctx, slog.LevelWarn, "XDR sent an @odata.nextLink outside the API base; ignored, paging goes on by $skip",
				slog.String("backend", string(x.up.Kind)),
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
func xdrFilter(f defender.IncidentFilter) (string, error) {
	statuses, err := upstream.XDRWire.StatusNames(f.Statuses)
	if err != nil {
		return "", err
	}
	for _, s := range f.Severities {
		if s == defender.SeverityUnspecified {
			return "", defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "severity must be a known, specified value")
		}
	}
	var b upstream.ODataFilter
	b.EqualsAny("status", statuses)
	if f.AssignedTo != "" {
		b.Equals("assignedTo", f.AssignedTo)
	}
	b.TimeRange("createdTime", f.CreatedFrom, f.CreatedBefore)
	b.TimeRange("lastUpdateTime", f.UpdatedFrom, f.UpdatedBefore)
	return b.String(), nil
}
