package emulator

import (
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// TestListingLagOverAPIs: under a lag both lists show the version before a
// direct change (and no incident created within it) whatever the filter,
// while both gets show the change; once the change is older than the lag,
// the lists show it.
func TestListingLagOverAPIs(t *testing.T) {
	e := startReal(t)
	tok := homeTokens(t, e)
	home := identity.HomeTenantID
	before := openIncidents(t, e)[3]

	e.SetListingLag(time.Hour)
	owner := "late@contoso.com"
	updated, err := e.UpdateIncident(home, before.ID, store.Patch{AssignedTo: &owner})
	if err != nil {
		t.Fatal(err)
	}
	created, err := e.CreateIncident(home, store.NewIncident{Title: "late"})
	if err != nil {
		t.Fatal(err)
	}
	since := stamp(updated.LastUpdateTime)
	oldSince := stamp(before.LastUpdateTime)

	tests := []struct {
		name    string
		graph   url.Values
		xdr     url.Values
		wantOld bool // the old version of before is listed
	}{
		{"filter ge the change", url.Values{"$filter": {"lastUpdateDateTime ge " + since}, "$expand": {"alerts"}},
			url.Values{"$filter": {"lastUpdateTime ge " + since}}, false},
		{"filter ge the old version", url.Values{"$filter": {"lastUpdateDateTime ge " + oldSince}, "$expand": {"alerts"}},
			url.Values{"$filter": {"lastUpdateTime ge " + oldSince}}, true},
		{"no filter", url.Values{"$expand": {"alerts"}}, url.Values{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			graph := graphListed(t, e, tok.graph, tt.graph)
			xdr := xdrListed(t, e, tok.xdr, tt.xdr)
			if _, ok := graph[created.ID]; ok {
				t.Error("graph lists the incident created within the lag")
			}
			if _, ok := xdr[created.ID]; ok {
				t.Error("xdr lists the incident created within the lag")
			}
			g, gok := graph[before.ID]
			x, xok := xdr[before.ID]
			if gok != tt.wantOld || xok != tt.wantOld {
				t.Fatalf("old version listed by graph %v, xdr %v; want %v", gok, xok, tt.wantOld)
			}
			if tt.wantOld {
				checkGraphIncident(t, "graph list", g, before)
				checkXDRIncident(t, "xdr list", x, before)
			}
		})
	}
	for _, inc := range []store.Incident{updated, created} {
		status, body := send(t, e, http.MethodGet, e.GraphURL()+"/security/incidents/"+strconv.FormatInt(inc.ID, 10)+"?$expand=alerts", tok.graph, "")
		if status != http.StatusOK {
			t.Fatalf("graph get %d: %d", inc.ID, status)
		}
		checkGraphIncident(t, "graph get under lag", body, inc)
		status, body = send(t, e, http.MethodGet, e.XDRURL()+"/api/incidents/"+strconv.FormatInt(inc.ID, 10), tok.xdr, "")
		if status != http.StatusOK {
			t.Fatalf("xdr get %d: %d", inc.ID, status)
		}
		checkXDRIncident(t, "xdr get under lag", body, inc)
	}

	// The change is older than a millisecond lag at once; wait for it all
	// the same rather than assume the clock moved.
	e.SetListingLag(time.Millisecond)
	filter := url.Values{"$filter": {"lastUpdateDateTime ge " + since}}
	for deadline := time.Now().Add(5 * time.Second); len(graphListed(t, e, tok.graph, filter)) < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the changes never showed under a 1ms lag")
		}
		time.Sleep(10 * time.Millisecond)
	}
	e.SetListingLag(0)
	checkSeenEverywhere(t, e, tok, []store.Incident{updated, created})
}
