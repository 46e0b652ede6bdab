package store

import "github.com/defender-gateway/gateway/internal/emulator/identity"

// tenantProfile is the raw material one tenant's sample data is drawn from.
// The two tenants differ in names, sizes and id ranges so that a leak of one
// tenant's data into the other is visible.
type tenantProfile struct {
	tenantID   string
	domain     string // mail domain of users and owners
	netbios    string // Windows domain name of accounts
	seed       uint64
	firstID    int64
	count      int
	owners     []string // SOC analysts incidents get assigned to
	users      []string // given-name.surname pairs of end users
	hostPrefix string
	customTags []string
}

// OBrienOwner is an analyst several home-tenant incidents are assigned to;
// the apostrophe exercises OData string escaping ('o”brien@contoso.com').
const OBrienOwner = "o'brien@contoso.com"

var profiles = []tenantProfile{
	{
		tenantID:   identity.HomeTenantID,
		domain:     "contoso.com",
		netbios:    "CONTOSO",
		seed:       0x5eed_c0_7050,
		firstID:    1000,
		count:      240,
		owners:     []string{"secops@contoso.com", OBrienOwner, "alex.wilber@contoso.com", "megan.bowen@contoso.com", "Automation"},
		users:      []string{"adele.vance", "diego.siciliani", "grady.archie", "isaiah.langer", "johanna.lorenz", "lee.gu", "lynne.robbins", "nestor.wilke", "patti.fernandez", "pradeep.gupta"},
		hostPrefix: "CTSO",
		customTags: []string{"PenTest", "VIP", "Finance", "Escalated", "Q3-Review", "Customer Facing"},
	},
	{
		tenantID:   identity.SecondTenantID,
		domain:     "fabrikam.com",
		netbios:    "FABRIKAM",
		seed:       0xfab_41c4,
		firstID:    5000,
		count:      130,
		owners:     []string{"soc@fabrikam.com", "tier2@fabrikam.com", "kim.akers@fabrikam.com"},
		users:      []string{"ben.miller", "carole.poland", "dan.jump", "eva.corets", "frank.lee", "gail.erickson"},
		hostPrefix: "FBK",
		customTags: []string{"Plant-Floor", "OT", "Board", "Red Team"},
	},
}
