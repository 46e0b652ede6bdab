package store

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// sampleWindow is how far back the generated incidents go.
const sampleWindow = 60 * 24 * time.Hour

// generator draws one tenant's sample data from a seeded PCG source, so
// the same profile and reference time always give the same incidents.
type generator struct {
	p       tenantProfile
	now     time.Time
	r       *rand.Rand
	devices []Device
	users   []UserAccount
}

func generate(p tenantProfile, now time.Time) []Incident {
	g := newGenerator(p, now)
	created := g.creationTimes()
	incidents := make([]Incident, len(created))
	id := p.firstID
	for i, t := range created {
		incidents[i] = g.incident(id, t)
		id += 1 + int64(g.r.IntN(3)) // gaps, as merged incidents leave
	}
	g.linkRedirects(incidents)
	addAlertExtras(p, incidents)
	return incidents
}

// newGenerator returns p's generator for reference time now, with its users
// and devices drawn.
func newGenerator(p tenantProfile, now time.Time) *generator {
	g := &generator{p: p, now: now, r: rand.New(rand.NewPCG(p.seed, p.seed^0x9e3779b97f4a7c15))}
	g.users = g.makeUsers()
	g.devices = g.makeDevices()
	return g
}

// creationTimes returns p.count ascending times within the sample window;
// a few repeat their predecessor exactly so that ordering ties occur.
func (g *generator) creationTimes() []time.Time {
	times := make([]time.Time, g.p.count)
	for i := range times {
		offset := time.Duration(g.r.Int64N(int64(sampleWindow - time.Hour)))
		times[i] = g.withPrecision(g.now.Add(-sampleWindow + offset))
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(times); i++ {
		if g.r.IntN(20) == 0 {
			times[i] = times[i-1]
		}
	}
	return times
}

func (g *generator) incident(id int64, created time.Time) Incident {
	r := g.r
	inc := Incident{
		ID:            id,
		TenantID:      g.p.tenantID,
		CreatedTime:   created,
		Status:        weighted(r, []Status{StatusActive, StatusInProgress, StatusResolved, StatusRedirected, StatusAwaitingAction}, []int{55, 15, 22, 4, 4}),
		Severity:      weighted(r, []Severity{SeverityUnknown, SeverityInformational, SeverityLow, SeverityMedium, SeverityHigh}, []int{4, 10, 26, 35, 25}),
		CustomTags:    []string{},
		SystemTags:    []string{},
		Comments:      []Comment{},
		PriorityScore: r.IntN(101),
		WebURL:        fmt.Sprintf("https://security.microsoft.com/incidents/%d?tid=%s", id, g.p.tenantID),
	}
	inc.LastUpdateTime = inc.CreatedTime
	if r.IntN(4) != 0 {
		inc.LastUpdateTime = g.between(created, g.now.Add(-time.Minute))
	}
	inc.Classification, inc.Determination = g.verdict(inc.Status)
	if r.IntN(3) != 0 {
		inc.AssignedTo = pick(r, g.p.owners)
	}
	for _, t := range pickN(r, g.p.customTags, r.IntN(3)) {
		inc.CustomTags = append(inc.CustomTags, t)
	}
	if r.IntN(4) == 0 {
		inc.SystemTags = append(inc.SystemTags, pick(r, systemTagPool))
	}
	for range r.IntN(4) {
		inc.Comments = append(inc.Comments, Comment{
			Text:        pick(r, commentTexts),
			Author:      pick(r, g.p.owners),
			CreatedTime: g.between(created, inc.LastUpdateTime),
		})
	}
	slices.SortFunc(inc.Comments, func(a, b Comment) int { return a.CreatedTime.Compare(b.CreatedTime) })
	if inc.LastUpdateTime.After(created) {
		inc.LastModifiedBy = pick(r, g.p.owners)
	}
	for n := 1 + r.IntN(4); len(inc.Alerts) < n; {
		inc.Alerts = append(inc.Alerts, g.alert(&inc, len(inc.Alerts)))
	}
	inc.DisplayName = displayName(inc.Alerts)
	inc.Description = fmt.Sprintf("%s. %d alert(s) correlated by Microsoft Defender XDR.", inc.DisplayName, len(inc.Alerts))
	return inc
}

// verdict returns a consistent classification/determination pair: resolved
// incidents are mostly classified, open ones mostly not.
func (g *generator) verdict(status Status) (Classification, Determination) {
	r := g.r
	c := ClassificationUnknown
	if status == StatusResolved || status == StatusRedirected || r.IntN(5) == 0 {
		c = weighted(r, []Classification{ClassificationTruePositive, ClassificationFalsePositive, ClassificationInformationalExpectedActivity, ClassificationUnknown}, []int{50, 25, 20, 5})
	}
	if c == ClassificationTruePositive && r.IntN(15) == 0 {
		return c, pick(r, []Determination{DeterminationApt, DeterminationSecurityPersonnel}) // deprecated, still returned
	}
	return c, pick(r, determinationsByClassification[c])
}

func (g *generator) alert(inc *Incident, index int) Alert {
	r := g.r
	tpl := alertTemplates[r.IntN(len(alertTemplates))]
	created := g.between(inc.CreatedTime, inc.CreatedTime.Add(2*time.Hour))
	if created.After(inc.LastUpdateTime) || index == 0 {
		created = inc.CreatedTime
	}
	first := g.withPrecision(created.Add(-time.Duration(1+r.IntN(90)) * time.Minute))
	a := Alert{
		ID:                 g.alertID(tpl.service),
		IncidentID:         inc.ID,
		Title:              tpl.title,
		Description:        tpl.description,
		Category:           tpl.category,
		Status:             AlertStatusNew,
		Severity:           inc.Severity,
		Classification:     inc.Classification,
		Determination:      inc.Determination,
		ServiceSource:      tpl.service,
		DetectionSource:    tpl.detection,
		DetectorID:         fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", r.Uint32(), r.IntN(1<<16), r.IntN(1<<12), r.IntN(1<<12), r.Int64N(1<<48)),
		AssignedTo:         inc.AssignedTo,
		ThreatFamilyName:   tpl.threatFamily,
		RecommendedActions: tpl.recommended,
		MitreTechniques:    cloneSlice(tpl.mitre),
		CreatedTime:        created,
		LastUpdateTime:     g.between(created, maxTime(created, inc.LastUpdateTime)),
		FirstActivity:      first,
		LastActivity:       g.between(first, created),
		InvestigationState: "UnsupportedAlertType",
		Comments:           []Comment{},
		SystemTags:         []string{},
	}
	a.ProviderAlertID = a.ID
	a.WebURL = fmt.Sprintf("https://security.microsoft.com/alerts/%s?tid=%s", a.ID, g.p.tenantID)
	if a.MitreTechniques == nil {
		a.MitreTechniques = []string{}
	}
	switch inc.Status {
	case StatusResolved, StatusRedirected:
		a.Status = AlertStatusResolved
		a.ResolvedTime = a.LastUpdateTime
	case StatusInProgress:
		a.Status = AlertStatusInProgress
	}
	if tpl.service == ServiceDefenderForEndpoint {
		a.InvestigationState = "Unknown"
		if r.IntN(2) == 0 {
			a.InvestigationID = 100 + r.Int64N(9900)
			a.InvestigationState = pick(r, investigation)
		}
	}
	if tpl.onDevice {
		for _, i := range r.Perm(len(g.devices))[:1+r.IntN(2)] {
			a.Devices = append(a.Devices, g.devices[i])
		}
	}
	for _, kind := range tpl.evidence {
		a.Evidence = append(a.Evidence, g.evidence(kind, &a))
	}
	return a
}

func (g *generator) evidence(kind EvidenceKind, a *Alert) Evidence {
	r := g.r
	e := Evidence{
		Kind:              kind,
		CreatedTime:       a.CreatedTime,
		Verdict:           pick(r, verdicts),
		RemediationStatus: pick(r, remediations),
	}
	user := pick(r, g.users)
	switch kind {
	case EvidenceDevice:
		d := pick(r, g.devices)
		if len(a.Devices) > 0 {
			d = a.Devices[0]
		}
		e.Device = &d
	case EvidenceFile:
		f := g.file(user)
		e.File = &f
	case EvidenceProcess:
		c := pick(r, sampleCommandLines)
		parent := g.withPrecision(a.FirstActivity.Add(-time.Duration(r.IntN(3600)) * time.Second))
		e.Process = &Process{
			ID:                1000 + r.Int64N(30000),
			CommandLine:       c.cmd,
			CreatedTime:       a.FirstActivity,
			ParentID:          4 + r.Int64N(1000),
			ParentCreatedTime: parent,
			Image: FileDetails{
				Name: c.image, Path: `C:\Windows\System32`,
				SHA1: hexString(r, 20), SHA256: hexString(r, 32), Size: 10_000 + r.Int64N(500_000),
			},
			Account: user,
		}
	case EvidenceUser:
		e.User = &user
	case EvidenceIP:
		e.IPAddress = fmt.Sprintf("%s.%d", pick(r, []string{"203.0.113", "198.51.100", "192.0.2"}), 1+r.IntN(254))
	case EvidenceURL:
		e.URL = pick(r, sampleURLs)
	case EvidenceMailbox:
		e.Mailbox = &Mailbox{DisplayName: user.DisplayName, PrimaryAddress: user.UserPrincipalName, UserPrincipalName: user.UserPrincipalName}
	}
	return e
}

func (g *generator) file(user UserAccount) FileDetails {
	f := pick(g.r, sampleFiles)
	path := f.path
	if strings.Contains(path, "%s") {
		path = fmt.Sprintf(path, user.AccountName)
	}
	return FileDetails{
		Name: f.name, Path: path,
		SHA1: hexString(g.r, 20), SHA256: hexString(g.r, 32), Size: 1_000 + g.r.Int64N(2_000_000),
	}
}

func (g *generator) makeUsers() []UserAccount {
	users := make([]UserAccount, len(g.p.users))
	for i, name := range g.p.users {
		given, surname, _ := strings.Cut(name, ".")
		users[i] = UserAccount{
			AccountName:       strings.ReplaceAll(name, ".", ""),
			DomainName:        g.p.netbios,
			UserPrincipalName: name + "@" + g.p.domain,
			UserSID:           fmt.Sprintf("S-1-5-21-%d-%d-%d-%d", g.r.Uint32(), g.r.Uint32(), g.r.Uint32(), 1100+i),
			AADUserID:         g.uuid(),
			DisplayName:       titleCase(given) + " " + titleCase(surname),
		}
	}
	return users
}

func (g *generator) makeDevices() []Device {
	devices := make([]Device, 12)
	for i := range devices {
		platform := pick(g.r, osPlatforms)
		d := Device{
			MDEDeviceID:   hexString(g.r, 20),
			DNSName:       fmt.Sprintf("%s-%s-%02d.%s", strings.ToLower(g.p.hostPrefix), strings.ToLower(platform[:3]), i+1, g.p.domain),
			OSPlatform:    platform,
			OSVersion:     "22H2",
			OSProcessor:   "x64",
			OSBuild:       int64(19041 + g.r.IntN(3000)),
			HealthStatus:  pick(g.r, healthStates),
			RiskScore:     pick(g.r, riskScores),
			RBACGroupName: pick(g.r, rbacGroups),
			RBACGroupID:   int64(1 + g.r.IntN(40)),
			FirstSeen:     g.withPrecision(g.now.Add(-sampleWindow - time.Duration(g.r.IntN(365*24))*time.Hour)),
		}
		if g.r.IntN(4) != 0 {
			d.AADDeviceID = g.uuid()
		}
		devices[i] = d
	}
	return devices
}

// linkRedirects points each redirected incident at a later incident it was
// merged into; one with no later incident becomes resolved instead.
func (g *generator) linkRedirects(incidents []Incident) {
	for i := range incidents {
		inc := &incidents[i]
		if inc.Status != StatusRedirected {
			continue
		}
		if i == len(incidents)-1 {
			inc.Status = StatusResolved
			continue
		}
		inc.RedirectIncidentID = incidents[i+1+g.r.IntN(len(incidents)-i-1)].ID
	}
}

func (g *generator) alertID(source ServiceSource) string {
	prefix := map[ServiceSource]string{
		ServiceDefenderForEndpoint: "da", ServiceDefenderForOffice: "fa", ServiceDefenderForCloudApp: "ca",
		ServiceDefenderForIdentity: "aa", ServiceEntraIDProtection: "ad",
	}[source]
	return fmt.Sprintf("%s%018d_-%d", prefix, g.r.Int64N(1e18), g.r.Int64N(2e9))
}

func (g *generator) uuid() string {
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x",
		g.r.Uint32(), g.r.IntN(1<<16), g.r.IntN(1<<12), 0x8000|g.r.IntN(1<<14), g.r.Int64N(1<<48))
}

