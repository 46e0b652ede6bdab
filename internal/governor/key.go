package governor

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/caller"
	"github.com/defender-gateway/gateway/internal/defender"
)

// sep separates the parts of a key; every part is quoted, so none holds it.
const sep = "\x00"

// keyPrefix is what two reads must share to share a result: the tenant,
// the backend kind, the auth context (kind and name) and the upstream
// identity. In the app and partner contexts the identity is the context's
// app registration itself (its name); in the user context it is the user:
// on-behalf-of, the presented token's tenant and object id (immutable; not
// the UPN); a signed-in account, its UPN as the account store keys it.
// "" when the user cannot be told, which turns sharing off for the call.
func keyPrefix(ctx context.Context, t authctx.Target) string {
	identity := t.Context.Name
	if t.Context.Kind == authctx.KindUser {
		identity = ""
		req := caller.FromContext(ctx)
		switch {
		case req != nil && req.UserToken != nil:
			if req.UserToken.Tenant != "" && req.UserToken.ObjectID != "" {
				identity = "obo:" + strings.ToLower(req.UserToken.Tenant) + "/" + strings.ToLower(req.UserToken.ObjectID)
			}
		case t.Context.Account != "":
			identity = "account:" + strings.ToLower(t.Context.Account)
		}
		if identity == "" {
			return ""
		}
	}
	return tenantPrefix(t.Tenant) + strings.Join([]string{
		strconv.Quote(string(t.Backend.Kind())),
		strconv.Quote(t.Context.Kind),
		strconv.Quote(t.Context.Name),
		strconv.Quote(identity),
	}, sep) + sep
}

// tenantPrefix starts every key of tenant: invalidation drops by it.
func tenantPrefix(tenant string) string { return strconv.Quote(strings.ToLower(tenant)) + sep }

// listKey is a ListIncidents key: every field of q, the cursor and page
// size included (JSON of the struct, so a field added later is keyed too).
func listKey(prefix string, q defender.ListQuery) string {
	b, err := json.Marshal(q)
	if err != nil { // cannot happen for these field types; do not share
		return ""
	}
	return prefix + "list" + sep + string(b)
}

// getKeyStem starts the keys of one incident's gets, with or without alerts.
func getKeyStem(prefix, id string) string { return prefix + "get" + sep + strconv.Quote(id) + sep }

func getKey(prefix, id string, withAlerts bool) string {
	return getKeyStem(prefix, id) + strconv.FormatBool(withAlerts)
}

func huntingKey(prefix string, q defender.HuntingQuery) string {
	return prefix + "hunting" + sep + strconv.Quote(q.Query) + sep + strconv.Quote(q.Timespan)
}
