// Package policy decides who may do what: an authorization policy read from
// a YAML file names, per caller identity, the tenants it may reach, the
// operations it may run there, whether it must use the user context and
// which signed-in accounts it may use. Everything not allowed is denied.
//
//	callers:
//	  - identity: api-key:soc-bot        # or app:<client id>, user:<tenant id>/<object id>, ...
//	    tenants: [default, fabrikam.onmicrosoft.com]   # or ["*"]
//	    operations: [incidents.read, incidents.write, alerts.read, alerts.write, hunting.run, auth.admin, quota.read]
//	    require_user_context: false      # true: incidents.*, alerts.* and hunting.run need a
//	                                     # user token or a signed-in account
//	    accounts: [alice@contoso.onmicrosoft.com]      # signed-in accounts; "*" any
//
// Each RPC maps to one Operation (MethodRule); WhoAmI is open to every
// authenticated caller in a tenant its entry allows; health and reflection
// need no authorization (Public). A decision checks, in order, the tenant
// (CALLER_TENANT_NOT_ALLOWED), the operation (OPERATION_NOT_ALLOWED), the
// user context (USER_CONTEXT_REQUIRED) and the named account
// (ACCOUNT_NOT_ALLOWED); a caller without an entry is OPERATION_NOT_ALLOWED.
// An entry matches the caller's identity name exactly (user identities and
// their GUIDs without case); a user is named by tenant and object id, never
// by the mutable UPN, which only shows in messages.
//
// A Store holds the compiled policy and replaces it atomically on Reload;
// a call keeps the policy it was authorized with. With caller
// authentication none and no policy file, AllowAll lets everything through.
package policy
