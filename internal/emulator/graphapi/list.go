package graphapi

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/access"
	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/odata"
	"github.com/defender-gateway/gateway/internal/emulator/store"
	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// listPage is the collection envelope of GET /security/incidents.
type listPage struct {
	Context  string         `json:"@odata.context"`
	Count    *int           `json:"@odata.count,omitempty"`
	NextLink string         `json:"@odata.nextLink,omitempty"`
	Value    []incidentJSON `json:"value"`
}

// listRequest is a validated list query.
type listRequest struct {
	filter odata.Expr
	top    int
	skip   int
	after  *position // from $skiptoken
	count  bool
	render renderOptions
}

func (h *handler) listIncidents(w http.ResponseWriter, r *http.Request, c claims.Claims) {
	req, err := parseListRequest(r)
	if err != nil {
		badRequest(w, r, err.Error())
		return
	}
	var matches []store.Incident
	for _, inc := range h.store.Listing(c.TenantID) {
		if access.Sees(c, inc.ID) && odata.Match(req.filter, func(cmp *odata.Comparison) bool { return matchIncident(cmp, inc) }) {
			matches = append(matches, inc)
		}
	}
	start := 0
	if req.after != nil {
		for start < len(matches) && !req.after.before(matches[start]) {
			start++
		}
	}
	start = min(start+req.skip, len(matches))
	end := min(start+req.top, len(matches))

	page := listPage{
		Context: baseURL(r) + "/v1.0/$metadata#security/incidents",
		Value:   make([]incidentJSON, 0, end-start),
	}
	if req.expandAlerts() {
		page.Context += "(alerts())"
	}
	if req.count {
		n := len(matches)
		page.Count = &n
	}
	for _, inc := range matches[start:end] {
		page.Value = append(page.Value, toIncidentJSON(inc, req.render))
	}
	if end < len(matches) && end > start {
		page.NextLink = nextLink(r, positionOf(matches[end-1]))
	}
	wire.WriteJSON(w, http.StatusOK, page)
}

func (l listRequest) expandAlerts() bool { return l.render.expandAlerts }

func parseListRequest(r *http.Request) (listRequest, error) {
	q, err := parseQuery(r.URL.RawQuery, "$filter", "$top", "$skip", "$expand", "$count", "$skiptoken")
	if err != nil {
		return listRequest{}, err
	}
	req := listRequest{render: renderOptions{includeUnknown: wantsUnknownMembers(r)}}
	if req.filter, err = odata.ParseFilter(q.Get("$filter"), filterSchema); err != nil {
		return listRequest{}, err
	}
	if req.top, req.skip, err = odata.ParsePaging(q, DefaultPageSize, MaxPageSize); err != nil {
		return listRequest{}, err
	}
	if req.render.expandAlerts, err = parseExpand(q.Get("$expand")); err != nil {
		return listRequest{}, err
	}
	switch strings.ToLower(q.Get("$count")) {
	case "", "false":
	case "true":
		req.count = true
	default:
		return listRequest{}, fmt.Errorf("Invalid $count '%s': use true or false.", q.Get("$count"))
	}
	if raw := q.Get("$skiptoken"); q.Has("$skiptoken") {
		p, err := parseSkipToken(raw)
		if err != nil {
			return listRequest{}, err
		}
		req.after = &p
	}
	return req, nil
}

// filterSchema is the $filter field set of incidents (reference §7.2).
// Enum values must be quoted and compare case-insensitively.
var filterSchema = odata.Schema{
	"assignedTo":         {Accepts: odata.KindString | odata.KindNull},
	"classification":     {Accepts: odata.KindString, Validate: validateWith(parseClassification)},
	"createdDateTime":    {Accepts: odata.KindDateTime, Ordered: true},
	"determination":      {Accepts: odata.KindString, Validate: validateWith(parseDetermination)},
	"lastUpdateDateTime": {Accepts: odata.KindDateTime, Ordered: true},
	"severity":           {Accepts: odata.KindString, Validate: validateWith(parseSeverity)},
	"status":             {Accepts: odata.KindString, Validate: validateWith(parseFilterStatus)},
}

