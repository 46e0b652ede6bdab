package xdrapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/kql"
	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// huntingHead is the answer of POST /api/advancedhunting/run (reference
// §5) before its "Results":[...], which are streamed after it.
type huntingHead struct {
	Stats  huntingStats    `json:"Stats"`
	Schema []huntingColumn `json:"Schema"`
}

type huntingColumn struct {
	Name string `json:"Name"`
	Type string `json:"Type"`
}

// huntingStats mimics the opaque statistics block real responses carry.
type huntingStats struct {
	ExecutionTime     float64          `json:"ExecutionTime"`
	ResourceUsage     map[string]any   `json:"resource_usage"`
	DatasetStatistics []map[string]any `json:"dataset_statistics"`
}

func (h *handler) runHuntingQuery(w http.ResponseWriter, r *http.Request, c claims.Claims) {
	members, err := readObject(w, r)
	if err != nil {
		wire.WriteXDRError(w, http.StatusBadRequest, codeInvalidRequestBody, err.Error())
		return
	}
	query, code, err := decodeQuery(members)
	if err != nil {
		wire.WriteXDRError(w, http.StatusBadRequest, code, err.Error())
		return
	}
	started := time.Now()
	db := h.store.Hunting(c.TenantID)
	// Measure first (nothing is kept): Stats, which come before the rows,
	// need the row count, and the size limit is checked before any row.
	rows, size, err := wire.MeasureHunting(r.Context(), db, query, formatTime)
	if err == nil && size > wire.XDRMaxResultBytes {
		wire.WriteXDRError(w, http.StatusBadRequest, codeBadRequest, fmt.Sprintf(wire.ResultTooLargeMessage, wire.XDRMaxResultBytes>>20))
		return
	}
	var s *kql.Stream
	if err == nil {
		s, err = db.Stream(r.Context(), query)
	}
	var kqlErr *kql.Error
	switch {
	case errors.As(err, &kqlErr):
		wire.WriteXDRError(w, http.StatusBadRequest, codeBadRequest, kqlErr.Message)
		return
	case err != nil:
		wire.WriteXDRError(w, http.StatusInternalServerError, codeInternalServerError, "The query failed: "+err.Error())
		return
	}
	elapsed := time.Since(started)
	cols := s.Columns()
	head := huntingHead{
		Stats: huntingStats{
			ExecutionTime: elapsed.Seconds(),
			ResourceUsage: map[string]any{
				"cache":           map[string]any{"memory": map[string]any{"hits": 0, "misses": 0, "total": 0}},
				"cpu":             map[string]any{"user": formatCPU(elapsed), "kernel": "00:00:00", "total cpu": formatCPU(elapsed)},
				"memory":          map[string]any{"peak_per_node": 0},
				"network":         map[string]any{"inter_cluster_total_bytes": 0, "cross_cluster_total_bytes": 0},
				"extents_scanned": 0,
			},
			DatasetStatistics: []map[string]any{{"table_row_count": rows, "table_size": 0}},
		},
		Schema: make([]huntingColumn, len(cols)),
	}
	for i, col := range cols {
		head.Schema[i] = huntingColumn{Name: col.Name, Type: col.Type}
	}
	b, _ := json.Marshal(head)
	open := append(b[:len(b)-1], `,"Results":[`...)
	wire.StreamHunting(w, s, formatTime, open, []byte("]}"), h.store.HuntingRowsCounter())
}

// decodeQuery reads the case-sensitive "Query" key; other keys are ignored.
func decodeQuery(members map[string]json.RawMessage) (query, code string, err error) {
	raw, ok := members["Query"]
	if !ok {
		return "", codeMissingRequiredParm, errors.New("Missing required parameter 'Query'.")
	}
	if err := json.Unmarshal(raw, &query); err != nil {
		return "", codeInvalidRequestBody, errors.New("'Query' must be a string.")
	}
	if strings.TrimSpace(query) == "" {
		return "", codeMissingRequiredParm, errors.New("Parameter 'Query' must not be empty.")
	}
	return query, "", nil
}

// formatCPU renders a duration as the hh:mm:ss.fffffff strings Kusto uses.
func formatCPU(d time.Duration) string {
	return fmt.Sprintf("%02d:%02d:%010.7f", int(d.Hours()), int(d.Minutes())%60, (d % time.Minute).Seconds())
}
