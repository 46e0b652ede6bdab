package emulator

import (
	"net/http"
	"sync"
	"testing"
)

func TestIncidentListCalls(t *testing.T) {
	e := startReal(t)
	tok := homeTokens(t, e)
	e.ResetRequests()
	if n := e.IncidentListCalls(); n != 0 {
		t.Fatalf("after reset: %d", n)
	}
	remove := e.InjectFault(ExpandAlertsFailure("", 500))
	defer remove()
	graphList, xdrList := e.GraphURL()+"/security/incidents", e.XDRURL()+"/api/incidents"
	requests := []struct {
		method, url, token string
		counted            bool
	}{
		{http.MethodGet, graphList + "?$top=1", tok.graph, true},
		{http.MethodGet, graphList + "?$expand=alerts", tok.graph, true}, // faulted
		{http.MethodGet, graphList + "?$top=500", tok.graph, true},       // 400
		{http.MethodGet, graphList, "", true},                            // 401
		{http.MethodGet, xdrList + "?$top=1", tok.xdr, true},
		{http.MethodGet, graphList + "/1000", tok.graph, false},
		{http.MethodGet, xdrList + "/1000", tok.xdr, false},
		{http.MethodPatch, xdrList + "/1000", tok.xdr, false},
		{http.MethodGet, e.GraphURL() + "/security/alerts_v2", tok.graph, false},
	}
	want := int64(0)
	for _, r := range requests {
		send(t, e, r.method, r.url, r.token, "")
		if r.counted {
			want++
		}
	}
	if n := e.IncidentListCalls(); n != want {
		t.Errorf("IncidentListCalls = %d, want %d", n, want)
	}

	const parallel = 20
	var wg sync.WaitGroup
	errs := make(chan error, parallel)
	for i := range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			url, token := graphList, tok.graph
			if i%2 == 1 {
				url, token = xdrList, tok.xdr
			}
			req, _ := http.NewRequest(http.MethodGet, url+"?$top=1", nil)
			req.Header.Set("Authorization", token)
			resp, err := e.HTTPClient().Do(req)
			if err != nil {
				errs <- err
				return
			}
			resp.Body.Close()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	want += parallel
	if n := e.IncidentListCalls(); n != want {
		t.Errorf("after %d concurrent lists: %d, want %d", parallel, n, want)
	}
	logged := int64(0)
	for _, r := range e.Requests() {
		if IsIncidentList(r) {
			logged++
		}
	}
	if logged != want {
		t.Errorf("IsIncidentList finds %d in Requests(), IncidentListCalls %d", logged, want)
	}
	e.ResetRequests()
	if n := e.IncidentListCalls(); n != 0 {
		t.Errorf("after ResetRequests: %d", n)
	}
}
