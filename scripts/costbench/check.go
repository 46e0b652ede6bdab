package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// The load only counts status codes (ghz) or reads bodies (REST); these
// checks make one call of each kind first and look at the reply, so that
// the measured calls are known to be the full ones: the alerts of the FULL
// view on Get, a page of benchPageSize on List.

// checkGRPC makes one gRPC call of op and checks its reply.
func checkGRPC(addr, op string) error {
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return err
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	client := defenderv1.NewIncidentServiceClient(conn)
	if op == "get" {
		in, err := client.GetIncident(ctx, &defenderv1.GetIncidentRequest{Name: "tenants/default/incidents/" + benchIncident})
		if err != nil {
			return fmt.Errorf("gRPC get: %w", err)
		}
		return checkShape(op, len(in.GetAlerts()), 0)
	}
	resp, err := client.ListIncidents(ctx, &defenderv1.ListIncidentsRequest{Parent: "tenants/default", PageSize: benchPageSize})
	if err != nil {
		return fmt.Errorf("gRPC list: %w", err)
	}
	return checkShape(op, 0, len(resp.GetIncidents()))
}

// checkREST makes one REST call of op and checks its reply.
func checkREST(hc *http.Client, base, op string) error {
	url := base + "/v1/tenants/default/incidents/" + benchIncident
	if op == "list" {
		url = fmt.Sprintf("%s/v1/tenants/default/incidents?page_size=%d", base, benchPageSize)
	}
	resp, err := hc.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Alerts    []json.RawMessage `json:"alerts"`
		Incidents []json.RawMessage `json:"incidents"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("REST %s: HTTP %d: %v", op, resp.StatusCode, err)
	}
	return checkShape(op, len(body.Alerts), len(body.Incidents))
}

// checkShape checks a reply's alert count (get) or incident count (list).
func checkShape(op string, alerts, incidents int) error {
	switch {
	case op == "get" && alerts == 0:
		return errors.New("get: no alerts: the default view should be FULL")
	case op == "list" && incidents != benchPageSize:
		return fmt.Errorf("list: %d incidents, want %d", incidents, benchPageSize)
	}
	return nil
}
