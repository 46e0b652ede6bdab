package policy

import (
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// resourceFields are the request fields that name the resource, in the
// order they are looked for.
var resourceFields = []protoreflect.Name{"parent", "name", "tenant"}

// wrapperFields are the message fields of an update request whose name is
// the resource: UpdateIncident's incident, UpdateAlert's alert.
var wrapperFields = []protoreflect.Name{"incident", "alert"}

// Resource returns the resource a request names — `parent`, `name`,
// `tenant`, or `incident.name` (UpdateIncident) or `alert.name`
// (UpdateAlert) — and the tenant in it
// (`tenants/{tenant}/...`). ok is false when the request names no resource
// or the resource does not start with tenants/{tenant}.
func Resource(req any) (resource, tenant string, ok bool) {
	msg, isMsg := req.(proto.Message)
	if !isMsg || msg == nil {
		return "", "", false
	}
	m := msg.ProtoReflect()
	for _, wrapper := range wrapperFields {
		if f := m.Descriptor().Fields().ByName(wrapper); f != nil && f.Message() != nil {
			if !m.Has(f) {
				return "", "", false
			}
			m = m.Get(f).Message()
			break
		}
	}
	for _, name := range resourceFields {
		f := m.Descriptor().Fields().ByName(name)
		if f == nil || f.Kind() != protoreflect.StringKind || f.IsList() {
			continue
		}
		resource = m.Get(f).String()
		tenant, ok = tenantOf(resource)
		return resource, tenant, ok
	}
	return "", "", false
}

// tenantOf returns {tenant} of tenants/{tenant}[/...].
func tenantOf(resource string) (string, bool) {
	rest, found := strings.CutPrefix(resource, "tenants/")
	if !found {
		return "", false
	}
	tenant, _, _ := strings.Cut(rest, "/")
	return tenant, tenant != ""
}
