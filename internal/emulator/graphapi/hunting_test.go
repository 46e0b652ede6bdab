package graphapi

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/kql"
)

// kqlMessage is the message the KQL engine gives for an invalid query.
func kqlMessage(t *testing.T, query string) string {
	t.Helper()
	_, err := kql.NewSampleDatabase(identity.HomeTenantID, refTime).Run(context.Background(), query)
	var kqlErr *kql.Error
	if !errors.As(err, &kqlErr) || kqlErr.Message == "" {
		t.Fatalf("query %q: err = %v, want a *kql.Error", query, err)
	}
	return kqlErr.Message
}

const huntingPath = "/v1.0/security/runHuntingQuery"

type huntingDTO struct {
	Context string           `json:"@odata.context"`
	Schema  []huntingColumn  `json:"schema"`
	Results []map[string]any `json:"results"`
}

func TestRunHuntingQuery(t *testing.T) {
	f := newFixture(t)
	for _, body := range []string{
		`{"Query":"DeviceProcessEvents | take 5"}`,
		`{"query":"DeviceProcessEvents | take 5","timespan":"P30D"}`,
		`{"QUERY":"DeviceProcessEvents | take 5","Timespan":"2026-02-01T00:00:00Z/2026-03-01T00:00:00Z"}`,
	} {
		t.Run(body, func(t *testing.T) {
			got := decode[huntingDTO](t, f.call(http.MethodPost, huntingPath, body, &fullAccess), http.StatusOK)
			if got.Context != "https://graph.test:8443/v1.0/$metadata#microsoft.graph.security.huntingQueryResults" {
				t.Errorf("@odata.context %q", got.Context)
			}
			if len(got.Schema) == 0 || len(got.Results) == 0 {
				t.Fatalf("empty schema or results: %+v", got)
			}
			datetimes := 0
			for _, row := range got.Results {
				if len(row) != len(got.Schema) {
					t.Errorf("row %v has %d keys for %d columns", row, len(row), len(got.Schema))
				}
				for _, col := range got.Schema {
					v, ok := row[col.Name]
					if !ok {
						t.Errorf("row lacks column %q", col.Name)
					}
					if s, isString := v.(string); col.Type == "DateTime" && v != nil {
						if ts, err := time.Parse(time.RFC3339Nano, s); !isString || err != nil || ts.Location() != time.UTC {
							t.Errorf("DateTime %q = %v is not an RFC 3339 UTC string", col.Name, v)
						}
						datetimes++
					}
				}
			}
			if datetimes == 0 {
				t.Error("no DateTime value in the results; the conversion is untested")
			}
		})
	}
}

func TestRunHuntingQueryRejects(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name, body, msg string
	}{
		{"KQL syntax error", `{"Query":"DeviceProcessEvents | where | !!"}`, kqlMessage(t, "DeviceProcessEvents | where | !!")},
		{"KQL unknown table", `{"Query":"NoSuchTable"}`, kqlMessage(t, "NoSuchTable")},
		{"missing Query", `{"Timespan":"P1D"}`, "'Query' is required"},
		{"empty Query", `{"Query":"  "}`, "'Query' is required"},
		{"Query not a string", `{"Query":42}`, "must be a string"},
		{"unknown property", `{"Query":"x","Limit":5}`, "Property 'Limit'"},
		{"bad Timespan", `{"Query":"x","Timespan":"30 days"}`, "Invalid Timespan"},
		{"reversed Timespan", `{"Query":"x","Timespan":"2026-03-01T00:00:00Z/2026-02-01T00:00:00Z"}`, "start must be before"},
		{"not JSON", `Query=x`, "JSON object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			expectError(t, f.call(http.MethodPost, huntingPath, tt.body, &fullAccess), http.StatusBadRequest, "BadRequest", tt.msg)
		})
	}
}

func TestValidateTimespan(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"P30D", true},
		{"PT12H", true},
		{"P1DT2H30M10.5S", true},
		{"P1Y2M3W4D", true},
		{"2026-02-01T00:00:00Z", true},
		{"2026-02-01T00:00:00Z/2026-02-02T00:00:00.5+01:00", true},
		{"P30D/2026-03-01T00:00:00Z", true},
		{"2026-02-01T00:00:00Z/P30D", true},
		{"", false},
		{"P", false},
		{"PT", false},
		{"P1H", false},
		{"PT1D", false},
		{"P1.5D", false},
		{"P1D2Y", false},
		{"30D", false},
		{"P30D/P1D", false},
		{"2026-02-01/2026-03-01", false},
		{"2026-03-01T00:00:00Z/2026-03-01T00:00:00Z", false},
		{"P30D/", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if err := validateTimespan(tt.in); (err == nil) != tt.ok {
				t.Errorf("validateTimespan(%q) = %v, want ok=%v", tt.in, err, tt.ok)
			}
		})
	}
}
