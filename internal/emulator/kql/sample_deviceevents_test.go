package kql

import (
	"reflect"
	"testing"
)

// TestDeviceEventsIsLazyAndDeterministic: the large table costs nothing
// until a query reads it, has DeviceEventsRows rows then, and is the same
// for the same (tenant, now).
func TestDeviceEventsIsLazyAndDeterministic(t *testing.T) {
	db := NewSampleDatabase("tenant-a", sampleNow)
	if l := db.tables[TableDeviceEvents].lazy; l == nil || l.rows != nil {
		t.Fatal("DeviceEvents was generated with the database")
	}
	res := mustRun(t, db, "DeviceEvents | take 5")
	if n := len(db.tables[TableDeviceEvents].lazy.rows); n != DeviceEventsRows {
		t.Errorf("%d rows generated, want %d", n, DeviceEventsRows)
	}
	again := mustRun(t, NewSampleDatabase("tenant-a", sampleNow), "DeviceEvents | take 5")
	if !reflect.DeepEqual(res.Rows, again.Rows) {
		t.Error("two databases of one tenant and time differ")
	}
	other := mustRun(t, NewSampleDatabase("tenant-b", sampleNow), "DeviceEvents | take 5")
	if reflect.DeepEqual(res.Rows, other.Rows) {
		t.Error("two tenants got the same rows")
	}
	if n := len(mustRun(t, db, "DeviceEvents | where ActionType == 'PowerShellCommand' | count").Rows); n != 1 {
		t.Errorf("count gave %d rows", n)
	}
}
