package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/defender-gateway/gateway/internal/defender/credentials"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
)

// childReport is what the direct child prints when it is done.
type childReport struct {
	Calls    int    `json:"calls"`
	OK       int    `json:"ok"`
	CPUNanos int64  `json:"cpuNanos"`
	PeakRSS  int64  `json:"peakRSS"`
	Error    string `json:"error,omitempty"`
}

// graphIncident is the baseline's typed view of a Graph incident: the
// fields a client would use, and the alerts' (as the gateway's FULL view
// has them). encoding/json skips every other field.
type graphIncident struct {
	ID                 string       `json:"id"`
	DisplayName        string       `json:"displayName"`
	Description        string       `json:"description"`
	Status             string       `json:"status"`
	Severity           string       `json:"severity"`
	Classification     string       `json:"classification"`
	Determination      string       `json:"determination"`
	AssignedTo         string       `json:"assignedTo"`
	IncidentWebURL     string       `json:"incidentWebUrl"`
	CustomTags         []string     `json:"customTags"`
	CreatedDateTime    time.Time    `json:"createdDateTime"`
	LastUpdateDateTime time.Time    `json:"lastUpdateDateTime"`
	Alerts             []graphAlert `json:"alerts"`
}

type graphAlert struct {
	ID              string    `json:"id"`
	Title           string    `json:"title"`
	Category        string    `json:"category"`
	Status          string    `json:"status"`
	Severity        string    `json:"severity"`
	ServiceSource   string    `json:"serviceSource"`
	CreatedDateTime time.Time `json:"createdDateTime"`
}

type graphPage struct {
	Value    []graphIncident `json:"value"`
	NextLink string          `json:"@odata.nextLink"`
}

// xdrIncident is the same for the XDR API, whose incidents carry their
// alerts in lists too.
type xdrIncident struct {
	IncidentID     json.Number `json:"incidentId"`
	IncidentName   string      `json:"incidentName"`
	Status         string      `json:"status"`
	Severity       string      `json:"severity"`
	Classification string      `json:"classification"`
	Determination  string      `json:"determination"`
	AssignedTo     string      `json:"assignedTo"`
	Tags           []string    `json:"tags"`
	CreatedTime    time.Time   `json:"createdTime"`
	LastUpdateTime time.Time   `json:"lastUpdateTime"`
	Alerts         []xdrAlert  `json:"alerts"`
}

type xdrAlert struct {
	AlertID       string    `json:"alertId"`
	Title         string    `json:"title"`
	Category      string    `json:"category"`
	Status        string    `json:"status"`
	Severity      string    `json:"severity"`
	ServiceSource string    `json:"serviceSource"`
	CreationTime  time.Time `json:"creationTime"`
}

type xdrPage struct {
	Value    []xdrIncident `json:"value"`
	NextLink string        `json:"@odata.nextLink"`
}

// upstream is one backend's requests and typed decoding.
type upstream struct {
	scope, getPath, listPath, prefer string
	get, list                        func(body *json.Decoder) (id string, alertsOrIncidents int, err error)
}

var upstreams = map[string]upstream{
	"graph": {
		scope: identity.GraphResource + "/.default", getPath: "/security/incidents/" + benchIncident + "?$expand=alerts",
		listPath: fmt.Sprintf("/security/incidents?$top=%d", benchPageSize), prefer: "include-unknown-enum-members",
		get: func(d *json.Decoder) (string, int, error) {
			var in graphIncident
			err := d.Decode(&in)
			return in.ID, len(in.Alerts), err
		},
		list: func(d *json.Decoder) (string, int, error) {
			var page graphPage
			err := d.Decode(&page)
			return "", len(page.Value), err
		},
	},
	"xdr": {
		scope: identity.XDRResource + "/.default", getPath: "/api/incidents/" + benchIncident,
		listPath: fmt.Sprintf("/api/incidents?$top=%d", benchPageSize),
		get: func(d *json.Decoder) (string, int, error) {
			var in xdrIncident
			err := d.Decode(&in)
			return in.IncidentID.String(), len(in.Alerts), err
		},
		list: func(d *json.Decoder) (string, int, error) {
			var page xdrPage
			err := d.Decode(&page)
			return "", len(page.Value), err
		},
	},
}

