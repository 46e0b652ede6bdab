package app_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestSandboxEmulatorControl: with --sandbox-emulator-limits documented the
// emulator counts the gateway's upstream calls against the documented
// windows, and its control API on /sandbox/emulator/ reports them and takes
// faults.
func TestSandboxEmulatorControl(t *testing.T) {
	_, rest, _ := startSandbox(t, "--sandbox-emulator-limits", "documented")
	get := func(path string) (int, string) {
		t.Helper()
		resp, err := http.Get(rest + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, body := get("/v1/tenants/default/incidents?pageSize=1"); status != http.StatusOK {
		t.Fatalf("list incidents: %d %s", status, body)
	}
	status, body := get("/sandbox/emulator/stats")
	if status != http.StatusOK {
		t.Fatalf("stats: %d %s", status, body)
	}
	var stats []struct {
		API, Route string
		Accepted   int
		Windows    []struct {
			Count int
			Per   string
		}
	}
	if err := json.Unmarshal([]byte(body), &stats); err != nil {
		t.Fatalf("stats body %s: %v", body, err)
	}
	found := false
	for _, s := range stats {
		if s.API == "graph" && s.Route == "incident-read" && s.Accepted >= 1 &&
			len(s.Windows) == 2 && s.Windows[0].Count == 50 && s.Windows[0].Per == "1m0s" {
			found = true
		}
	}
	if !found {
		t.Errorf("stats %s: want graph incident-read counted against 50 per 1m", body)
	}

	resp, err := http.Post(rest+"/sandbox/emulator/faults", "application/json",
		strings.NewReader(`{"api":"graph","pathPrefix":"/v1.0/security/runHuntingQuery","status":503}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("add fault: %d", resp.StatusCode)
	}
	if status, body := get("/sandbox/emulator/faults"); status != http.StatusOK || !strings.Contains(body, `"status":503`) {
		t.Errorf("faults: %d %s", status, body)
	}
}
