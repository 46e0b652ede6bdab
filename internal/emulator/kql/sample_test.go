package kql

import (
	"cmp"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

var sampleNow = time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)

func TestSampleDatabaseTables(t *testing.T) {
	db := NewSampleDatabase("tenant-a", sampleNow)
	want := []string{"AlertInfo", "DeviceEvents", "DeviceNetworkEvents", "DeviceProcessEvents", "EmailEvents"}
	if got := db.Tables(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Tables() = %v, want %v", got, want)
	}
	if _, ok := db.Schema("NoSuchTable"); ok {
		t.Error("Schema(NoSuchTable) reported ok")
	}
	wantColumns := map[string]string{
		"DeviceProcessEvents": "Timestamp:DateTime DeviceId:String DeviceName:String ActionType:String FileName:String FolderPath:String SHA1:String SHA256:String ProcessId:Int64 ProcessCommandLine:String AccountName:String AccountDomain:String InitiatingProcessFileName:String InitiatingProcessCommandLine:String ReportId:Int64",
		"DeviceNetworkEvents": "Timestamp:DateTime DeviceId:String DeviceName:String ActionType:String RemoteIP:String RemotePort:Int32 RemoteUrl:String LocalIP:String LocalPort:Int32 Protocol:String InitiatingProcessFileName:String ReportId:Int64",
		"AlertInfo":           "Timestamp:DateTime AlertId:String Title:String Category:String Severity:String ServiceSource:String DetectionSource:String AttackTechniques:String",
		"DeviceEvents":        "Timestamp:DateTime DeviceId:String DeviceName:String ActionType:String FolderPath:String InitiatingProcessCommandLine:String RemotePort:Int32 ReportId:Int64 IsInitiatingProcessRemoteSession:Boolean AdditionalFields:Dynamic",
		"EmailEvents":         "Timestamp:DateTime NetworkMessageId:String SenderFromAddress:String RecipientEmailAddress:String Subject:String DeliveryAction:String ThreatTypes:String EmailDirection:String ReportId:String",
	}
	for _, name := range db.Tables() {
		t.Run(name, func(t *testing.T) {
			cols, ok := db.Schema(name)
			if !ok {
				t.Fatalf("Schema(%s) missing", name)
			}
			var parts []string
			for _, c := range cols {
				parts = append(parts, c.Name+":"+c.Type)
			}
			if got := strings.Join(parts, " "); got != wantColumns[name] {
				t.Errorf("schema\n got %s\nwant %s", got, wantColumns[name])
			}
			res := mustRun(t, db, sampleQuery(name))
			if n := len(res.Rows); n < 200 || n > 2000 {
				t.Errorf("%d rows, want a few hundred to 2,000", n)
			}
			for i, row := range res.Rows {
				if err := checkRow(row, cols); err != nil {
					t.Fatalf("row %d: %v", i, err)
				}
			}
		})
	}
}

// checkRow verifies value types against the schema and that the timestamp
// is in the 30 days before sampleNow.
func checkRow(row []any, cols []Column) error {
	if len(row) != len(cols) {
		return fmt.Errorf("%d values for %d columns", len(row), len(cols))
	}
	for i, v := range row {
		if v == nil && i > 0 { // null (DeviceEvents.RemotePort of non-network events)
			continue
		}
		if got := literalType(v); !(got == cols[i].Type || cols[i].Type == TypeInt32 && isInt32(v)) {
			return fmt.Errorf("column %s holds %T, want %s", cols[i].Name, v, cols[i].Type)
		}
	}
	ts := row[0].(time.Time)
	if ts.Location() != time.UTC || ts.After(sampleNow) || ts.Before(sampleNow.Add(-sampleWindow)) {
		return fmt.Errorf("timestamp %v outside the 30 days before %v", ts, sampleNow)
	}
	return nil
}

// sampleQuery reads a whole sample table, or the first 1,500 rows of the
// large generated one.
func sampleQuery(table string) string {
	if table == TableDeviceEvents {
		return table + " | take 1500"
	}
	return table
}

func isInt32(v any) bool { _, ok := v.(int32); return ok }

func TestSampleDatabaseDeterminism(t *testing.T) {
	dump := func(db *Database) map[string][][]any {
		out := map[string][][]any{}
		for _, name := range db.Tables() {
			out[name] = mustRun(t, db, sampleQuery(name)).Rows
		}
		return out
	}
	a1 := dump(NewSampleDatabase("tenant-a", sampleNow))
	a2 := dump(NewSampleDatabase("tenant-a", sampleNow))
	b := dump(NewSampleDatabase("tenant-b", sampleNow))
	if !reflect.DeepEqual(a1, a2) {
		t.Error("same tenant and now produced different data")
	}
	for name := range a1 {
		if reflect.DeepEqual(a1[name], b[name]) {
			t.Errorf("%s: tenants a and b have identical data", name)
		}
	}
	// now only shifts timestamps.
	shifted := NewSampleDatabase("tenant-a", sampleNow.Add(time.Hour))
	row0 := mustRun(t, shifted, "AlertInfo | take 1").Rows[0]
	if got, want := row0[0].(time.Time), a1["AlertInfo"][0][0].(time.Time).Add(time.Hour); !got.Equal(want) {
		t.Errorf("shifting now by 1h moved the first alert to %v, want %v", got, want)
	}
}

