package kql

import (
	"math/rand/v2"
	"strconv"
	"time"
)

// DeviceEventsRows is the row count of the generated DeviceEvents table,
// per tenant: more than MaxResultRows, so that a query can hit Defender's
// row limit.
const DeviceEventsRows = 250_000

// deviceEventsStep is the spacing of DeviceEvents timestamps: the rows
// cover the 30-day sample window in order, oldest first.
const deviceEventsStep = sampleWindow / DeviceEventsRows

// deviceEventKind is one kind of miscellaneous endpoint event.
type deviceEventKind struct {
	actionType string
	folderPath string // the file the event is about
	process    string // initiating process image
	args       []string
	remotePort int32 // 0: not a network event (RemotePort is null)
	fields     func(r *rand.PCG) map[string]any
}

var deviceEventKinds = []weighted[deviceEventKind]{
	{18, deviceEventKind{"PowerShellCommand", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, "powershell.exe",
		[]string{`-NoProfile -ExecutionPolicy Bypass -File C:\ProgramData\Scripts\inventory.ps1`, `-NoLogo -Command "Get-Service | Where-Object Status -eq 'Running'"`, `-EncodedCommand SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA`}, 0,
		func(r *rand.PCG) map[string]any {
			return map[string]any{"Command": pickN(r, []string{"Get-Process", "Get-Service", "Invoke-WebRequest", "Get-ChildItem", "Start-Process"})}
		}}},
	{16, deviceEventKind{"DnsQueryResponse", `C:\Windows\System32\svchost.exe`, "svchost.exe",
		[]string{`-k NetworkService -p -s Dnscache`}, 53,
		func(r *rand.PCG) map[string]any {
			return map[string]any{"DnsQueryString": pickN(r, []string{"login.microsoftonline.com", "outlook.office365.com", "cdn-update.example", "teams.microsoft.com"}),
				"DnsQueryResult": []any{map[string]any{"DnsQueryType": "A", "Address": "10.1.0." + strconv.Itoa(int(r.Uint64()%250+2))}}}
		}}},
	{12, deviceEventKind{"AntivirusScanCompleted", `C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe`, "MsMpEng.exe",
		[]string{`-ScanType QuickScan`, `-ScanType FullScan`}, 0,
		func(r *rand.PCG) map[string]any {
			return map[string]any{"ScanTypeIndex": pickN(r, []string{"Quick", "Full"}), "Duration": strconv.Itoa(int(r.Uint64()%3600)) + "s"}
		}}},
	{10, deviceEventKind{"ScheduledTaskCreated", `C:\Windows\System32\schtasks.exe`, "schtasks.exe",
		[]string{`/Create /SC DAILY /TN "Contoso\Backup" /TR "C:\Program Files\Contoso\backup.exe" /ST 02:00`, `/Create /SC ONLOGON /TN "OneDrive Standalone Update Task" /TR "%localappdata%\Microsoft\OneDrive\OneDriveStandaloneUpdater.exe"`}, 0,
		func(r *rand.PCG) map[string]any {
			return map[string]any{"TaskName": pickN(r, []string{`\Contoso\Backup`, `\OneDrive Standalone Update Task`, `\Microsoft\Windows\UpdateOrchestrator\Reboot`})}
		}}},
	{10, deviceEventKind{"UsbDriveMounted", `C:\Windows\System32\svchost.exe`, "svchost.exe",
		[]string{`-k LocalSystemNetworkRestricted -p -s StorSvc`}, 0,
		func(r *rand.PCG) map[string]any {
			return map[string]any{"DriveLetter": pickN(r, []string{"D:", "E:", "F:"}), "ProductName": pickN(r, []string{"DataTraveler 3.0", "Ultra Fit", "Cruzer Blade"}),
				"Volume": strconv.FormatUint(r.Uint64()%1_000_000_000, 16)}
		}}},
	{8, deviceEventKind{"SmartScreenUrlWarning", `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`, "msedge.exe",
		[]string{`--type=renderer --lang=en-US --disable-gpu-compositing --field-trial-handle=1996,i,4735261`}, 443,
		func(r *rand.PCG) map[string]any {
			return map[string]any{"Experience": "Untrusted", "RemoteUrl": pickN(r, []string{"http://198.51.100.23/payload.exe", "https://pastebin-mirror.example/raw/x1", "http://203.0.113.66/a.ps1"})}
		}}},
	{8, deviceEventKind{"NamedPipeEvent", `\Device\NamedPipe\mojo.7412.1868.4215`, "chrome.exe",
		[]string{`--type=utility --utility-sub-type=network.mojom.NetworkService --lang=en-US --service-sandbox-type=none`}, 0,
		func(r *rand.PCG) map[string]any {
			return map[string]any{"PipeName": `\Device\NamedPipe\mojo.` + strconv.Itoa(int(r.Uint64()%9000+1000)), "FileOperation": "File created"}
		}}},
	{6, deviceEventKind{"FirewallInboundConnectionBlocked", `C:\Windows\System32\svchost.exe`, "svchost.exe",
		[]string{`-k LocalServiceNoNetworkFirewall -p`}, 445,
		func(r *rand.PCG) map[string]any {
			return map[string]any{"Direction": "Inbound", "Profile": pickN(r, []string{"Domain", "Private", "Public"})}
		}}},
	{4, deviceEventKind{"AsrOfficeChildProcessBlocked", `C:\Windows\System32\cmd.exe`, "WINWORD.EXE",
		[]string{`/n "C:\Users\Public\Documents\Invoice-2026.docm" /o ""`}, 0,
		func(r *rand.PCG) map[string]any {
			return map[string]any{"IsAudit": r.Uint64()%2 == 0, "RuleId": "d4f940ab-401b-4efc-aadc-ad5f3c50688a"}
		}}},
	{4, deviceEventKind{"AntivirusDetection", `C:\Users\Public\Downloads\invoice_viewer.exe`, "explorer.exe",
		[]string{`/factory,{75dff2b7-6936-4c06-a8bb-676a7b00b24b} -Embedding`}, 0,
		func(r *rand.PCG) map[string]any {
			return map[string]any{"ThreatName": pickN(r, []string{"Trojan:Win32/Wacatac.B!ml", "HackTool:Win32/Mimikatz!pz", "Ransom:Win32/Conti.A"}), "WasRemediated": true}
		}}},
}

