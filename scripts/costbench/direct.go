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
	api := fs.String("api", "", "the Graph API URL")
	scope := fs.String("scope", identity.GraphResource+"/.default", "the token scope")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// The emulator's CA comes from SSL_CERT_FILE, as for the gateway.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = *c
	tr.MaxIdleConns = 2 * *c
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	tokens, err := credentials.NewApp(credentials.AppOptions{AuthorityHost: *authority, TenantID: identity.HomeTenantID,
		ClientID: identity.ClientID, ClientSecret: identity.ClientSecret, Scope: *scope, HTTPClient: hc})
	if err != nil {
		return err
	}
	call := directGet(hc, tokens, *api+"/security/incidents/"+benchIncident+"?$expand=alerts")
	if *op == "list" {
		call = directList(hc, tokens, fmt.Sprintf("%s/security/incidents?$top=%d", *api, benchPageSize))
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
func directGet(hc *http.Client, tokens *credentials.App, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		var in graphIncident
		if err := getJSON(ctx, hc, tokens, url, &in); err != nil {
			return err
		}
		if in.ID != benchIncident || len(in.Alerts) == 0 {
			return fmt.Errorf("incident %q with %d alerts", in.ID, len(in.Alerts))
		}
		return nil
	}
}

// directList fetches one page of incidents.
func directList(hc *http.Client, tokens *credentials.App, url string) func(context.Context) error {
	return func(ctx context.Context) error {
		var page graphPage
		if err := getJSON(ctx, hc, tokens, url, &page); err != nil {
			return err
		}
		if len(page.Value) != benchPageSize {
			return fmt.Errorf("%d incidents, want %d", len(page.Value), benchPageSize)
		}
		return nil
	}
}

// getJSON GETs url with a bearer token from MSAL's cache, the headers the
// gateway sends to Graph, and decodes the body into v as it streams in.
func getJSON(ctx context.Context, hc *http.Client, tokens *credentials.App, url string, v any) error {
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
	req.Header.Set("Prefer", "include-unknown-enum-members")
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return err
	}
	// Drain what follows the value (a newline) so the connection is reused.
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}