// TestDemoQueriesFindActivity guards the realism the demos rely on.
func TestDemoQueriesFindActivity(t *testing.T) {
	queries := []string{
		`DeviceProcessEvents | where FileName =~ "powershell.exe" and ProcessCommandLine has "EncodedCommand"`,
		`DeviceProcessEvents | where FileName == "certutil.exe" and ProcessCommandLine contains "urlcache"`,
		`DeviceProcessEvents | where DeviceName startswith "ws-" and DeviceName endswith ".contoso.com"`,
		`DeviceNetworkEvents | where RemoteIP in ("203.0.113.66", "198.51.100.23", "203.0.113.45")`,
		`DeviceNetworkEvents | where RemotePort == 4444`,
		`AlertInfo | where Severity == "High" and AttackTechniques has "T1059.001"`,
		`EmailEvents | where ThreatTypes has "Phish" and DeliveryAction == "Delivered"`,
		`EmailEvents | where Timestamp > ago(7d)`,
	}
	for _, tenant := range []string{"tenant-a", "contoso-prod", ""} {
		db := NewSampleDatabase(tenant, sampleNow)
		for _, q := range queries {
			if n := len(mustRun(t, db, q).Rows); n == 0 {
				t.Errorf("tenant %q: %s returned no rows", tenant, q)
			}
		}
	}
}

// TestAggregatesMatchIndependentCounts checks summarize, count and top on
// the sample data against results computed here from the raw table.
func TestAggregatesMatchIndependentCounts(t *testing.T) {
	db := NewSampleDatabase("tenant-a", sampleNow)
	raw := mustRun(t, db, "DeviceProcessEvents")
	cols, _ := db.Schema("DeviceProcessEvents")
	idx := func(name string) int {
		return slices.IndexFunc(cols, func(c Column) bool { return c.Name == name })
	}
	fileName, deviceName, pid := idx("FileName"), idx("DeviceName"), idx("ProcessId")

	wantByFile := map[string]int64{}
	wantByPair := map[[2]string]int64{}
	var wantPowershell int64
	for _, row := range raw.Rows {
		f, d := row[fileName].(string), row[deviceName].(string)
		wantByFile[f]++
		wantByPair[[2]string{d, f}]++
		if strings.EqualFold(f, "powershell.exe") {
			wantPowershell++
		}
	}

	t.Run("summarize count() by one column", func(t *testing.T) {
		res := mustRun(t, db, "DeviceProcessEvents | summarize count() by FileName")
		got := map[string]int64{}
		for _, row := range res.Rows {
			got[row[0].(string)] = row[1].(int64)
		}
		if !reflect.DeepEqual(got, wantByFile) {
			t.Errorf("got %v, want %v", got, wantByFile)
		}
	})
	t.Run("summarize named count by two columns", func(t *testing.T) {
		res := mustRun(t, db, "DeviceProcessEvents | summarize Runs = count() by DeviceName, FileName")
		got := map[[2]string]int64{}
		for _, row := range res.Rows {
			got[[2]string{row[0].(string), row[1].(string)}] = row[2].(int64)
		}
		if !reflect.DeepEqual(got, wantByPair) {
			t.Errorf("got %d groups, want %d (maps differ)", len(got), len(wantByPair))
		}
	})
	t.Run("count and summarize count() without by", func(t *testing.T) {
		for _, q := range []string{
			`DeviceProcessEvents | where FileName =~ "POWERSHELL.EXE" | count`,
			`DeviceProcessEvents | where FileName =~ "POWERSHELL.EXE" | summarize count()`,
		} {
			if got := mustRun(t, db, q).Rows[0][0]; got != wantPowershell {
				t.Errorf("%s = %v, want %d", q, got, wantPowershell)
			}
		}
	})
	t.Run("top N by count", func(t *testing.T) {
		type fileCount struct {
			file string
			n    int64
		}
		var counts []fileCount
		for f, n := range wantByFile {
			counts = append(counts, fileCount{f, n})
		}
		slices.SortFunc(counts, func(a, b fileCount) int { return cmp.Compare(b.n, a.n) })
		res := mustRun(t, db, "DeviceProcessEvents | summarize N = count() by FileName | top 3 by N")
		for i, row := range res.Rows {
			if row[1].(int64) != counts[i].n {
				t.Errorf("top row %d count = %v, want %d", i, row[1], counts[i].n)
			}
		}
		if len(res.Rows) != 3 {
			t.Errorf("top 3 returned %d rows", len(res.Rows))
		}
	})
	t.Run("top N by column", func(t *testing.T) {
		pids := make([]int64, len(raw.Rows))
		for i, row := range raw.Rows {
			pids[i] = row[pid].(int64)
		}
		slices.Sort(pids)
		res := mustRun(t, db, "DeviceProcessEvents | top 5 by ProcessId asc | project ProcessId")
		for i, row := range res.Rows {
			if row[0] != pids[i] {
				t.Errorf("row %d ProcessId = %v, want %d", i, row[0], pids[i])
			}
		}
	})
}
