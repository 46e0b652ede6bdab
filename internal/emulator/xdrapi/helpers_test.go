package xdrapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

var refTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

var fullAccess = claims.Claims{
	TenantID: identity.HomeTenantID, AppID: identity.ClientID, Audience: identity.XDRResource,
	Roles: []string{identity.XDRIncidentReadWrite, identity.XDRHunting},
}

type fixture struct {
	t       *testing.T
	store   *store.Store
	handler http.Handler
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st := store.New(refTime)
	return &fixture{t: t, store: st, handler: New(st)}
}

func (f *fixture) call(method, target, body string, c *claims.Claims) *http.Response {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "https://xdr.test"+target, rd)
	if c != nil {
		req = req.WithContext(claims.With(req.Context(), *c))
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec.Result()
}

func decode[T any](t *testing.T, resp *http.Response, want int) T {
	t.Helper()
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("status %d, want %d; body %s", resp.StatusCode, want, body)
	}
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

type xdrError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Target  string `json:"target"`
	} `json:"error"`
}

func expectError(t *testing.T, resp *http.Response, status int, code, messagePart string) {
	t.Helper()
	e := decode[xdrError](t, resp, status)
	if e.Error.Code != code || !strings.Contains(e.Error.Message, messagePart) || len(e.Error.Target) != 36 {
		t.Errorf("error %q %q (target %q), want code %q containing %q", e.Error.Code, e.Error.Message, e.Error.Target, code, messagePart)
	}
}

type page struct {
	Context  string        `json:"@odata.context"`
	NextLink *string       `json:"@odata.nextLink"`
	Value    []incidentDTO `json:"value"`
}

type incidentDTO struct {
	IncidentID         int64   `json:"incidentId"`
	RedirectIncidentID *int64  `json:"redirectIncidentId"`
	Status             string  `json:"status"`
	Severity           string  `json:"severity"`
	AssignedTo         *string `json:"assignedTo"`
	Classification     string  `json:"classification"`
	Determination      string  `json:"determination"`
	CreatedTime        string  `json:"createdTime"`
	LastUpdateTime     string  `json:"lastUpdateTime"`
	Tags               []string
	Comments           []commentJSON `json:"comments"`
	Alerts             []struct {
		IncidentID int64            `json:"incidentId"`
		Devices    []map[string]any `json:"devices"`
		Entities   []map[string]any `json:"entities"`
	} `json:"alerts"`
}

func idsOf(list []store.Incident, keep func(store.Incident) bool) []int64 {
	var out []int64
	for _, inc := range list {
		if keep(inc) {
			out = append(out, inc.ID)
		}
	}
	return out
}

func path(id int64) string { return "/api/incidents/" + strconv.FormatInt(id, 10) }
