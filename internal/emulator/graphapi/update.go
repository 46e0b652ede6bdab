package graphapi

import (
	"encoding/json"
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

func (h *handler) updateIncident(w http.ResponseWriter, r *http.Request, c claims.Claims) {
	id, ok := incidentID(w, r)
	if !ok {
		return
	}
	members, err := readObject(w, r)
	if err != nil {
		badRequest(w, r, err.Error())
		return
	}
	patch, err := decodePatch(members)
	if err != nil {
		badRequest(w, r, err.Error())
		return
	}
	patch.Author = actor(c)
	if !access.Sees(c, id) {
		writeStoreError(w, r, id, store.ErrNotFound)
		return
	}
	inc, err := h.store.Update(c.TenantID, id, patch)
	if err != nil {
		writeStoreError(w, r, id, err)
		return
	}
	writeIncident(w, r, inc, renderOptions{includeUnknown: wantsUnknownMembers(r)})
}

// patchKeys are the incident properties a PATCH may set.
var patchKeys = []string{"assignedTo", "classification", "determination", "status", "customTags"}

// decodePatch maps the PATCH body (reference §7.3) onto a store patch.
func decodePatch(members map[string]json.RawMessage) (store.Patch, error) {
	var p store.Patch
	for _, key := range slices.Sorted(maps.Keys(members)) {
		raw := members[key]
		if isAnnotation(key) {
			continue
		}
		if !slices.Contains(patchKeys, key) {
			return store.Patch{}, fmt.Errorf("Property '%s' does not exist on type 'microsoft.graph.security.incident' or cannot be updated; updatable: %s.", key, strings.Join(patchKeys, ", "))
		}
		if key == "customTags" {
			var tags []string
			if err := json.Unmarshal(raw, &tags); err != nil || string(raw) == "null" {
				return store.Patch{}, fmt.Errorf("Property 'customTags' must be an array of strings.")
			}
			p.CustomTags = &tags
			continue
		}
		value, isNull, err := decodeString(key, raw)
		if err != nil {
			return store.Patch{}, err
		}
		if err := applyPatchField(&p, key, value, isNull); err != nil {
			return store.Patch{}, err
		}
	}
	return p, nil
}

func applyPatchField(p *store.Patch, key, value string, isNull bool) error {
	if isNull && key != "assignedTo" {
		return fmt.Errorf("Property '%s' cannot be null.", key)
	}
	var err error
	switch key {
	case "assignedTo":
		p.AssignedTo = &value
	case "status":
		var s store.Status
		s, err = parsePatchStatus(value)
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
		return fmt.Errorf("Invalid value for property '%s': %v.", key, err)
	}
	return nil
}

// commentsResponse is the answer to POST .../comments: the full list.
type commentsResponse struct {
	Context string        `json:"@odata.context"`
	Value   []commentJSON `json:"value"`
}

const alertCommentType = "microsoft.graph.security.alertComment"

func (h *handler) addComment(w http.ResponseWriter, r *http.Request, c claims.Claims) {
	id, ok := incidentID(w, r)
	if !ok {
		return
	}
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
	if !access.Sees(c, id) {
		writeStoreError(w, r, id, store.ErrNotFound)
		return
	}
	inc, err := h.store.AddComment(c.TenantID, id, text, actor(c))
	if err != nil {
		writeStoreError(w, r, id, err)
		return
	}
	wire.WriteJSON(w, http.StatusOK, commentsResponse{
		Context: baseURL(r) + "/v1.0/$metadata#Collection(" + alertCommentType + ")",
		Value:   toComments(inc.Comments),
	})
}

// decodeComment validates {"@odata.type":"…alertComment","comment":"…"}.
func decodeComment(members map[string]json.RawMessage) (string, error) {
	var text string
	for _, key := range slices.Sorted(maps.Keys(members)) {
		raw := members[key]
		switch key {
		case "@odata.type":
			typ, _, err := decodeString(key, raw)
			if err != nil || strings.TrimPrefix(typ, "#") != alertCommentType {
				return "", fmt.Errorf("'@odata.type' must be '%s'.", alertCommentType)
			}
		case "comment":
			s, _, err := decodeString(key, raw)
			if err != nil {
				return "", err
			}
			text = s
		default:
			return "", fmt.Errorf("Property '%s' does not exist on type '%s'.", key, alertCommentType)
		}
	}
	if strings.TrimSpace(text) == "" {
		return "", fmt.Errorf("Property 'comment' is required and must not be empty.")
	}
	return text, nil
}
