package xdrapi

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/defender-gateway/gateway/internal/emulator/access"
	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/odata"
	"github.com/defender-gateway/gateway/internal/emulator/store"
	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// listPage is the collection envelope of GET /api/incidents; XDR pages
// with $top/$skip and sends no nextLink (reference §4.2).
type listPage struct {
	Context string         `json:"@odata.context"`
	Value   []incidentJSON `json:"value"`
}

// filterSchema: only these four fields are filterable (reference §4.2).
// Status and assignedTo take quoted or bare values, compared
// case-insensitively; datetimes are unquoted.
var filterSchema = odata.Schema{
	"lastUpdateTime": {Accepts: odata.KindDateTime, Ordered: true},
	"createdTime":    {Accepts: odata.KindDateTime, Ordered: true},
	"status": {Accepts: odata.KindString | odata.KindEnum, Validate: func(l odata.Literal) error {
		_, err := statuses.parse(l.Text)
		return err
	}},
	"assignedTo": {Accepts: odata.KindString | odata.KindEnum | odata.KindNull},
}

func (h *handler) listIncidents(w http.ResponseWriter, r *http.Request, c claims.Claims) {
	filter, top, skip, err := parseListQuery(r.URL.RawQuery)
	if err != nil {
		wire.WriteXDRError(w, http.StatusBadRequest, codeODataError, err.Error())
		return
	}
	page := listPage{Context: metadataURL + "#Incidents", Value: []incidentJSON{}}
	matched := 0
	for _, inc := range h.store.Listing(c.TenantID) {
		if !access.Sees(c, inc.ID) || !odata.Match(filter, func(cmp *odata.Comparison) bool { return matchIncident(cmp, inc) }) {
			continue
		}
		if matched >= skip && len(page.Value) < top {
			page.Value = append(page.Value, toIncidentJSON(inc))
		}
		matched++
	}
	wire.WriteJSON(w, http.StatusOK, page)
}

// parseListQuery validates $filter, $top and $skip. Other $-options are
// rejected; parameters without "$" (such as tid) are ignored.
func parseListQuery(rawQuery string) (filter odata.Expr, top, skip int, err error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("The query string is malformed: %v.", err)
	}
	for key, values := range q {
		switch {
		case !strings.HasPrefix(key, "$"):
			continue
		case key != "$filter" && key != "$top" && key != "$skip":
			return nil, 0, 0, fmt.Errorf("The query parameter '%s' is not supported. Supported: $filter, $top, $skip.", key)
		case len(values) > 1:
			return nil, 0, 0, fmt.Errorf("The query parameter '%s' is specified more than once.", key)
		}
	}
	if filter, err = odata.ParseFilter(q.Get("$filter"), filterSchema); err != nil {
		return nil, 0, 0, err
	}
	if top, skip, err = odata.ParsePaging(q, DefaultPageSize, MaxPageSize); err != nil {
		return nil, 0, 0, err
	}
	return filter, top, skip, nil
}

// matchIncident compares on the wire spelling, so "status eq Active" also
// matches incidents shown as Active (awaitingAction ones).
func matchIncident(c *odata.Comparison, inc store.Incident) bool {
	switch c.Field {
	case "lastUpdateTime":
		return odata.MatchTime(c, inc.LastUpdateTime)
	case "createdTime":
		return odata.MatchTime(c, inc.CreatedTime)
	case "status":
		return odata.MatchString(c, statuses.out(inc.Status), true)
	case "assignedTo":
		return odata.MatchString(c, inc.AssignedTo, inc.AssignedTo != "")
	}
	return false
}
