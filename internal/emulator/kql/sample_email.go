package kql

// emailTemplate describes one kind of message. Malicious senders use
// .example domains.
type emailTemplate struct {
	senders                         []string
	subject, threatTypes, direction string
	deliveryActions                 []string
}

var sampleUsers = []string{"jdoe", "asmith", "mgarcia", "lchen", "pkumar", "ewilson", "finance", "hr"}

var emailTemplates = []weighted[emailTemplate]{
	{14, emailTemplate{[]string{"jdoe@contoso.com", "asmith@contoso.com"}, "Weekly team sync notes", "", "Intra-org", []string{"Delivered"}}},
	{10, emailTemplate{[]string{"mgarcia@contoso.com"}, "Q3 budget review", "", "Intra-org", []string{"Delivered"}}},
	{8, emailTemplate{[]string{"lchen@contoso.com"}, "Lunch & learn: Kusto basics", "", "Intra-org", []string{"Delivered"}}},
	{10, emailTemplate{[]string{"noreply@fabrikam.com", "pm@fabrikam.com"}, "Re: Project Falcon timeline", "", "Inbound", []string{"Delivered"}}},
	{8, emailTemplate{[]string{"azure-noreply@microsoft.com"}, "Your Azure invoice is ready", "", "Inbound", []string{"Delivered"}}},
	{8, emailTemplate{[]string{"news@tailspintoys.com"}, "Newsletter: November highlights", "Spam", "Inbound", []string{"Junked", "Delivered"}}},
	{6, emailTemplate{[]string{"jdoe@contoso.com", "pkumar@contoso.com"}, "Re: Contract draft for Northwind", "", "Outbound", []string{"Delivered"}}},
	{4, emailTemplate{[]string{"it-support@micros0ft-support.example"}, "Action required: Your password expires today", "Phish", "Inbound", []string{"Delivered", "Blocked", "Junked"}}},
	{3, emailTemplate{[]string{"billing@northwind-invoices.example"}, "Invoice #INV-48213 overdue - payment required", "Phish, Malware", "Inbound", []string{"Delivered", "Blocked"}}},
	{3, emailTemplate{[]string{"dse@docusign-notify.example"}, "DocuSign: Please review and sign your document", "Phish", "Inbound", []string{"Delivered", "Junked"}}},
	{2, emailTemplate{[]string{"security@account-verify.example"}, "Unusual sign-in activity on your account", "Phish", "Inbound", []string{"Delivered", "Blocked"}}},
	{2, emailTemplate{[]string{"scanner@contoso-scans.example"}, "Scanned document from MFP-3F", "Malware", "Inbound", []string{"Blocked", "Replaced"}}},
}

func (g *generator) emails() [][]any {
	n := g.count(1400, 2000)
	rows := make([][]any, 0, n)
	for range n {
		tmpl := pickWeighted(g, emailTemplates)
		msgID := g.guid()
		recipient := pick(g, sampleUsers) + "@contoso.com"
		if tmpl.direction == "Outbound" {
			recipient = "legal@northwindtraders.com"
		}
		rows = append(rows, []any{
			g.timestamp(), msgID, pick(g, tmpl.senders), recipient, tmpl.subject,
			pick(g, tmpl.deliveryActions), tmpl.threatTypes, tmpl.direction, msgID + "-" + g.hex(4),
		})
	}
	return sortByTimestamp(rows)
}
