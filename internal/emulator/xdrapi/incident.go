package xdrapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

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
	id, ok := incidentID(w, r)
	if !ok {
		return
	}
	if !access.Sees(c, id) {
		writeStoreError(w, id, store.ErrNotFound)
		return
	}
	inc, err := h.store.Get(c.TenantID, id)
	if err != nil {
		writeStoreError(w, id, err)
		return
	}
	writeIncident(w, inc)
}

func (h *handler) updateIncident(w http.ResponseWriter, r *http.Request, c claims.Claims) {
	id, ok := incidentID(w, r)
	if !ok {
		return
	}
	members, err := readObject(w, r)
	if err != nil {
		wire.WriteXDRError(w, http.StatusBadRequest, codeInvalidRequestBody, err.Error())
		return
	}
	patch, err := decodePatch(members)
	if err != nil {
		wire.WriteXDRError(w, http.StatusBadRequest, codeInvalidInput, err.Error())
		return
	}
	patch.Author = actor(c)
	if !access.Sees(c, id) {
		writeStoreError(w, id, store.ErrNotFound)
		return
	}
	inc, err := h.store.Update(c.TenantID, id, patch)
	if err != nil {
		writeStoreError(w, id, err)
		return
	}
	writeIncident(w, inc)
}

func writeIncident(w http.ResponseWriter, inc store.Incident) {
	wire.WriteJSON(w, http.StatusOK, entityResponse{Context: metadataURL + "#Incidents/$entity", incidentJSON: toIncidentJSON(inc)})
}

// patchKeys are the PATCH body keys XDR documents.
var patchKeys = []string{"status", "assignedTo", "classification", "determination", "tags", "comment"}

// decodePatch maps the PATCH body (reference §4.6) onto a store patch:
// omitted keys stay unchanged, tags replace, comment appends.
func decodePatch(members map[string]json.RawMessage) (store.Patch, error) {
	var p store.Patch
	for _, key := range slices.Sorted(maps.Keys(members)) {
		raw := members[key]
		if !slices.Contains(patchKeys, key) {
			return store.Patch{}, fmt.Errorf("'%s' is not an updatable incident property; use %s.", key, strings.Join(patchKeys, ", "))
		}
		if key == "tags" {
			var tags []string
			if err := json.Unmarshal(raw, &tags); err != nil || string(raw) == "null" {
				return store.Patch{}, errors.New("'tags' must be an array of strings.")
			}
			p.CustomTags = &tags
			continue
		}
		var value *string
		if err := json.Unmarshal(raw, &value); err != nil {
			return store.Patch{}, fmt.Errorf("'%s' must be a string.", key)
		}
		if value == nil && key != "assignedTo" {
			return store.Patch{}, fmt.Errorf("'%s' cannot be null.", key)
		}
		if err := applyPatchField(&p, key, value); err != nil {
			return store.Patch{}, err
		}
	}
	return p, nil
}

func applyPatchField(p *store.Patch, key string, value *string) error {
	var err error
	switch key {
	case "assignedTo":
		owner := ""
		if value != nil {
			owner = *value
		}
		p.AssignedTo = &owner
	case "status":
		var s store.Status
		s, err = statuses.parse(*value)
		p.Status = &s
	case "classification":
		var c store.Classification
		c, err = classifications.parse(*value)
		p.Classification = &c
	case "determination":
		var d store.Determination
		d, err = determinations.parse(*value)
		p.Determination = &d
	case "comment":
		if strings.TrimSpace(*value) == "" {
			return errors.New("'comment' must not be empty.")
		}
		p.Comment = *value
	}
	if err != nil {
		return fmt.Errorf("Invalid value for '%s': %v.", key, err)
	}
	return nil
}

// incidentID parses the {id} path segment, answering 400 for a non-numeric
// one.
func incidentID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	raw := r.PathValue("id")
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 {
		wire.WriteXDRError(w, http.StatusBadRequest, codeBadRequest, "Invalid incident id '"+raw+"': an incident id is a positive integer.")
		return 0, false
	}
	return id, true
}

func writeStoreError(w http.ResponseWriter, id int64, err error) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		wire.WriteXDRError(w, http.StatusNotFound, codeResourceNotFound, "Incident "+strconv.FormatInt(id, 10)+" was not found")
	case errors.Is(err, store.ErrInvalidPatch):
		wire.WriteXDRError(w, http.StatusBadRequest, codeInvalidInput, err.Error())
	default:
		wire.WriteXDRError(w, http.StatusInternalServerError, codeInternalServerError, err.Error())
	}
}