// between returns a time in [from, to] with a random precision.
func (g *generator) between(from, to time.Time) time.Time {
	if !to.After(from) {
		return from
	}
	t := from.Add(time.Duration(g.r.Int64N(int64(to.Sub(from)))))
	if t = g.withPrecision(t); t.Before(from) {
		return from
	}
	return t
}

// withPrecision truncates t to 0–7 fractional second digits, as XDR sends.
func (g *generator) withPrecision(t time.Time) time.Time {
	digits := g.r.IntN(8)
	unit := time.Second
	for range digits {
		unit /= 10
	}
	return t.UTC().Truncate(unit)
}

func displayName(alerts []Alert) string {
	endpoints := map[string]bool{}
	var categories []string
	for _, a := range alerts {
		for _, d := range a.Devices {
			endpoints[d.MDEDeviceID] = true
		}
		if !slices.Contains(categories, a.Category) {
			categories = append(categories, a.Category)
		}
	}
	where := "involving one user"
	switch n := len(endpoints); {
	case n == 1:
		where = "on one endpoint"
	case n > 1:
		where = fmt.Sprintf("on %d endpoints", n)
	}
	if len(alerts) == 1 {
		return alerts[0].Title + " " + where
	}
	if len(categories) > 2 {
		categories = categories[:2]
	}
	return "Multi-stage incident involving " + strings.Join(categories, " & ") + " " + where
}

func weighted[T any](r *rand.Rand, values []T, weights []int) T {
	total := 0
	for _, w := range weights {
		total += w
	}
	n := r.IntN(total)
	for i, w := range weights {
		if n < w {
			return values[i]
		}
		n -= w
	}
	return values[len(values)-1]
}

func pick[T any](r *rand.Rand, values []T) T { return values[r.IntN(len(values))] }

func pickN[T any](r *rand.Rand, values []T, n int) []T {
	out := make([]T, 0, n)
	for _, i := range r.Perm(len(values))[:n] {
		out = append(out, values[i])
	}
	return out
}

func hexString(r *rand.Rand, bytes int) string {
	var b strings.Builder
	for range bytes {
		fmt.Fprintf(&b, "%02x", r.IntN(256))
	}
	return b.String()
}

func titleCase(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