// parseFilterStatus also accepts unknownFutureValue, which matches nothing.
func parseFilterStatus(s string) (store.Status, error) {
	if strings.EqualFold(s, unknownFutureValue) {
		return unknownFutureValue, nil
	}
	return parseStatus(s)
}

func validateWith[T any](parse func(string) (T, error)) func(odata.Literal) error {
	return func(l odata.Literal) error {
		_, err := parse(l.Text)
		return err
	}
}

// matchIncident evaluates one comparison; values were validated by
// filterSchema, so parse errors cannot occur here.
func matchIncident(c *odata.Comparison, inc store.Incident) bool {
	switch c.Field {
	case "assignedTo":
		return odata.MatchString(c, inc.AssignedTo, inc.AssignedTo != "")
	case "createdDateTime":
		return odata.MatchTime(c, inc.CreatedTime)
	case "lastUpdateDateTime":
		return odata.MatchTime(c, inc.LastUpdateTime)
	case "classification":
		v, _ := parseClassification(c.Value.Text)
		return matchEnum(c, inc.Classification == v)
	case "determination":
		v, _ := parseDetermination(c.Value.Text)
		return matchEnum(c, inc.Determination == v)
	case "severity":
		v, _ := parseSeverity(c.Value.Text)
		return matchEnum(c, inc.Severity == v)
	case "status":
		v, _ := parseFilterStatus(c.Value.Text)
		return matchEnum(c, inc.Status == v)
	}
	return false
}

func matchEnum(c *odata.Comparison, equal bool) bool {
	if c.Op == odata.Ne {
		return !equal
	}
	return equal
}

// position is a place in the list order (created desc, id desc): the last
// incident of a page. Keyset paging keeps pages free of duplicates and gaps
// while incidents are updated between requests.
type position struct {
	created time.Time
	id      int64
}

func positionOf(inc store.Incident) position { return position{created: inc.CreatedTime, id: inc.ID} }

// before reports whether inc comes after p in the list order.
func (p position) before(inc store.Incident) bool {
	if c := inc.CreatedTime.Compare(p.created); c != 0 {
		return c < 0
	}
	return inc.ID < p.id
}

const skipTokenVersion = "v1"

func (p position) token() string {
	raw := fmt.Sprintf("%s:%d:%d", skipTokenVersion, p.created.UnixNano(), p.id)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

var errBadSkipToken = errors.New("The $skiptoken is invalid or expired; restart paging from the first page.")

func parseSkipToken(s string) (position, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return position{}, errBadSkipToken
	}
	parts := strings.Split(string(raw), ":")
	if len(parts) != 3 || parts[0] != skipTokenVersion {
		return position{}, errBadSkipToken
	}
	nanos, err1 := strconv.ParseInt(parts[1], 10, 64)
	id, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return position{}, errBadSkipToken
	}
	return position{created: time.Unix(0, nanos).UTC(), id: id}, nil
}

// nextLink is the request URL on the caller's host with the same options,
// $skip consumed and $skiptoken set to after.
func nextLink(r *http.Request, after position) string { return nextLinkWith(r, after.token()) }

// nextLinkWith is nextLink with the $skiptoken value given.
func nextLinkWith(r *http.Request, skipToken string) string {
	var kept []string
	for _, part := range strings.Split(r.URL.RawQuery, "&") {
		key, _, _ := strings.Cut(part, "=")
		if k, err := url.QueryUnescape(key); part == "" || err != nil || k == "$skip" || k == "$skiptoken" {
			continue
		}
		kept = append(kept, part)
	}
	kept = append(kept, "$skiptoken="+skipToken)
	return baseURL(r) + r.URL.Path + "?" + strings.Join(kept, "&")
}
