package policy

import (
	"strings"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
)

// Operation is what a policy entry allows, such as incidents.read.
type Operation string

// The operations a policy may name.
const (
	OpIncidentsRead  Operation = "incidents.read"
	OpIncidentsWrite Operation = "incidents.write"
	OpHuntingRun     Operation = "hunting.run"
	OpAuthAdmin      Operation = "auth.admin"
	OpQuotaRead      Operation = "quota.read"
	OpAlertsRead     Operation = "alerts.read"
	OpAlertsWrite    Operation = "alerts.write"
)

// operations is every operation a policy file may name.
var operations = map[Operation]bool{
	OpIncidentsRead: true, OpIncidentsWrite: true, OpHuntingRun: true, OpAuthAdmin: true,
	OpQuotaRead: true, OpAlertsRead: true, OpAlertsWrite: true,
}

// callsDefender marks the operations that make a Defender call, to which
// require_user_context applies.
var callsDefender = map[Operation]bool{
	OpIncidentsRead: true, OpIncidentsWrite: true, OpHuntingRun: true,
	OpAlertsRead: true, OpAlertsWrite: true,
}

// Rule is what a method requires.
type Rule struct {
	// Operation the caller must be allowed; empty for a method every
	// authenticated caller may use (WhoAmI) in a tenant it is allowed.
	Operation Operation
	// TenantScoped methods name a tenant in the request, which the caller
	// must be allowed.
	TenantScoped bool
	// Wildcard methods also accept the tenant WildcardTenant (AIP-159's
	// `tenants/-`): every tenant the caller may use. The call is then
	// allowed without a tenant check, and the handler checks each tenant
	// with caller.Request.AuthorizeTenant.
	Wildcard bool
}

// WildcardTenant is the tenant segment of `tenants/-`.
const WildcardTenant = "-"

// methodRules maps every API method to its rule. A method missing here is
// denied (deny by default), unless it is Public.
var methodRules = map[string]Rule{
	defenderv1.IncidentService_ListIncidents_FullMethodName:  {OpIncidentsRead, true, true},
	defenderv1.IncidentService_GetIncident_FullMethodName:    {OpIncidentsRead, true, false},
	defenderv1.IncidentService_UpdateIncident_FullMethodName: {OpIncidentsWrite, true, false},
	defenderv1.IncidentService_WatchIncidents_FullMethodName: {OpIncidentsRead, true, true},
	defenderv1.HuntingService_RunQuery_FullMethodName:        {OpHuntingRun, true, true},
	defenderv1.HuntingService_StreamQuery_FullMethodName:     {OpHuntingRun, true, true},
	defenderv1.AuthService_GetConsentUrl_FullMethodName:      {OpAuthAdmin, true, false},
	defenderv1.AuthService_StartDeviceLogin_FullMethodName:   {OpAuthAdmin, true, false},
	defenderv1.AuthService_GetDeviceLogin_FullMethodName:     {OpAuthAdmin, true, false},
	defenderv1.AuthService_ListContexts_FullMethodName:       {OpAuthAdmin, false, false},
	defenderv1.AuthService_WhoAmI_FullMethodName:             {"", true, false},
	defenderv1.QuotaService_GetQuota_FullMethodName:          {OpQuotaRead, true, false},
	defenderv1.AlertService_ListAlerts_FullMethodName:        {OpAlertsRead, true, true},
	defenderv1.AlertService_GetAlert_FullMethodName:          {OpAlertsRead, true, false},
	defenderv1.AlertService_UpdateAlert_FullMethodName:       {OpAlertsWrite, true, false},
	defenderv1.AlertService_WatchAlerts_FullMethodName:       {OpAlertsRead, true, true},
}

// MethodRule returns the rule of a full method name such as
// /defender.v1.IncidentService/GetIncident.
func MethodRule(fullMethod string) (Rule, bool) {
	r, ok := methodRules[fullMethod]
	return r, ok
}

// publicServices need neither authentication nor authorization.
var publicServices = []string{
	"/grpc.health.v1.Health/",
	"/grpc.reflection.v1.ServerReflection/",
	"/grpc.reflection.v1alpha.ServerReflection/",
}

// Public reports whether a method is open to every caller: health checks
// and server reflection. They are neither authenticated nor audited.
func Public(fullMethod string) bool {
	for _, prefix := range publicServices {
		if strings.HasPrefix(fullMethod, prefix) {
			return true
		}
	}
	return false
}
