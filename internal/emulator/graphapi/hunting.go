package graphapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/kql"
	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// The body is microsoft.graph.security.huntingQueryResults:
// {"@odata.context","schema":[{name,type}],"results":[...]}, streamed.

type huntingColumn struct {
	Name string `json:"name"`
	Type string `json:"type"`
}

func (h *handler) runHuntingQuery(w http.ResponseWriter, r *http.Request, c claims.Claims) {
	members, err := readObject(w, r)
	if err != nil {
		badRequest(w, r, err.Error())
		return
	}
	query, err := decodeHuntingRequest(members)
	if err != nil {
		badRequest(w, r, err.Error())
		return
	}
	db := h.store.Hunting(c.TenantID)
	formatTime := func(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
	// Measure first (nothing is kept), so the size limit is checked
	// before any row is sent; then stream the rows.
	_, size, err := wire.MeasureHunting(r.Context(), db, query, formatTime)
	if err == nil && size > wire.GraphMaxResultBytes {
		badRequest(w, r, fmt.Sprintf(wire.ResultTooLargeMessage, wire.GraphMaxResultBytes>>20))
		return
	}
	var s *kql.Stream
	if err == nil {
		s, err = db.Stream(r.Context(), query)
	}
	var kqlErr *kql.Error
	switch {
	case errors.As(err, &kqlErr):
		badRequest(w, r, kqlErr.Message)
		return
	case err != nil:
		wire.WriteGraphError(w, r, http.StatusInternalServerError, "InternalServerError", "The query failed: "+err.Error())
		return
	}
	head, _ := json.Marshal(struct {
		Context string          `json:"@odata.context"`
		Schema  []huntingColumn `json:"schema"`
	}{Context: baseURL(r) + "/v1.0/$metadata#microsoft.graph.security.huntingQueryResults", Schema: graphSchema(s.Columns())})
	open := append(head[:len(head)-1], `,"results":[`...)
	wire.StreamHunting(w, s, formatTime, open, []byte("]}"), h.store.HuntingRowsCounter())
}

func graphSchema(cols []kql.Column) []huntingColumn {
	out := make([]huntingColumn, len(cols))
	for i, col := range cols {
		out[i] = huntingColumn{Name: col.Name, Type: col.Type}
	}
	return out
}

// decodeHuntingRequest reads {"Query","Timespan"}; Graph matches property
// names case-insensitively here (reference §7.5).
func decodeHuntingRequest(members map[string]json.RawMessage) (string, error) {
	var query string
	hasQuery := false
	for _, key := range slices.Sorted(maps.Keys(members)) {
		raw := members[key]
		switch {
		case isAnnotation(key):
		case strings.EqualFold(key, "query"):
			s, _, err := decodeString("Query", raw)
			if err != nil {
				return "", err
			}
			query, hasQuery = s, true
		case strings.EqualFold(key, "timespan"):
			s, isNull, err := decodeString("Timespan", raw)
			if err != nil {
				return "", err
			}
			if !isNull {
				if err := validateTimespan(s); err != nil {
					return "", err
				}
			}
		default:
			return "", fmt.Errorf("Property '%s' does not exist; runHuntingQuery takes Query and Timespan.", key)
		}
	}
	if !hasQuery || strings.TrimSpace(query) == "" {
		return "", errors.New("The parameter 'Query' is required and must not be empty.")
	}
	return query, nil
}
