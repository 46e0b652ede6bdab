package service

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/authctx"
	"github.com/defender-gateway/gateway/internal/defender"
)

// maxSourceFilterValues bounds service_sources and detection_sources, as
// the proto rules do.
const maxSourceFilterValues = 16

var domainAlertStatuses = invert(alertStatuses)

// alertFilterFromRequest turns ListAlerts' filter fields into the domain
// filter, naming the first offending field. incidentTenant is the {tenant}
// of the incident filter, "" without one: the caller checks that it is the
// parent's.
func alertFilterFromRequest(req *defenderv1.ListAlertsRequest) (f defender.AlertFilter, incidentTenant string, err error) {
	if len(req.GetStatuses()) > maxFilterValues {
		return f, "", fieldError("statuses", fmt.Sprintf("must hold at most %d values", maxFilterValues))
	}
	for i, s := range req.GetStatuses() {
		d, ok := domainAlertStatuses[s]
		if !ok || d == defender.AlertStatusUnspecified || d == defender.AlertStatusUnknown {
			return f, "", fieldError(fmt.Sprintf("statuses[%d]", i), "must be a defined status other than UNSPECIFIED and UNKNOWN")
		}
		f.Statuses = append(f.Statuses, d)
	}
	if len(req.GetSeverities()) > maxFilterValues {
		return f, "", fieldError("severities", fmt.Sprintf("must hold at most %d values", maxFilterValues))
	}
	for i, s := range req.GetSeverities() {
		d, ok := domainSeverities[s]
		if !ok || d == defender.SeverityUnspecified {
			return f, "", fieldError(fmt.Sprintf("severities[%d]", i), "must be a defined severity other than UNSPECIFIED")
		}
		f.Severities = append(f.Severities, d)
	}
	if f.ServiceSources, err = sourceNames("service_sources", req.GetServiceSources()); err != nil {
		return f, "", err
	}
	if f.DetectionSources, err = sourceNames("detection_sources", req.GetDetectionSources()); err != nil {
		return f, "", err
	}
	if utf8.RuneCountInString(req.GetAssignedTo()) > maxAssignedToFilter {
		return f, "", fieldError("assigned_to", fmt.Sprintf("must be at most %d characters", maxAssignedToFilter))
	}
	f.AssignedTo = req.GetAssignedTo()
	if inc := req.GetIncident(); inc != "" {
		var id string
		if incidentTenant, id, err = parseIncidentName("incident", inc); err != nil {
			return f, "", err
		}
		f.IncidentID = id
	}
	if f.CreatedFrom, f.CreatedBefore, err = timeRange("create_time_range", req.GetCreateTimeRange()); err != nil {
		return f, "", err
	}
	if f.UpdatedFrom, f.UpdatedBefore, err = timeRange("update_time_range", req.GetUpdateTimeRange()); err != nil {
		return f, "", err
	}
	return f, incidentTenant, nil
}

// checkIncidentTenant checks that the incident filter's tenant is the
// parent's, target: the same name, or one that resolves to the same tenant.
func checkIncidentTenant(ctx context.Context, r Resolver, incidentTenant, parentTenant string, target authctx.Target) error {
	if incidentTenant == "" || strings.EqualFold(incidentTenant, parentTenant) || strings.EqualFold(incidentTenant, target.Tenant) {
		return nil
	}
	if t, err := resolve(ctx, r, incidentTenant); err == nil && strings.EqualFold(t.Tenant, target.Tenant) {
		return nil
	}
	return fieldError("incident", "must be an incident of the parent's tenant, tenants/"+parentTenant+"/incidents/{incident}")
}

// sourceNames checks a service or detection source set: Graph enum member
// names, a letter then up to 63 letters or digits.
func sourceNames(field string, vs []string) ([]string, error) {
	if len(vs) > maxSourceFilterValues {
		return nil, fieldError(field, fmt.Sprintf("must hold at most %d values", maxSourceFilterValues))
	}
	for i, v := range vs {
		if !validSourceName(v) {
			return nil, fieldError(fmt.Sprintf("%s[%d]", field, i), "must be a Graph enum member name: a letter, then at most 63 letters or digits")
		}
	}
	return slices.Clone(vs), nil
}

func validSourceName(s string) bool {
	if len(s) == 0 || len(s) > 64 || !('a' <= s[0] && s[0] <= 'z' || 'A' <= s[0] && s[0] <= 'Z') {
		return false
	}
	for i := range len(s) {
		if !isAlnum(s[i]) {
			return false
		}
	}
	return true
}

// alertUpdatablePaths are UpdateAlert's mask paths, in the order the error
// messages name them.
var alertUpdatablePaths = []string{pathStatus, pathAssignedTo, pathClassification, pathDetermination}

