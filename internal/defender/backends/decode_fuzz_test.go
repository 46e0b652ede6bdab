package backends

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/defendertest"
	"github.com/defender-gateway/gateway/internal/defender/graph"
	"github.com/defender-gateway/gateway/internal/defender/upstream"
	"github.com/defender-gateway/gateway/internal/defender/xdr"

	"github.com/defender-gateway/gateway/internal/emulator/claims"
	"github.com/defender-gateway/gateway/internal/emulator/graphapi"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
	"github.com/defender-gateway/gateway/internal/emulator/xdrapi"
)

// FuzzUpstreamJSON answers every upstream call of both clients with the
// fuzzed body (status 200) and decodes it as an incident, a listing page
// and a hunting result. Whatever the body, a call must not panic and must
// either fail with an *Error that does not show the token, or return a
// result the service can turn into a response: valid UTF-8 strings,
// timestamps a protobuf Timestamp can hold, incidents with an id, and
// free-form values (evidence details, hunting rows, stats) of the JSON
// types only. Bodies are bounded by the client (maxSuccessBody) before
// decoding.
func FuzzUpstreamJSON(f *testing.F) {
	for _, seed := range upstreamSeeds(f) {
		f.Add(seed)
	}
	body := &fuzzBody{}
	httpClient := &http.Client{Transport: body}
	g, err := graph.New(defender.ClientOptions{BaseURL: "https://graph.fuzz.test/v1.0", HTTPClient: httpClient, Tokens: defendertest.Tokens})
	if err != nil {
		f.Fatal(err)
	}
	x, err := xdr.New(defender.ClientOptions{BaseURL: "https://xdr.fuzz.test", HTTPClient: httpClient, Tokens: defendertest.Tokens})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		body.data = data
		ctx := context.Background()
		for _, b := range []defender.Backend{g, x} {
			inc, err := b.GetIncident(ctx, "1", true)
			checkDecoded(t, b.Kind(), "get incident", inc, err)
			if err == nil && inc.ID == "" {
				t.Fatalf("%s: get incident returned an incident without an id", b.Kind())
			}
			page, err := b.ListIncidents(ctx, defender.ListQuery{PageSize: upstream.MaxPageSize, WithAlerts: true})
			checkDecoded(t, b.Kind(), "list incidents", page, err)
			if err == nil {
				for i := range page.Incidents {
					if page.Incidents[i].ID == "" {
						t.Fatalf("%s: list incidents returned an incident without an id", b.Kind())
					}
				}
			}
			res, err := b.RunHuntingQuery(ctx, defender.HuntingQuery{Query: "T | take 1"})
			checkDecoded(t, b.Kind(), "hunting", res, err)
		}
	})
}

// checkDecoded asserts the outcome of one call on a fuzzed body.
func checkDecoded(t *testing.T, kind defender.BackendKind, op string, v any, err error) {
	t.Helper()
	if err != nil {
		e, ok := defender.AsError(err)
		if !ok {
			t.Fatalf("%s %s: error %v (%T) is not an *Error", kind, op, err, err)
		}
		if strings.Contains(e.Error(), defendertest.Token) {
			t.Fatalf("%s %s: error shows the token: %v", kind, op, e)
		}
		return
	}
	if path, why := checkValue(reflect.ValueOf(v), "result", false); why != "" {
		t.Fatalf("%s %s: %s: %s", kind, op, path, why)
	}
}

var (
	timeType = reflect.TypeFor[time.Time]()
	// The range of a protobuf Timestamp.
	firstTimestamp = time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC)
	lastTimestamp  = time.Date(9999, 12, 31, 23, 59, 59, 999_999_999, time.UTC)
)