// deviceEventKindTable expands the weights so a kind is picked with one
// random number.
var deviceEventKindTable = func() []int {
	var out []int
	for i, k := range deviceEventKinds {
		for range k.weight {
			out = append(out, i)
		}
	}
	return out
}()

// pickN returns a uniformly chosen element of items.
func pickN[T any](r *rand.PCG, items []T) T { return items[r.Uint64()%uint64(len(items))] }

// deviceEvents generates DeviceEvents rows by index: row i is a pure
// function of (tenant seed, now, i), so nothing is kept and any row can be
// produced on demand. Timestamps increase with i.
type deviceEvents struct {
	seed    uint64
	start   time.Time // now - sampleWindow
	devices []device
}

func (d *deviceEvents) len() int { return DeviceEventsRows }

func (d *deviceEvents) row(i int) []any {
	var r rand.PCG
	r.Seed(d.seed, uint64(i))
	kind := deviceEventKinds[deviceEventKindTable[r.Uint64()%uint64(len(deviceEventKindTable))]].item
	dev := d.devices[r.Uint64()%uint64(len(d.devices))]
	ts := d.start.Add(time.Duration(i)*deviceEventsStep + time.Duration(r.Uint64()%uint64(deviceEventsStep))).Truncate(time.Millisecond)
	var port any
	if kind.remotePort != 0 {
		port = kind.remotePort
	}
	cmd := kind.process + " " + pickN(&r, kind.args)
	return []any{
		ts, dev.id, dev.name, kind.actionType, kind.folderPath, cmd, port,
		int64(i) + 1_000_000 + int64(d.seed%1_000_000), r.Uint64()%20 == 0, kind.fields(&r),
	}
}

// newDeviceEvents prepares the generator; devices are the tenant's sample
// devices (shared with the other tables, so queries can correlate them).
func newDeviceEvents(tenantSeed uint64, now time.Time, devices []device) *deviceEvents {
	return &deviceEvents{seed: tenantSeed ^ uint64(now.UnixNano()), start: now.Add(-sampleWindow), devices: devices}
}
