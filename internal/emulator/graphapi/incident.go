package graphapi

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/defender-gateway/gateway/internal/emulator/access"
	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/store"
	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// entityResponse is a single incident with its context.
type entityResponse struct {
	Context string `json:"@odata.context"`
	incidentJSON
}

func (h *handler) getIncident(w http.ResponseWriter, r *http.Request, c claims.Claims) {
	q, err := parseQuery(r.URL.RawQuery, "$expand")
	if err != nil {
		badRequest(w, r, err.Error())
		return
	}
	expand, err := parseExpand(q.Get("$expand"))
	if err != nil {
		badRequest(w, r, err.Error())
		return
	}
	id, ok := incidentID(w, r)
	if !ok {
		return
	}
	inc, err := h.visible(c, id)
	if err != nil {
		writeStoreError(w, r, id, err)
		return
	}
	writeIncident(w, r, inc, renderOptions{expandAlerts: expand, includeUnknown: wantsUnknownMembers(r)})
}

// visible returns incident id if the caller may see it, else
// store.ErrNotFound: an incident outside a user's scope does not exist for
// them.
func (h *handler) visible(c claims.Claims, id int64) (store.Incident, error) {
	if !access.Sees(c, id) {
		return store.Incident{}, store.ErrNotFound
	}
	return h.store.Get(c.TenantID, id)
}

func writeIncident(w http.ResponseWriter, r *http.Request, inc store.Incident, opt renderOptions) {
	wire.WriteJSON(w, http.StatusOK, entityResponse{
		Context:      baseURL(r) + "/v1.0/$metadata#security/incidents/$entity",
		incidentJSON: toIncidentJSON(inc, opt),
	})
}

// incidentID parses the {id} path segment, answering 400 for a non-numeric
// one.
func incidentID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		badRequest(w, r, "Invalid incident id '"+raw+"': an incident id is a positive integer.")
		return 0, false
	}
	return id, true
}

func writeStoreError(w http.ResponseWriter, r *http.Request, id int64, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		wire.WriteGraphError(w, r, http.StatusNotFound, "NotFound", "Incident "+strconv.FormatInt(id, 10)+" was not found")
	case errors.Is(err, store.ErrInvalidPatch):
		badRequest(w, r, err.Error())
	default:
		wire.WriteGraphError(w, r, http.StatusInternalServerError, "InternalServerError", err.Error())
	}
}
