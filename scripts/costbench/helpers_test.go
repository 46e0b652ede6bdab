package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/defender-gateway/gateway/internal/emulator"
)

func TestAPIRequests(t *testing.T) {
	tests := []struct {
		name  string
		stats []emulator.RouteStats
		want  int
	}{
		{name: "none", want: 0},
		{name: "the whole-API counters of both APIs, not their routes", stats: []emulator.RouteStats{
			{API: emulator.APIGraph, Route: emulator.RouteWholeAPI, Accepted: 7},
			{API: emulator.APIGraph, Route: "incident-read", Accepted: 5},
			{API: emulator.APIXDR, Route: emulator.RouteWholeAPI, Accepted: 3},
		}, want: 10},
		{name: "only per-route counters", stats: []emulator.RouteStats{{API: emulator.APIGraph, Route: "incident-get", Accepted: 4}}, want: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := apiRequests(tc.stats); got != tc.want {
				t.Errorf("apiRequests() = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestCheckShape(t *testing.T) {
	tests := []struct {
		name              string
		op                string
		alerts, incidents int
		wantErr           bool
	}{
		{name: "get with alerts", op: "get", alerts: 3},
		{name: "get without alerts", op: "get", wantErr: true},
		{name: "a full page", op: "list", incidents: benchPageSize},
		{name: "a short page", op: "list", incidents: benchPageSize - 1, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := checkShape(tc.op, tc.alerts, tc.incidents); (err != nil) != tc.wantErr {
				t.Errorf("checkShape() = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

// TestUpstreamDecoders checks the direct client's typed decoding of each
// backend's bodies: the id it checks and the alerts or incidents it counts.
func TestUpstreamDecoders(t *testing.T) {
	page := func(item string, n int) string {
		return `{"@odata.context":"x","value":[` + strings.TrimSuffix(strings.Repeat(item+",", n), ",") + `]}`
	}
	tests := []struct {
		name, backend, op, body string
		wantID                  string
		wantN                   int
		wantErr                 bool
	}{
		{name: "graph get", backend: "graph", op: "get", wantID: "1000", wantN: 2,
			body: `{"id":"1000","displayName":"d","createdDateTime":"2026-01-02T03:04:05Z","extra":{"a":[1]},"alerts":[{"id":"a1","evidence":[{}]},{"id":"a2"}]}`},
		{name: "graph list", backend: "graph", op: "list", wantN: 3, body: page(`{"id":"1","alerts":[]}`, 3)},
		{name: "xdr get, numeric id", backend: "xdr", op: "get", wantID: "1000", wantN: 1,
			body: `{"incidentId":1000,"incidentName":"n","createdTime":"2026-01-02T03:04:05.123Z","alerts":[{"alertId":"da1","creationTime":"2026-01-02T03:04:05Z","entities":[{}]}]}`},
		{name: "xdr list", backend: "xdr", op: "list", wantN: 2, body: page(`{"incidentId":1,"alerts":[{"alertId":"x"}]}`, 2)},
		{name: "graph get, bad time", backend: "graph", op: "get", body: `{"id":"1","createdDateTime":"yesterday"}`, wantErr: true},
		{name: "xdr list, not JSON", backend: "xdr", op: "list", body: `<html>`, wantErr: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			up := upstreams[tc.backend]
			decode := up.get
			if tc.op == "list" {
				decode = up.list
			}
			id, n, err := decode(json.NewDecoder(strings.NewReader(tc.body)))
			if (err != nil) != tc.wantErr {
				t.Fatalf("decode() error = %v, want error %v", err, tc.wantErr)
			}
			if tc.wantErr {
				return
			}
			if id != tc.wantID || n != tc.wantN {
				t.Errorf("decode() = %q, %d; want %q, %d", id, n, tc.wantID, tc.wantN)
			}
		})
	}
}
