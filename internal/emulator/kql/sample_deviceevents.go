package kql

import (
	"fmt"
	"slices"
	"sync"
	"time"
)

// TableDeviceEvents is the large sample table: DeviceEventsRows rows of 10
// columns, about 500 bytes of JSON each, so that `DeviceEvents | take
// 100000` is a result at the upstream's row limit of about 50 MB. It is
// generated on first use only (and then kept with the database), so that
// starting an emulator stays cheap.
const TableDeviceEvents = "DeviceEvents"

// DeviceEventsRows is the row count of TableDeviceEvents: more than the
// upstream's 100,000-row limit, so that the limit can be reached.
const DeviceEventsRows = 120_000

var deviceEventsColumns = []Column{
	{"Timestamp", TypeDateTime},
	{"DeviceId", TypeString},
	{"DeviceName", TypeString},
	{"ActionType", TypeString},
	{"FileName", TypeString},
	{"FolderPath", TypeString},
	{"InitiatingProcessAccountName", TypeString},
	{"InitiatingProcessId", TypeInt32},
	{"ReportId", TypeInt64},
	{"AdditionalFields", TypeDynamic},
}

// deviceEventKinds are the event kinds of the table, with a file each.
var deviceEventKinds = []struct{ action, file, folder string }{
	{"AntivirusScanCompleted", "MsMpEng.exe", `C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0`},
	{"ScheduledTaskCreated", "schtasks.exe", `C:\Windows\System32`},
	{"UsbDriveMounted", "explorer.exe", `C:\Windows`},
	{"BrowserLaunchedToOpenUrl", "msedge.exe", `C:\Program Files (x86)\Microsoft\Edge\Application`},
	{"PowerShellCommand", "powershell.exe", `C:\Windows\System32\WindowsPowerShell\v1.0`},
	{"DnsQueryResponse", "svchost.exe", `C:\Windows\System32`},
	{"FirewallInboundConnectionBlocked", "svchost.exe", `C:\Windows\System32`},
	{"ProcessPrimaryTokenModified", "lsass.exe", `C:\Windows\System32`},
}

var deviceEventAccounts = []string{"system", "local service", "network service", "alice", "bob", "carol", "svc-backup", "svc-sql"}

// lazyTable is a table whose rows are generated on first use.
type lazyTable struct {
	once sync.Once
	gen  func() [][]any
	rows [][]any
}

func (l *lazyTable) get() [][]any {
	l.once.Do(func() { l.rows, l.gen = l.gen(), nil })
	return l.rows
}

// deviceEventsTable returns the lazy DeviceEvents table of the database of
// (tenantID, now): deterministic, and independent of the other tables'
// generation (its own seed).
func deviceEventsTable(tenantID string, now time.Time, devices []device) *table {
	devices = slices.Clone(devices)
	lazy := &lazyTable{gen: func() [][]any {
		g := newGenerator(tenantID+"/"+TableDeviceEvents, now)
		rows := make([][]any, 0, DeviceEventsRows)
		reportID := int64(g.count(100_000, 900_000))
		for i := range DeviceEventsRows {
			kind := pick(g, deviceEventKinds)
			dev := pick(g, devices)
			reportID += int64(1 + g.rng.IntN(20))
			fields := map[string]any{
				"Sequence":         float64(i),
				"SignatureVersion": "1.419." + fmt.Sprint(100+g.rng.IntN(900)) + ".0",
				"ScanType":         pick(g, []string{"Quick", "Full", "Custom"}),
				"Source":           "sample",
			}
			rows = append(rows, []any{
				g.timestamp(), dev.id, dev.name, kind.action, kind.file, kind.folder,
				pick(g, deviceEventAccounts), int32(1000 + g.rng.IntN(30000)), reportID, fields,
			})
		}
		// Newest first, as a hunting table without an order reads.
		slices.SortStableFunc(rows, func(a, b []any) int { return b[0].(time.Time).Compare(a[0].(time.Time)) })
		return rows
	}}
	return &table{columns: deviceEventsColumns, lazy: lazy}
}
