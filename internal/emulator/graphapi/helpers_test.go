package graphapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

var refTime = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// fullAccess is an app token of the home tenant with every Graph permission.
var fullAccess = claims.Claims{
	TenantID: identity.HomeTenantID, AppID: identity.ClientID, Audience: identity.GraphResource,
	Roles: []string{identity.GraphIncidentReadWrite, identity.GraphHunting, identity.GraphAlertReadWrite},
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

// call sends a request with claims c (nil: none) and returns the response.
func (f *fixture) call(method, target, body string, c *claims.Claims, headers ...string) *http.Response {
	f.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, "https://graph.test:8443"+target, rd)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if c != nil {
		req = req.WithContext(claims.With(req.Context(), *c))
	}
	rec := httptest.NewRecorder()
	f.handler.ServeHTTP(rec, req)
	return rec.Result()
}

// decode reads a JSON response body, failing unless the status is want.
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

type graphError struct {
	Error struct {
		Code       string `json:"code"`
		Message    string `json:"message"`
		InnerError struct {
			RequestID string `json:"request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// expectError checks a Graph error response.
func expectError(t *testing.T, resp *http.Response, status int, code, messagePart string) {
	t.Helper()
	e := decode[graphError](t, resp, status)
	if e.Error.Code != code || !strings.Contains(e.Error.Message, messagePart) || e.Error.InnerError.RequestID == "" {
		t.Errorf("error %q %q, want code %q containing %q", e.Error.Code, e.Error.Message, code, messagePart)
	}
}

type page struct {
	Context  string            `json:"@odata.context"`
	Count    *int              `json:"@odata.count"`
	NextLink string            `json:"@odata.nextLink"`
	Value    []json.RawMessage `json:"value"`
}

type incidentDTO struct {
	ID                 string  `json:"id"`
	TenantID           string  `json:"tenantId"`
	Status             string  `json:"status"`
	Severity           string  `json:"severity"`
	AssignedTo         *string `json:"assignedTo"`
	Classification     string  `json:"classification"`
	Determination      string  `json:"determination"`
	RedirectIncidentID *string `json:"redirectIncidentId"`
	CreatedDateTime    string  `json:"createdDateTime"`
	LastUpdateDateTime string  `json:"lastUpdateDateTime"`
	LastModifiedBy     *string `json:"lastModifiedBy"`
	CustomTags         []string
	Comments           []commentJSON `json:"comments"`
	Alerts             []struct {
		ID         string           `json:"id"`
		IncidentID string           `json:"incidentId"`
		Evidence   []map[string]any `json:"evidence"`
	} `json:"alerts"`
}

func incidents(t *testing.T, raw []json.RawMessage) []incidentDTO {
	t.Helper()
	out := make([]incidentDTO, len(raw))
	for i, r := range raw {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			t.Fatal(err)
		}
	}
	return out
}