// runDirect is the direct child: the same upstream calls as the gateway
// makes, at the same concurrency, with its own CPU time measured around
// the load. It prints a childReport as JSON.
func runDirect(args []string) error {
	fs := flag.NewFlagSet("direct", flag.ContinueOnError)
	op := fs.String("op", "get", "get or list")
	n := fs.Int("n", 1000, "calls to measure")
	c := fs.Int("c", 50, "concurrent calls")
	warm := fs.Int("warm", 100, "calls before the measurement")
	authority := fs.String("authority", "", "the Entra authority host")
	api := fs.String("api", "", "the API URL (Graph's or XDR's)")
	backend := fs.String("backend", "graph", "graph or xdr")
	if err := fs.Parse(args); err != nil {
		return err
	}
	up, known := upstreams[*backend]
	if !known {
		return fmt.Errorf("-backend %q: graph or xdr", *backend)
	}
	// The emulator's CA comes from SSL_CERT_FILE, as for the gateway.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = *c
	tr.MaxIdleConns = 2 * *c
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	tokens, err := credentials.NewApp(credentials.AppOptions{AuthorityHost: *authority, TenantID: identity.HomeTenantID,
		ClientID: identity.ClientID, ClientSecret: identity.ClientSecret, Scope: up.scope, HTTPClient: hc})
	if err != nil {
		return err
	}
	call := directGet(hc, tokens, up, *api+up.getPath)
	if *op == "list" {
		call = directList(hc, tokens, up, *api+up.listPath)
	}
	if ok, err := loop(*warm, *c, call); err != nil {
		return fmt.Errorf("warm-up: %d OK: %w", ok, err)
	}
	pid := os.Getpid()
	before, err := processCPU(pid)
	if err != nil {
		return err
	}
	ok, callErr := loop(*n, *c, call)
	after, err := processCPU(pid)
	if err != nil {
		return err
	}
	rep := childReport{Calls: *n, OK: ok, CPUNanos: int64(after - before)}
	if rep.PeakRSS, err = peakRSS(pid); err != nil {
		return err
	}
	if callErr != nil {
		rep.Error = callErr.Error()
	}
	return json.NewEncoder(os.Stdout).Encode(rep)
}

// directGet fetches one incident with its alerts.
func directGet(hc *http.Client, tokens *credentials.App, up upstream, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		var id string
		var alerts int
		err := getJSON(ctx, hc, tokens, url, up.prefer, func(d *json.Decoder) (err error) {
			id, alerts, err = up.get(d)
			return err
		})
		if err != nil {
			return err
		}
		if id != benchIncident || alerts == 0 {
			return fmt.Errorf("incident %q with %d alerts", id, alerts)
		}
		return nil
	}
}

// directList fetches one page of incidents.
func directList(hc *http.Client, tokens *credentials.App, up upstream, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		var n int
		err := getJSON(ctx, hc, tokens, url, up.prefer, func(d *json.Decoder) (err error) {
			_, n, err = up.list(d)
			return err
		})
		if err != nil {
			return err
		}
		if n != benchPageSize {
			return fmt.Errorf("%d incidents, want %d", n, benchPageSize)
		}
		return nil
	}
}

// getJSON GETs url with a bearer token from MSAL's cache and the headers
// the gateway sends, and decodes the body with decode as it streams in.
func getJSON(ctx context.Context, hc *http.Client, tokens *credentials.App, url, prefer string,
	decode func(*json.Decoder) error) error {
	token, err := tokens.Token(ctx)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if prefer != "" {
		req.Header.Set("Prefer", prefer)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if err := decode(json.NewDecoder(resp.Body)); err != nil {
		return err
	}
	// Drain what follows the value (a newline) so the connection is reused.
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