// checkValue walks v and reports the first value the service could not put
// in a response. free is set below an `any`: there only nil, bool, float64,
// string, []any and map[string]any may appear, as encoding/json decodes.
func checkValue(v reflect.Value, path string, free bool) (string, string) {
	if v.Kind() == reflect.Interface {
		if v.IsNil() {
			return "", ""
		}
		v, free = v.Elem(), true
	}
	if free {
		switch v.Kind() {
		case reflect.Invalid, reflect.Bool, reflect.Float64, reflect.String:
		case reflect.Slice, reflect.Map:
			if v.Type().Elem().Kind() != reflect.Interface || (v.Kind() == reflect.Map && v.Type().Key().Kind() != reflect.String) {
				return path, "a free-form value of type " + v.Type().String()
			}
		default:
			return path, "a free-form value of type " + v.Type().String()
		}
	}
	switch v.Kind() {
	case reflect.Pointer:
		if v.IsNil() {
			return "", ""
		}
		return checkValue(v.Elem(), path, free)
	case reflect.String:
		if !utf8.ValidString(v.String()) {
			return path, "invalid UTF-8"
		}
	case reflect.Struct:
		if v.Type() == timeType {
			t := v.Interface().(time.Time)
			if !t.IsZero() && (t.Before(firstTimestamp) || t.After(lastTimestamp)) {
				return path, "time " + t.String() + " is outside the range of a protobuf Timestamp"
			}
			return "", ""
		}
		for i := range v.NumField() {
			if p, why := checkValue(v.Field(i), path+"."+v.Type().Field(i).Name, false); why != "" {
				return p, why
			}
		}
	case reflect.Slice:
		for i := range v.Len() {
			if p, why := checkValue(v.Index(i), path+"[]", free); why != "" {
				return p, why
			}
		}
	case reflect.Map:
		for it := v.MapRange(); it.Next(); {
			if p, why := checkValue(it.Key(), path+"{key}", false); why != "" {
				return p, why
			}
			if p, why := checkValue(it.Value(), path+"{"+it.Key().String()+"}", free); why != "" {
				return p, why
			}
		}
	}
	return "", ""
}

// fuzzBody answers every request with 200 and data.
type fuzzBody struct{ data []byte }

func (b *fuzzBody) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Body != nil {
		_, _ = io.Copy(io.Discard, req.Body)
		_ = req.Body.Close()
	}
	return &http.Response{
		StatusCode: http.StatusOK, Status: "200 OK", Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:  http.Header{"Content-Type": {upstream.ContentJSON}},
		Body:    io.NopCloser(bytes.NewReader(b.data)),
		Request: req, ContentLength: int64(len(b.data)),
	}, nil
}

// upstreamSeeds are real answers of the emulator's fake APIs (an incident
// with alerts and evidence, listing pages, hunting results) and a few
// hand-written edge cases.
func upstreamSeeds(tb testing.TB) [][]byte {
	st := store.New(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	id := st.List(identity.HomeTenantID)[0].ID
	caller := claims.Claims{TenantID: identity.HomeTenantID, AppID: "fuzz", Subject: "fuzz",
		Roles: []string{identity.GraphIncidentRead, identity.GraphHunting, identity.XDRIncidentRead, identity.XDRHunting}}
	get := func(h http.Handler, method, target, body string) []byte {
		r := httptest.NewRequest(method, target, strings.NewReader(body))
		r = r.WithContext(claims.With(r.Context(), caller))
		if body != "" {
			r.Header.Set("Content-Type", upstream.ContentJSON)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code != http.StatusOK {
			tb.Fatalf("seed %s %s: %d %s", method, target, rec.Code, rec.Body)
		}
		return rec.Body.Bytes()
	}
	g, x := graphapi.New(st), xdrapi.New(st)
	query := `{"Query":"DeviceProcessEvents | take 2"}`
	return [][]byte{
		get(g, http.MethodGet, "/v1.0/security/incidents/"+strconv.FormatInt(id, 10)+"?$expand=alerts", ""),
		get(g, http.MethodGet, "/v1.0/security/incidents?$top=2&$expand=alerts", ""),
		get(g, http.MethodPost, "/v1.0/security/runHuntingQuery", query),
		get(x, http.MethodGet, "/api/incidents/"+strconv.FormatInt(id, 10), ""),
		get(x, http.MethodGet, "/api/incidents?$top=2", ""),
		get(x, http.MethodPost, "/api/advancedhunting/run", query),
		[]byte(`{"id":"1","createdDateTime":"0000-01-01T00:00:00Z","lastUpdateDateTime":"9999-12-31T23:59:59-01:00"}`),
		[]byte(`{"value":[{"id":7,"priorityScore":1e300}],"@odata.nextLink":"https://evil.test/x"}`),
		[]byte(`{"Schema":[{"Name":"T","Type":"DateTime"},{"name":"n","type":"long"}],"Results":[{"T":"2024-01-01","n":"12"}],"Stats":{"a":[1,{}]}}`),
		[]byte(`null`), []byte(``), []byte(`{"value":null}`), []byte("{\"id\":\"\xff\"}"),
	}
}
