package graphapi

import (
	"cmp"
	"encoding/base64"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/access"
	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/odata"
	"github.com/defender-gateway/gateway/internal/emulator/store"
	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// Page sizes of GET /v1.0/security/alerts_v2. The reference documents
// neither (§7.2: the $top ≤ 1000 cap is the legacy /security/alerts'); the
// emulator applies the incidents' observed 50, so that a client that works
// here stays within whatever Graph allows.
const (
	AlertDefaultPageSize = 50
	AlertMaxPageSize     = 50
)

const alertsPath = "/v1.0/security/alerts_v2"

// alertListPage is the collection envelope of GET /security/alerts_v2.
type alertListPage struct {
	Context  string      `json:"@odata.context"`
	Count    *int        `json:"@odata.count,omitempty"`
	NextLink string      `json:"@odata.nextLink,omitempty"`
	Value    []alertJSON `json:"value"`
}

// alertListRequest is a validated alert list query.
type alertListRequest struct {
	filter odata.Expr
	order  alertOrder
	top    int
	skip   int
	after  *alertPosition // from $skiptoken
	count  bool
}

// listedAlert is an alert with the incident that holds it.
type listedAlert struct {
	alert store.Alert
	inc   store.Incident
}

func (h *handler) listAlerts(w http.ResponseWriter, r *http.Request, c claims.Claims) {
	req, err := parseAlertListRequest(r)
	if err != nil {
		badRequest(w, r, err.Error())
		return
	}
	var matches []listedAlert
	for _, inc := range h.store.Listing(c.TenantID) {
		if !access.Sees(c, inc.ID) {
			continue
		}
		for _, a := range inc.Alerts {
			if odata.Match(req.filter, func(cmp *odata.Comparison) bool { return matchAlert(cmp, a) }) {
				matches = append(matches, listedAlert{alert: a, inc: inc})
			}
		}
	}
	slices.SortFunc(matches, func(x, y listedAlert) int { return req.order.compare(x.alert, y.alert) })
	start := 0
	if req.after != nil {
		for start < len(matches) && !req.after.before(req.order, matches[start].alert) {
			start++
		}
	}
	start = min(start+req.skip, len(matches))
	end := min(start+req.top, len(matches))

	page := alertListPage{
		Context: baseURL(r) + "/v1.0/$metadata#security/alerts_v2",
		Value:   make([]alertJSON, 0, end-start),
	}
	if req.count {
		n := len(matches)
		page.Count = &n
	}
	for _, m := range matches[start:end] {
		page.Value = append(page.Value, toAlertJSON(m.alert, m.inc))
	}
	if end < len(matches) && end > start {
		page.NextLink = nextLinkWith(r, req.order.positionOf(matches[end-1].alert).token())
	}
	wire.WriteJSON(w, http.StatusOK, page)
}

func parseAlertListRequest(r *http.Request) (alertListRequest, error) {
	q, err := parseQuery(r.URL.RawQuery, "$filter", "$top", "$skip", "$count", "$orderby", "$skiptoken")
	if err != nil {
		return alertListRequest{}, err
	}
	var req alertListRequest
	if req.filter, err = odata.ParseFilter(q.Get("$filter"), alertFilterSchema); err != nil {
		return alertListRequest{}, err
	}
	if req.top, req.skip, err = odata.ParsePaging(q, AlertDefaultPageSize, AlertMaxPageSize); err != nil {
		return alertListRequest{}, err
	}
	if req.order, err = parseAlertOrder(q.Get("$orderby"), q.Has("$orderby")); err != nil {
		return alertListRequest{}, err
	}
	switch strings.ToLower(q.Get("$count")) {
	case "", "false":
	case "true":
		req.count = true
	default:
		return alertListRequest{}, fmt.Errorf("Invalid $count '%s': use true or false.", q.Get("$count"))
	}
	if q.Has("$skiptoken") {
		p, err := parseAlertSkipToken(q.Get("$skiptoken"), req.order)
		if err != nil {
			return alertListRequest{}, err
		}
		req.after = &p
	}
	return req, nil
}

// alertFilterSchema is the $filter field set of alerts_v2: the incidents'
// fields and serviceSource (reference §7.2), plus detectionSource and
// incidentId (the emulator's addition; see docs/emulator-apis.md).
var alertFilterSchema = odata.Schema{
	"assignedTo":         {Accepts: odata.KindString | odata.KindNull},
	"classification":     {Accepts: odata.KindString, Validate: validateWith(parseClassification)},
	"createdDateTime":    {Accepts: odata.KindDateTime, Ordered: true},
	"detectionSource":    {Accepts: odata.KindString, Validate: validateWith(parseDetectionSource)},
	"determination":      {Accepts: odata.KindString, Validate: validateWith(parseDetermination)},
	"incidentId":         {Accepts: odata.KindString},
	"lastUpdateDateTime": {Accepts: odata.KindDateTime, Ordered: true},
	"serviceSource":      {Accepts: odata.KindString, Validate: validateWith(parseServiceSource)},
	"severity":           {Accepts: odata.KindString, Validate: validateWith(parseSeverity)},
	"status":             {Accepts: odata.KindString, Validate: validateWith(parseFilterAlertStatus)},
}

// matchAlert evaluates one comparison; values were validated by
// alertFilterSchema.
func matchAlert(c *odata.Comparison, a store.Alert) bool {
	switch c.Field {
	case "assignedTo":
		return odata.MatchString(c, a.AssignedTo, a.AssignedTo != "")
	case "createdDateTime":
		return odata.MatchTime(c, a.CreatedTime)
	case "lastUpdateDateTime":
		return odata.MatchTime(c, a.LastUpdateTime)
	case "incidentId":
		return odata.MatchString(c, strconv.FormatInt(a.IncidentID, 10), true)
	case "classification":
		v, _ := parseClassification(c.Value.Text)
		return matchEnum(c, a.Classification == v)
	case "determination":
		v, _ := parseDetermination(c.Value.Text)
		return matchEnum(c, a.Determination == v)
	case "severity":
		v, _ := parseSeverity(c.Value.Text)
		return matchEnum(c, a.Severity == v)
	case "status":
		v, _ := parseFilterAlertStatus(c.Value.Text)
		return matchEnum(c, a.Status == v)
	case "serviceSource":
		v, _ := parseServiceSource(c.Value.Text)
		return matchEnum(c, a.ServiceSource == v)
	case "detectionSource":
		v, _ := parseDetectionSource(c.Value.Text)
		return matchEnum(c, a.DetectionSource == v)
	}
	return false
}

// alertOrder is the list order: a time field, ascending or descending, ties
// broken by id in the same direction. The default is createdDateTime desc.
type alertOrder struct {
	field string // createdDateTime or lastUpdateDateTime
	asc   bool
}

var orderableAlertFields = []string{"createdDateTime", "lastUpdateDateTime"}

// parseAlertOrder accepts "<field>", "<field> asc" or "<field> desc" for
// one field of orderableAlertFields.
func parseAlertOrder(raw string, present bool) (alertOrder, error) {
	if !present {
		return alertOrder{field: "createdDateTime"}, nil
	}
	parts := strings.Fields(raw)
	bad := fmt.Errorf("Invalid $orderby '%s': order by one of %s, optionally followed by asc or desc.",
		raw, strings.Join(orderableAlertFields, ", "))
	if len(parts) == 0 || len(parts) > 2 || !slices.Contains(orderableAlertFields, parts[0]) {
		return alertOrder{}, bad
	}
	o := alertOrder{field: parts[0], asc: true}
	if len(parts) == 2 {
		switch parts[1] {
		case "asc":
		case "desc":
			o.asc = false
		default:
			return alertOrder{}, bad
		}
	}
	return o, nil
}

func (o alertOrder) key(a store.Alert) time.Time {
	if o.field == "lastUpdateDateTime" {
		return a.LastUpdateTime
	}
	return a.CreatedTime
}

// compare orders x before y (negative) when x comes first.
func (o alertOrder) compare(x, y store.Alert) int {
	c := o.key(x).Compare(o.key(y))
	if c == 0 {
		c = cmp.Compare(x.ID, y.ID)
	}
	if !o.asc {
		c = -c
	}
	return c
}

func (o alertOrder) code() string {
	dir := "desc"
	if o.asc {
		dir = "asc"
	}
	return o.field + "." + dir
}

func (o alertOrder) positionOf(a store.Alert) alertPosition {
	return alertPosition{order: o, key: o.key(a), id: a.ID}
}

// alertPosition is the last alert of a page in its order, for keyset
// paging.
type alertPosition struct {
	order alertOrder
	key   time.Time
	id    string
}

// before reports whether a comes after p in order o.
func (p alertPosition) before(o alertOrder, a store.Alert) bool {
	c := o.key(a).Compare(p.key)
	if c == 0 {
		c = cmp.Compare(a.ID, p.id)
	}
	if !o.asc {
		c = -c
	}
	return c > 0
}

const alertSkipTokenVersion = "a1"

func (p alertPosition) token() string {
	raw := fmt.Sprintf("%s:%s:%d:%s", alertSkipTokenVersion, p.order.code(), p.key.UnixNano(), p.id)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// parseAlertSkipToken decodes a $skiptoken made for order o; a token of
// another order (the $orderby changed between pages) is invalid.
func parseAlertSkipToken(s string, o alertOrder) (alertPosition, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return alertPosition{}, errBadSkipToken
	}
	parts := strings.SplitN(string(raw), ":", 4)
	if len(parts) != 4 || parts[0] != alertSkipTokenVersion || parts[1] != o.code() || parts[3] == "" {
		return alertPosition{}, errBadSkipToken
	}
	nanos, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return alertPosition{}, errBadSkipToken
	}
	return alertPosition{order: o, key: time.Unix(0, nanos).UTC(), id: parts[3]}, nil
}
