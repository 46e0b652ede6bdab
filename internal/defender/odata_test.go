package defender

import (
	"net/url"
	"testing"
	"time"
)

func TestODataString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"active", "'active'"},
		{"o'brien@contoso.com", "'o''brien@contoso.com'"},
		{"''", "''''''"},
		{"", "''"},
	}
	for _, tt := range tests {
		if got := odataString(tt.in); got != tt.want {
			t.Errorf("odataString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestODataDateTime(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"whole seconds", time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), "2024-05-06T07:08:09Z"},
		{"milliseconds", time.Date(2024, 5, 6, 7, 8, 9, 120_000_000, time.UTC), "2024-05-06T07:08:09.12Z"},
		{"seven digits", time.Date(2024, 5, 6, 7, 8, 9, 1_234_567_00, time.UTC), "2024-05-06T07:08:09.1234567Z"},
		{"100ns", time.Date(2024, 5, 6, 7, 8, 9, 100, time.UTC), "2024-05-06T07:08:09.0000001Z"},
		{"below 100ns truncated", time.Date(2024, 5, 6, 7, 8, 9, 99, time.UTC), "2024-05-06T07:08:09Z"},
		{"zone converted to UTC", time.Date(2024, 5, 6, 8, 8, 9, 0, cet), "2024-05-06T07:08:09Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := odataDateTime(tt.in); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestFilters(t *testing.T) {
	from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	to := time.Date(2024, 2, 1, 0, 0, 0, 500_000_000, time.UTC)
	full := IncidentFilter{
		Statuses:    []IncidentStatus{StatusActive, StatusInProgress},
		Severities:  []Severity{SeverityHigh},
		AssignedTo:  "o'brien@contoso.com",
		CreatedFrom: from, CreatedBefore: to,
		UpdatedFrom: from,
	}
	tests := []struct {
		name       string
		build      func(IncidentFilter) (string, error)
		filter     IncidentFilter
		want       string
		wantReason string
	}{
		{"graph empty", graphFilter, IncidentFilter{}, "", ""},
		{"graph full", graphFilter, full,
			"(status eq 'active' or status eq 'inProgress') and severity eq 'high' and assignedTo eq 'o''brien@contoso.com'" +
				" and createdDateTime ge 2024-01-01T00:00:00Z and createdDateTime lt 2024-02-01T00:00:00.5Z" +
				" and lastUpdateDateTime ge 2024-01-01T00:00:00Z", ""},
		{"graph severities set", graphFilter, IncidentFilter{Severities: []Severity{SeverityLow, SeverityMedium}},
			"(severity eq 'low' or severity eq 'medium')", ""},
		{"graph awaiting action", graphFilter, IncidentFilter{Statuses: []IncidentStatus{StatusAwaitingAction}},
			"status eq 'awaitingAction'", ""},
		{"graph unspecified status", graphFilter, IncidentFilter{Statuses: []IncidentStatus{StatusUnspecified}}, "", ReasonInvalidArgument},
		{"graph unknown status", graphFilter, IncidentFilter{Statuses: []IncidentStatus{StatusUnknown}}, "", ReasonInvalidArgument},
		{"graph unspecified severity", graphFilter, IncidentFilter{Severities: []Severity{SeverityUnspecified}}, "", ReasonInvalidArgument},
		{"xdr full, severity not upstream", xdrFilter, full,
			"(status eq 'Active' or status eq 'InProgress') and assignedTo eq 'o''brien@contoso.com'" +
				" and createdTime ge 2024-01-01T00:00:00Z and createdTime lt 2024-02-01T00:00:00.5Z" +
				" and lastUpdateTime ge 2024-01-01T00:00:00Z", ""},
		{"xdr updated before only", xdrFilter, IncidentFilter{UpdatedBefore: from}, "lastUpdateTime lt 2024-01-01T00:00:00Z", ""},
		// Bounds between 100 ns ticks round up (found by FuzzFilterOData):
		// truncated, "ge" would take the tick below from and "lt" would
		// drop the tick below before.
		{"graph sub-tick bounds round up", graphFilter, IncidentFilter{
			CreatedFrom:   time.Date(2024, 1, 1, 0, 0, 0, 1, time.UTC),
			CreatedBefore: time.Date(2024, 1, 1, 0, 0, 1, 50, time.UTC),
			UpdatedFrom:   time.Date(2024, 1, 1, 0, 0, 0, 999_999_999, time.UTC)},
			"createdDateTime ge 2024-01-01T00:00:00.0000001Z and createdDateTime lt 2024-01-01T00:00:01.0000001Z" +
				" and lastUpdateDateTime ge 2024-01-01T00:00:01Z", ""},
		{"xdr sub-tick before rounds up", xdrFilter, IncidentFilter{UpdatedBefore: time.Date(2024, 1, 1, 0, 0, 0, 150, time.UTC)},
			"lastUpdateTime lt 2024-01-01T00:00:00.0000002Z", ""},
		{"last timestamps", graphFilter, IncidentFilter{
			CreatedFrom:   time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
			CreatedBefore: time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC),
			UpdatedBefore: time.Date(9999, 12, 31, 23, 59, 59, 999_999_900, time.UTC)},
			"createdDateTime ge 9999-12-31T23:59:59.9999999Z and lastUpdateDateTime lt 9999-12-31T23:59:59.9999999Z", ""},
		{"xdr awaiting action unsupported", xdrFilter, IncidentFilter{Statuses: []IncidentStatus{StatusAwaitingAction}}, "", ReasonUnsupportedByBackend},
		{"xdr unspecified severity", xdrFilter, IncidentFilter{Severities: []Severity{SeverityUnspecified}}, "", ReasonInvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.build(tt.filter)
			if tt.wantReason != "" {
				mustError(t, err, KindInvalidArgument, tt.wantReason)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("filter =\n %s\nwant\n %s", got, tt.want)
			}
		})
	}
}

func TestEncodeQuery(t *testing.T) {
	params := []queryParam{
		{"$filter", "assignedTo eq 'o''brien@contoso.com' and createdTime ge 2024-01-01T00:00:00Z"},
		{"$top", "50"},
		{"odd", "a+b&c=d#e%f;g é"},
	}
	got := encodeQuery(params)
	want := "$filter=assignedTo%20eq%20'o''brien@contoso.com'%20and%20createdTime%20ge%202024-01-01T00:00:00Z" +
		"&$top=50&odd=a%2Bb%26c%3Dd%23e%25f%3Bg%20%C3%A9"
	if got != want {
		t.Fatalf("encodeQuery =\n %s\nwant\n %s", got, want)
	}
	// Whatever the server's parser, the values come back unchanged.
	values, err := url.ParseQuery(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range params {
		if v := values.Get(p.key); v != p.value {
			t.Errorf("round trip of %s = %q, want %q", p.key, v, p.value)
		}
	}
}
