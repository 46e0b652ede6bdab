package service

import (
	"fmt"
	"time"
	"unicode/utf8"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

// Limits of the listing filter, as in the proto's validation rules.
const (
	maxFilterValues     = 8
	maxAssignedToFilter = 256
)

// filterFromRequest turns the filter fields of a listing into the domain
// filter, naming the first offending field.
func filterFromRequest(req *defenderv1.ListIncidentsRequest) (defender.IncidentFilter, error) {
	var f defender.IncidentFilter
	if len(req.GetStatuses()) > maxFilterValues {
		return f, fieldError("statuses", fmt.Sprintf("must hold at most %d values", maxFilterValues))
	}
	for i, s := range req.GetStatuses() {
		d, ok := domainIncidentStatuses[s]
		if !ok || d == defender.StatusUnspecified || d == defender.StatusUnknown {
			return f, fieldError(fmt.Sprintf("statuses[%d]", i), "must be a defined status other than UNSPECIFIED and UNKNOWN")
		}
		f.Statuses = append(f.Statuses, d)
	}
	if len(req.GetSeverities()) > maxFilterValues {
		return f, fieldError("severities", fmt.Sprintf("must hold at most %d values", maxFilterValues))
	}
	for i, s := range req.GetSeverities() {
		d, ok := domainSeverities[s]
		if !ok || d == defender.SeverityUnspecified {
			return f, fieldError(fmt.Sprintf("severities[%d]", i), "must be a defined severity other than UNSPECIFIED")
		}
		f.Severities = append(f.Severities, d)
	}
	if utf8.RuneCountInString(req.GetAssignedTo()) > maxAssignedToFilter {
		return f, fieldError("assigned_to", fmt.Sprintf("must be at most %d characters", maxAssignedToFilter))
	}
	f.AssignedTo = req.GetAssignedTo()
	var err error
	if f.CreatedFrom, f.CreatedBefore, err = timeRange("create_time_range", req.GetCreateTimeRange()); err != nil {
		return f, err
	}
	if f.UpdatedFrom, f.UpdatedBefore, err = timeRange("update_time_range", req.GetUpdateTimeRange()); err != nil {
		return f, err
	}
	return f, nil
}

// timeRange converts an optional [start, end) range; an unset end is open
// (the zero time).
func timeRange(field string, r *defenderv1.TimeRange) (start, end time.Time, err error) {
	if r == nil {
		return start, end, nil
	}
	if ts := r.GetStartTime(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return start, end, fieldError(field+".start_time", "must be a valid timestamp")
		}
		start = ts.AsTime()
	}
	if ts := r.GetEndTime(); ts != nil {
		if err := ts.CheckValid(); err != nil {
			return start, end, fieldError(field+".end_time", "must be a valid timestamp")
		}
		end = ts.AsTime()
	}
	if !start.IsZero() && !end.IsZero() && !start.Before(end) {
		return start, end, fieldError(field, "start_time must be before end_time")
	}
	return start, end, nil
}
