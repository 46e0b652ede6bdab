package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// The AlertService over both transports.

func (c *grpcClient) ListAlerts(ctx context.Context, r *defenderv1.ListAlertsRequest) (*defenderv1.ListAlertsResponse, error) {
	return defenderv1.NewAlertServiceClient(c.conn).ListAlerts(ctx, r)
}

func (c *grpcClient) GetAlert(ctx context.Context, r *defenderv1.GetAlertRequest) (*defenderv1.Alert, error) {
	return defenderv1.NewAlertServiceClient(c.conn).GetAlert(ctx, r)
}

func (c *grpcClient) UpdateAlert(ctx context.Context, r *defenderv1.UpdateAlertRequest) (*defenderv1.Alert, error) {
	return defenderv1.NewAlertServiceClient(c.conn).UpdateAlert(ctx, r)
}

func (c *restClient) ListAlerts(ctx context.Context, r *defenderv1.ListAlertsRequest) (*defenderv1.ListAlertsResponse, error) {
	q := url.Values{}
	if r.GetPageSize() != 0 {
		q.Set("pageSize", fmt.Sprint(r.GetPageSize()))
	}
	setIf(q, "pageToken", r.GetPageToken())
	for _, s := range r.GetStatuses() {
		q.Add("statuses", s.String())
	}
	for _, s := range r.GetSeverities() {
		q.Add("severities", s.String())
	}
	for _, s := range r.GetServiceSources() {
		q.Add("serviceSources", s)
	}
	for _, s := range r.GetDetectionSources() {
		q.Add("detectionSources", s)
	}
	setIf(q, "assignedTo", r.GetAssignedTo())
	setIf(q, "incident", r.GetIncident())
	for _, t := range r.GetTenants() {
		q.Add("tenants", t)
	}
	for prefix, tr := range map[string]*defenderv1.TimeRange{"createTimeRange": r.GetCreateTimeRange(), "updateTimeRange": r.GetUpdateTimeRange()} {
		if tr.GetStartTime() != nil {
			q.Set(prefix+".startTime", tr.GetStartTime().AsTime().Format("2006-01-02T15:04:05.999999999Z07:00"))
		}
		if tr.GetEndTime() != nil {
			q.Set(prefix+".endTime", tr.GetEndTime().AsTime().Format("2006-01-02T15:04:05.999999999Z07:00"))
		}
	}
	out := &defenderv1.ListAlertsResponse{}
	return out, c.do(ctx, http.MethodGet, "/v1/"+r.GetParent()+"/alerts", q, nil, out)
}

func (c *restClient) GetAlert(ctx context.Context, r *defenderv1.GetAlertRequest) (*defenderv1.Alert, error) {
	out := &defenderv1.Alert{}
	return out, c.do(ctx, http.MethodGet, "/v1/"+r.GetName(), nil, nil, out)
}

func (c *restClient) UpdateAlert(ctx context.Context, r *defenderv1.UpdateAlertRequest) (*defenderv1.Alert, error) {
	q := url.Values{}
	if m := r.GetUpdateMask(); m != nil {
		camel := make([]string, len(m.GetPaths()))
		for i, p := range m.GetPaths() {
			camel[i] = lowerCamel(p)
		}
		q.Set("updateMask", strings.Join(camel, ","))
	}
	setIf(q, "comment", r.GetComment())
	out := &defenderv1.Alert{}
	return out, c.do(ctx, http.MethodPatch, "/v1/"+r.GetAlert().GetName(), q, r.GetAlert(), out)
}
