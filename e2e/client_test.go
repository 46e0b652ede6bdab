package e2e

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// client is the gateway's API as a caller sees it, over one transport.
// Errors are always *status.Status errors, so cases assert one way.
type client interface {
	name() string
	ListIncidents(context.Context, *defenderv1.ListIncidentsRequest) (*defenderv1.ListIncidentsResponse, error)
	GetIncident(context.Context, *defenderv1.GetIncidentRequest) (*defenderv1.Incident, error)
	UpdateIncident(context.Context, *defenderv1.UpdateIncidentRequest) (*defenderv1.Incident, error)
	RunQuery(context.Context, *defenderv1.RunQueryRequest) (*defenderv1.RunQueryResponse, error)
	ListContexts(context.Context, *defenderv1.ListContextsRequest) (*defenderv1.ListContextsResponse, error)
	GetConsentUrl(context.Context, *defenderv1.GetConsentUrlRequest) (*defenderv1.GetConsentUrlResponse, error)
	WhoAmI(context.Context, *defenderv1.WhoAmIRequest) (*defenderv1.WhoAmIResponse, error)
	StartDeviceLogin(context.Context, *defenderv1.StartDeviceLoginRequest) (*defenderv1.DeviceLogin, error)
	GetDeviceLogin(context.Context, *defenderv1.GetDeviceLoginRequest) (*defenderv1.DeviceLogin, error)
	ListAlerts(context.Context, *defenderv1.ListAlertsRequest) (*defenderv1.ListAlertsResponse, error)
	GetAlert(context.Context, *defenderv1.GetAlertRequest) (*defenderv1.Alert, error)
	UpdateAlert(context.Context, *defenderv1.UpdateAlertRequest) (*defenderv1.Alert, error)
}

// withHeaders adds caller credentials or context selection to a call:
// gRPC sends them as metadata, REST as HTTP headers of the same names.
func withHeaders(ctx context.Context, kv ...string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, kv...)
}

// grpcClient calls the generated stubs.
type grpcClient struct {
	defenderv1.IncidentServiceClient
	defenderv1.HuntingServiceClient
	defenderv1.AuthServiceClient
	conn *grpc.ClientConn
}

func newGRPCClient(conn *grpc.ClientConn) *grpcClient {
	return &grpcClient{
		defenderv1.NewIncidentServiceClient(conn),
		defenderv1.NewHuntingServiceClient(conn),
		defenderv1.NewAuthServiceClient(conn),
		conn,
	}
}

func (*grpcClient) name() string { return "grpc" }

func (c *grpcClient) ListIncidents(ctx context.Context, r *defenderv1.ListIncidentsRequest) (*defenderv1.ListIncidentsResponse, error) {
	return c.IncidentServiceClient.ListIncidents(ctx, r)
}

func (c *grpcClient) GetIncident(ctx context.Context, r *defenderv1.GetIncidentRequest) (*defenderv1.Incident, error) {
	return c.IncidentServiceClient.GetIncident(ctx, r)
}

func (c *grpcClient) UpdateIncident(ctx context.Context, r *defenderv1.UpdateIncidentRequest) (*defenderv1.Incident, error) {
	return c.IncidentServiceClient.UpdateIncident(ctx, r)
}

func (c *grpcClient) RunQuery(ctx context.Context, r *defenderv1.RunQueryRequest) (*defenderv1.RunQueryResponse, error) {
	return c.HuntingServiceClient.RunQuery(ctx, r)
}

func (c *grpcClient) ListContexts(ctx context.Context, r *defenderv1.ListContextsRequest) (*defenderv1.ListContextsResponse, error) {
	return c.AuthServiceClient.ListContexts(ctx, r)
}

func (c *grpcClient) GetConsentUrl(ctx context.Context, r *defenderv1.GetConsentUrlRequest) (*defenderv1.GetConsentUrlResponse, error) {
	return c.AuthServiceClient.GetConsentUrl(ctx, r)
}

func (c *grpcClient) WhoAmI(ctx context.Context, r *defenderv1.WhoAmIRequest) (*defenderv1.WhoAmIResponse, error) {
	return c.AuthServiceClient.WhoAmI(ctx, r)
}

func (c *grpcClient) StartDeviceLogin(ctx context.Context, r *defenderv1.StartDeviceLoginRequest) (*defenderv1.DeviceLogin, error) {
	return c.AuthServiceClient.StartDeviceLogin(ctx, r)
}

func (c *grpcClient) GetDeviceLogin(ctx context.Context, r *defenderv1.GetDeviceLoginRequest) (*defenderv1.DeviceLogin, error) {
	return c.AuthServiceClient.GetDeviceLogin(ctx, r)
}

// restClient speaks the REST/JSON API the way a curl user would: routes from
// the google.api.http annotations, query parameters in lowerCamelCase, and
// the google.rpc.Status error body.
type restClient struct {
	hc   *http.Client
	base string
}

func newRESTClient(hc *http.Client, base string) *restClient { return &restClient{hc: hc, base: base} }

func (*restClient) name() string { return "rest" }

func (c *restClient) ListIncidents(ctx context.Context, r *defenderv1.ListIncidentsRequest) (*defenderv1.ListIncidentsResponse, error) {
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
	setIf(q, "assignedTo", r.GetAssignedTo())
	for prefix, tr := range map[string]*defenderv1.TimeRange{"createTimeRange": r.GetCreateTimeRange(), "updateTimeRange": r.GetUpdateTimeRange()} {
		if tr.GetStartTime() != nil {
			q.Set(prefix+".startTime", tr.GetStartTime().AsTime().Format("2006-01-02T15:04:05.999999999Z07:00"))
		}
		if tr.GetEndTime() != nil {
			q.Set(prefix+".endTime", tr.GetEndTime().AsTime().Format("2006-01-02T15:04:05.999999999Z07:00"))
		}
	}
	if r.GetView() != 0 {
		q.Set("view", r.GetView().String())
	}
	for _, t := range r.GetTenants() {
		q.Add("tenants", t)
	}
	out := &defenderv1.ListIncidentsResponse{}
	return out, c.do(ctx, http.MethodGet, "/v1/"+r.GetParent()+"/incidents", q, nil, out)
}

