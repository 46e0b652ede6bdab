package kql

// connection describes one kind of network event. Known-bad addresses use
// the RFC 5737 documentation ranges (192.0.2.0/24, 198.51.100.0/24,
// 203.0.113.0/24) and .example domains, so no real host is implicated.
type connection struct {
	actionType, remoteIP, remoteURL, protocol, process string
	remotePort                                         int32
	inbound                                            bool
}

var benignConnections = []weighted[connection]{
	{20, connection{"ConnectionSuccess", "20.190.151.7", "login.microsoftonline.com", "Tcp", "msedge.exe", 443, false}},
	{15, connection{"ConnectionSuccess", "52.97.146.162", "outlook.office365.com", "Tcp", "OUTLOOK.EXE", 443, false}},
	{12, connection{"ConnectionSuccess", "52.112.95.1", "teams.microsoft.com", "Tcp", "ms-teams.exe", 443, false}},
	{12, connection{"ConnectionSuccess", "142.250.74.36", "www.google.com", "Tcp", "chrome.exe", 443, false}},
	{6, connection{"ConnectionSuccess", "140.82.121.4", "github.com", "Tcp", "git.exe", 443, false}},
	{8, connection{"ConnectionSuccess", "13.107.4.50", "download.windowsupdate.com", "Tcp", "svchost.exe", 80, false}},
	{10, connection{"ConnectionSuccess", "10.1.0.10", "", "Udp", "svchost.exe", 53, false}},
	{4, connection{"ConnectionFailed", "52.97.146.162", "outlook.office365.com", "Tcp", "OUTLOOK.EXE", 443, false}},
	{4, connection{"InboundConnectionAccepted", "10.2.14.20", "", "Tcp", "svchost.exe", 3389, true}},
	{5, connection{"ConnectionSuccess", "10.1.0.12", "", "Tcp", "System", 445, false}},
}

var suspiciousConnections = []weighted[connection]{
	{10, connection{"ConnectionSuccess", "203.0.113.66", "http://203.0.113.66/a.ps1", "Tcp", "powershell.exe", 80, false}},
	{8, connection{"ConnectionSuccess", "198.51.100.23", "http://198.51.100.23/payload.exe", "Tcp", "certutil.exe", 80, false}},
	{10, connection{"ConnectionSuccess", "203.0.113.45", "cdn-update.example", "Tcp", "rundll32.exe", 443, false}},
	{6, connection{"ConnectionFailed", "198.51.100.77", "", "Tcp", "rundll32.exe", 4444, false}},
	{5, connection{"ConnectionSuccess", "192.0.2.200", "pastebin-mirror.example", "Tcp", "powershell.exe", 443, false}},
	{4, connection{"InboundConnectionAccepted", "198.51.100.14", "", "Tcp", "svchost.exe", 3389, true}},
	{4, connection{"ConnectionRequest", "203.0.113.9", "tor-exit.example", "Tcp", "mshta.exe", 9001, false}},
}

func (g *generator) networkEvents(devices []device) [][]any {
	reportID := int64(g.count(10_000, 90_000))
	n := g.count(1000, 1600)
	rows := make([][]any, 0, n)
	for range n {
		conn := pickWeighted(g, benignConnections)
		if g.chance(0.1) {
			conn = pickWeighted(g, suspiciousConnections)
		}
		dev := pick(g, devices)
		localPort := int32(49152 + g.rng.IntN(16383))
		remotePort := conn.remotePort
		if conn.inbound {
			localPort, remotePort = conn.remotePort, int32(49152+g.rng.IntN(16383))
		}
		remoteIP := conn.remoteIP
		if remoteIP == "10.1.0.12" { // lateral SMB goes to a random peer
			peer := pick(g, devices)
			remoteIP = peer.ip
		}
		reportID += int64(1 + g.rng.IntN(40))
		rows = append(rows, []any{
			g.timestamp(), dev.id, dev.name, conn.actionType, remoteIP, remotePort,
			conn.remoteURL, dev.ip, localPort, conn.protocol, conn.process, reportID,
		})
	}
	return sortByTimestamp(rows)
}