// alertUpdatableStatuses are the statuses UpdateAlert may set (Graph
// alerts_v2: new, inProgress, resolved).
var alertUpdatableStatuses = []defenderv1.AlertStatus{
	defenderv1.AlertStatus_ALERT_STATUS_NEW,
	defenderv1.AlertStatus_ALERT_STATUS_IN_PROGRESS,
	defenderv1.AlertStatus_ALERT_STATUS_RESOLVED,
}

// alertUpdateFromRequest builds the domain update from the mask, the
// alert's values and the comment, with UpdateIncident's classification and
// determination rules. The result is never empty.
func alertUpdateFromRequest(a *defenderv1.Alert, mask *fieldmaskpb.FieldMask, comment string) (defender.AlertUpdate, error) {
	var u defender.AlertUpdate
	paths, err := alertMaskPaths(mask)
	if err != nil {
		return u, err
	}
	if paths[pathStatus] {
		s := a.GetStatus()
		if !slices.Contains(alertUpdatableStatuses, s) {
			return u, fieldError("alert.status", "must be one of "+enumNames(alertUpdatableStatuses))
		}
		d := domainAlertStatuses[s]
		u.Status = &d
	}
	if paths[pathAssignedTo] {
		v := a.GetAssignedTo()
		u.AssignedTo = &v
	}
	if paths[pathClassification] {
		c := a.GetClassification()
		if _, ok := allowedDeterminations[c]; !ok {
			return u, fieldError("alert.classification", "must be one of "+enumNames(classificationsInOrder()))
		}
		d := domainClassifications[c]
		u.Classification = &d
	}
	if paths[pathDetermination] {
		if !paths[pathClassification] {
			return u, fieldError("update_mask", "determination must be updated together with classification: add classification to update_mask")
		}
		c, d := a.GetClassification(), a.GetDetermination()
		if allowed := allowedDeterminations[c]; !slices.Contains(allowed, d) {
			return u, fieldError("alert.determination", fmt.Sprintf("%s is not allowed with %s; allowed: %s", d, c, enumNames(allowed)))
		}
		dd := domainDeterminations[d]
		u.Determination = &dd
	}
	if comment != "" {
		if strings.TrimSpace(comment) == "" {
			return u, fieldError("comment", "must not be only whitespace")
		}
		u.Comment = comment
	}
	if u.Empty() {
		return u, fieldError("update_mask", "names no field to update and comment is empty; set update_mask to any of "+
			strings.Join(alertUpdatablePaths, ", ")+", or add a comment")
	}
	return u, nil
}

// alertMaskPaths is maskPaths for UpdateAlert: its paths, "name" ignored.
func alertMaskPaths(mask *fieldmaskpb.FieldMask) (map[string]bool, error) {
	set := map[string]bool{}
	for _, raw := range mask.GetPaths() {
		p := protoFieldName(strings.TrimSpace(raw))
		switch {
		case p == "*":
			return nil, fieldError("update_mask", `"*" (full replacement) is not supported: name the fields to update, any of `+
				strings.Join(alertUpdatablePaths, ", "))
		case slices.Contains(alertUpdatablePaths, p):
			set[p] = true
		case p == "name":
		default:
			return nil, fieldError("update_mask", fmt.Sprintf("%q cannot be updated; updatable fields: %s", p, strings.Join(alertUpdatablePaths, ", ")))
		}
	}
	return set, nil
}

// alertFingerprint identifies what an alert page token may continue, as
// listFingerprint does for incidents; its digest is tagged "alerts", so an
// incident token never continues an alert listing or the other way round.
type alertFingerprint struct {
	Binding binding
	Tenant  string
	Backend defender.BackendKind
	Filter  defender.AlertFilter
}

func (f alertFingerprint) digest() string {
	h := sha256.New()
	q, b := f.Filter, f.Binding
	fmt.Fprintf(h, "alerts v1 %q %q %q %q %q %v %v %q %q %q %q %q %q %q %q",
		b.Caller, b.Context, b.User,
		f.Tenant, f.Backend, q.Statuses, q.Severities, q.ServiceSources, q.DetectionSources, q.AssignedTo, q.IncidentID,
		utc(q.CreatedFrom), utc(q.CreatedBefore), utc(q.UpdatedFrom), utc(q.UpdatedBefore))
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil))
}

// issueDigest returns the token of the page at cursor for the request of
// digest.
func (p pageTokens) issueDigest(cursor, digest string) (string, error) {
	return p.codec.Encode(listPageToken{Cursor: cursor, Request: digest, IssuedAt: p.now().Unix()})
}

// matchesDigest checks that t was issued for the request of digest.
func (t listPageToken) matchesDigest(digest string) error {
	if subtle.ConstantTimeCompare([]byte(t.Request), []byte(digest)) != 1 {
		return fieldError("page_token", invalidPageToken)
	}
	return nil
}