func (c *restClient) GetIncident(ctx context.Context, r *defenderv1.GetIncidentRequest) (*defenderv1.Incident, error) {
	q := url.Values{}
	if r.GetView() != 0 {
		q.Set("view", r.GetView().String())
	}
	out := &defenderv1.Incident{}
	return out, c.do(ctx, http.MethodGet, "/v1/"+r.GetName(), q, nil, out)
}

func (c *restClient) UpdateIncident(ctx context.Context, r *defenderv1.UpdateIncidentRequest) (*defenderv1.Incident, error) {
	q := url.Values{}
	if m := r.GetUpdateMask(); m != nil {
		camel := make([]string, len(m.GetPaths()))
		for i, p := range m.GetPaths() {
			camel[i] = lowerCamel(p)
		}
		q.Set("updateMask", strings.Join(camel, ","))
	}
	setIf(q, "comment", r.GetComment())
	if t := r.GetExpectUpdateTime(); t != nil {
		q.Set("expectUpdateTime", t.AsTime().Format("2006-01-02T15:04:05.999999999Z07:00"))
	}
	out := &defenderv1.Incident{}
	return out, c.do(ctx, http.MethodPatch, "/v1/"+r.GetIncident().GetName(), q, r.GetIncident(), out)
}

func (c *restClient) RunQuery(ctx context.Context, r *defenderv1.RunQueryRequest) (*defenderv1.RunQueryResponse, error) {
	out := &defenderv1.RunQueryResponse{}
	body := proto.Clone(r).(*defenderv1.RunQueryRequest)
	body.Tenant = ""
	return out, c.do(ctx, http.MethodPost, "/v1/"+r.GetTenant()+":runHuntingQuery", nil, body, out)
}

func (c *restClient) ListContexts(ctx context.Context, _ *defenderv1.ListContextsRequest) (*defenderv1.ListContextsResponse, error) {
	out := &defenderv1.ListContextsResponse{}
	return out, c.do(ctx, http.MethodGet, "/v1/contexts", nil, nil, out)
}

func (c *restClient) GetConsentUrl(ctx context.Context, r *defenderv1.GetConsentUrlRequest) (*defenderv1.GetConsentUrlResponse, error) {
	q := url.Values{}
	setIf(q, "state", r.GetState())
	out := &defenderv1.GetConsentUrlResponse{}
	return out, c.do(ctx, http.MethodGet, "/v1/"+r.GetTenant()+":consentUrl", q, nil, out)
}

func (c *restClient) WhoAmI(ctx context.Context, r *defenderv1.WhoAmIRequest) (*defenderv1.WhoAmIResponse, error) {
	out := &defenderv1.WhoAmIResponse{}
	return out, c.do(ctx, http.MethodGet, "/v1/"+r.GetTenant()+":whoAmI", nil, nil, out)
}

func (c *restClient) StartDeviceLogin(ctx context.Context, r *defenderv1.StartDeviceLoginRequest) (*defenderv1.DeviceLogin, error) {
	out := &defenderv1.DeviceLogin{}
	return out, c.do(ctx, http.MethodPost, "/v1/"+r.GetTenant()+"/deviceLogins", nil, &defenderv1.StartDeviceLoginRequest{}, out)
}

func (c *restClient) GetDeviceLogin(ctx context.Context, r *defenderv1.GetDeviceLoginRequest) (*defenderv1.DeviceLogin, error) {
	out := &defenderv1.DeviceLogin{}
	return out, c.do(ctx, http.MethodGet, "/v1/"+r.GetName(), nil, nil, out)
}

func (c *restClient) do(ctx context.Context, method, path string, q url.Values, body, out proto.Message) error {
	u := c.base + path
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	var rd io.Reader
	if body != nil {
		b, err := protojson.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	// A REST caller states its deadline the way grpc-gateway reads it, in
	// Grpc-Timeout, and waits a little longer for the gateway's answer.
	httpCtx := ctx
	var timeout string
	if dl, ok := ctx.Deadline(); ok {
		timeout = fmt.Sprintf("%dm", max(time.Until(dl).Milliseconds(), 1))
		var cancel context.CancelFunc
		httpCtx, cancel = context.WithTimeout(context.WithoutCancel(ctx), time.Until(dl)+5*time.Second)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(httpCtx, method, u, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if md, ok := metadata.FromOutgoingContext(ctx); ok {
		for k, vs := range md {
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
	}
	if timeout != "" {
		req.Header.Set("Grpc-Timeout", timeout)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		st := &spb.Status{}
		if err := protojson.Unmarshal(data, st); err != nil {
			return fmt.Errorf("HTTP %d with a body that is not a google.rpc.Status: %s", resp.StatusCode, data)
		}
		return status.FromProto(st).Err()
	}
	return protojson.Unmarshal(data, out)
}

func setIf(q url.Values, key, v string) {
	if v != "" {
		q.Set(key, v)
	}
}

func lowerCamel(snake string) string {
	parts := strings.Split(snake, "_")
	for i := 1; i < len(parts); i++ {
		if parts[i] != "" {
			parts[i] = strings.ToUpper(parts[i][:1]) + parts[i][1:]
		}
	}
	return strings.Join(parts, "")
}
