package graphapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/defender-gateway/gateway/internal/emulator/access"
	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/store"
	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// alertEntityResponse is a single alert with its context.
type alertEntityResponse struct {
	Context string `json:"@odata.context"`
	alertJSON
}

func (h *handler) getAlert(w http.ResponseWriter, r *http.Request, c claims.Claims) {
	if _, err := parseQuery(r.URL.RawQuery); err != nil {
		badRequest(w, r, err.Error())
		return
	}
	id := r.PathValue("id")
	a, inc, err := h.visibleAlert(c, id)
	if err != nil {
		writeAlertStoreError(w, r, id, err)
		return
	}
	writeAlert(w, r, a, inc)
}

// visibleAlert returns alert id and its incident if the caller may see the
// incident, else store.ErrNotFound: an alert of an incident outside a
// user's scope does not exist for them.
func (h *handler) visibleAlert(c claims.Claims, id string) (store.Alert, store.Incident, error) {
	a, inc, err := h.store.GetAlert(c.TenantID, id)
	if err != nil {
		return store.Alert{}, store.Incident{}, err
	}
	if !access.Sees(c, inc.ID) {
		return store.Alert{}, store.Incident{}, store.ErrNotFound
	}
	return a, inc, nil
}

func writeAlert(w http.ResponseWriter, r *http.Request, a store.Alert, inc store.Incident) {
	wire.WriteJSON(w, http.StatusOK, alertEntityResponse{
		Context:   baseURL(r) + "/v1.0/$metadata#security/alerts_v2/$entity",
		alertJSON: toAlertJSON(a, inc),
	})
}

func writeAlertStoreError(w http.ResponseWriter, r *http.Request, id string, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		wire.WriteGraphError(w, r, http.StatusNotFound, "NotFound", "Alert "+id+" was not found")
	case errors.Is(err, store.ErrInvalidPatch):
		badRequest(w, r, err.Error())
	default:
		wire.WriteGraphError(w, r, http.StatusInternalServerError, "InternalServerError", err.Error())
	}
}

func (h *handler) updateAlert(w http.ResponseWriter, r *http.Request, c claims.Claims) {
	id := r.PathValue("id")
	members, err := readObject(w, r)
	if err != nil {
		badRequest(w, r, err.Error())
		return
	}
	patch, err := decodeAlertPatch(members)
	if err != nil {
		badRequest(w, r, err.Error())
		return
	}
	patch.Author = actor(c)
	if _, _, err := h.visibleAlert(c, id); err != nil {
		writeAlertStoreError(w, r, id, err)
		return
	}
	a, inc, err := h.store.UpdateAlert(c.TenantID, id, patch)
	if err != nil {
		writeAlertStoreError(w, r, id, err)
		return
	}
	writeAlert(w, r, a, inc)
}

// alertPatchKeys are the alert properties a PATCH may set (G7, the Graph
// "Update alert" page).
var alertPatchKeys = []string{"assignedTo", "classification", "determination", "status"}

// decodeAlertPatch maps the PATCH body onto a store alert patch, with the
// incident PATCH's rules: unknown keys and values, wrong types and null for
// anything but assignedTo are rejected; @odata annotations are ignored.
func decodeAlertPatch(members map[string]json.RawMessage) (store.AlertPatch, error) {
	var p store.AlertPatch
	for _, key := range slices.Sorted(maps.Keys(members)) {
		if isAnnotation(key) {
			continue
		}
		if !slices.Contains(alertPatchKeys, key) {
			return store.AlertPatch{}, fmt.Errorf("Property '%s' does not exist on type 'microsoft.graph.security.alert' or cannot be updated; updatable: %s.", key, strings.Join(alertPatchKeys, ", "))
		}
		value, isNull, err := decodeString(key, members[key])
		if err != nil {
			return store.AlertPatch{}, err
		}
		if isNull && key != "assignedTo" {
			return store.AlertPatch{}, fmt.Errorf("Property '%s' cannot be null.", key)
		}
		switch key {
		case "assignedTo":
			p.AssignedTo = &value
		case "status":
			var s store.AlertStatus
			s, err = parseAlertStatus(value)
			p.Status = &s
		case "classification":
			var cl store.Classification
			cl, err = parseClassification(value)
			p.Classification = &cl
		case "determination":
			var d store.Determination
			d, err = parseDetermination(value)
			p.Determination = &d
		}
		if err != nil {
			return store.AlertPatch{}, fmt.Errorf("Invalid value for property '%s': %v.", key, err)
		}
	}
	return p, nil
}

func (h *handler) addAlertComment(w http.ResponseWriter, r *http.Request, c claims.Claims) {
	id := r.PathValue("id")
	members, err := readObject(w, r)
	if err != nil {
		badRequest(w, r, err.Error())
		return
	}
	text, err := decodeComment(members)
	if err != nil {
		badRequest(w, r, err.Error())
		return
	}
	if _, _, err := h.visibleAlert(c, id); err != nil {
		writeAlertStoreError(w, r, id, err)
		return
	}
	a, _, err := h.store.AddAlertComment(c.TenantID, id, text, actor(c))
	if err != nil {
		writeAlertStoreError(w, r, id, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, commentsResponse{
		Context: baseURL(r) + "/v1.0/$metadata#Collection(" + alertCommentType + ")",
		Value:   toComments(a.Comments),
	})
}
