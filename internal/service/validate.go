package service

import (
	"fmt"
	"slices"
	"strings"

	"google.golang.org/protobuf/types/known/fieldmaskpb"

	defenderv1 "github.com/defender-gateway/gateway/gen/defender/v1"
	"github.com/defender-gateway/gateway/internal/defender"
)

// Page sizes (AIP-158). The limits of lengths, counts and characters of the
// request strings are protovalidate rules in proto/defender/v1, enforced by
// the validation interceptor before a handler runs; the checks here are the
// semantic ones the rules cannot express.
const (
	defaultPageSize = 50
	maxPageSize     = 500
)

// pageSize applies the default and the bounds of AIP-158.
func pageSize(n int32) (int, error) {
	switch {
	case n == 0:
		return defaultPageSize, nil
	case n < 0 || n > maxPageSize:
		return 0, fieldError("page_size", fmt.Sprintf("page_size must be between 0 and %d", maxPageSize))
	}
	return int(n), nil
}

// withAlerts resolves a view, UNSPECIFIED meaning the method's default.
func withAlerts(view defenderv1.IncidentView, defaultFull bool) (bool, error) {
	switch view {
	case defenderv1.IncidentView_INCIDENT_VIEW_UNSPECIFIED:
		return defaultFull, nil
	case defenderv1.IncidentView_INCIDENT_VIEW_BASIC:
		return false, nil
	case defenderv1.IncidentView_INCIDENT_VIEW_FULL:
		return true, nil
	}
	return false, fieldError("view", "must be INCIDENT_VIEW_BASIC or INCIDENT_VIEW_FULL")
}

// The update_mask paths. grpc-gateway fills an omitted mask of a REST PATCH
// from the JSON body (runtime.FieldMaskFromRequestBody), with proto field
// names whether the body used them or the JSON names: "assignedTo" becomes
// "assigned_to". So these names serve gRPC and REST alike.
const (
	pathStatus         = "status"
	pathAssignedTo     = "assigned_to"
	pathClassification = "classification"
	pathDetermination  = "determination"
	pathTags           = "tags"
)

// updatablePaths lists the paths in the order the error messages name them.
var updatablePaths = []string{pathStatus, pathAssignedTo, pathClassification, pathDetermination, pathTags}

// ignoredPaths identify the incident or carry the precondition rather than
// a change. A REST body that sends them gets them in the auto-filled mask.
var ignoredPaths = []string{"name", "etag"}

// updatableStatuses are the statuses an update may set.
var updatableStatuses = []defenderv1.IncidentStatus{
	defenderv1.IncidentStatus_INCIDENT_STATUS_ACTIVE,
	defenderv1.IncidentStatus_INCIDENT_STATUS_IN_PROGRESS,
	defenderv1.IncidentStatus_INCIDENT_STATUS_RESOLVED,
	defenderv1.IncidentStatus_INCIDENT_STATUS_REDIRECTED,
}

// allowedDeterminations are the determinations each classification accepts
// on update (the comment on enum Determination in incident.proto).
var allowedDeterminations = map[defenderv1.Classification][]defenderv1.Determination{
	defenderv1.Classification_CLASSIFICATION_TRUE_POSITIVE: {
		defenderv1.Determination_DETERMINATION_MULTI_STAGED_ATTACK,
		defenderv1.Determination_DETERMINATION_MALICIOUS_USER_ACTIVITY,
		defenderv1.Determination_DETERMINATION_COMPROMISED_ACCOUNT,
		defenderv1.Determination_DETERMINATION_MALWARE,
		defenderv1.Determination_DETERMINATION_PHISHING,
		defenderv1.Determination_DETERMINATION_UNWANTED_SOFTWARE,
		defenderv1.Determination_DETERMINATION_OTHER,
	},
	defenderv1.Classification_CLASSIFICATION_INFORMATIONAL_EXPECTED_ACTIVITY: {
		defenderv1.Determination_DETERMINATION_SECURITY_TESTING,
		defenderv1.Determination_DETERMINATION_LINE_OF_BUSINESS_APPLICATION,
		defenderv1.Determination_DETERMINATION_CONFIRMED_ACTIVITY,
		defenderv1.Determination_DETERMINATION_OTHER,
	},
	defenderv1.Classification_CLASSIFICATION_FALSE_POSITIVE: {
		defenderv1.Determination_DETERMINATION_CLEAN,
		defenderv1.Determination_DETERMINATION_INSUFFICIENT_DATA,
		defenderv1.Determination_DETERMINATION_OTHER,
	},
}

// updateFromRequest builds the domain update from the mask, the incident's
// values and the comment. The result is never empty.
func updateFromRequest(in *defenderv1.Incident, mask *fieldmaskpb.FieldMask, comment string) (defender.IncidentUpdate, error) {
	var u defender.IncidentUpdate
	paths, err := maskPaths(mask)
	if err != nil {
		return u, err
	}
	if paths[pathStatus] {
		s := in.GetStatus()
		if !slices.Contains(updatableStatuses, s) {
			return u, fieldError("incident.status", "must be one of "+enumNames(updatableStatuses))
		}
		d := domainIncidentStatuses[s]
		u.Status = &d
	}
	if paths[pathAssignedTo] {
		a := in.GetAssignedTo()
		u.AssignedTo = &a
	}
	if paths[pathClassification] {
		c := in.GetClassification()
		if _, ok := allowedDeterminations[c]; !ok {
			return u, fieldError("incident.classification", "must be one of "+enumNames(classificationsInOrder()))
		}
		d := domainClassifications[c]
		u.Classification = &d
	}
	if paths[pathDetermination] {
		if !paths[pathClassification] {
			return u, fieldError("update_mask", "determination must be updated together with classification: add classification to update_mask")
		}
		c, d := in.GetClassification(), in.GetDetermination()
		if allowed := allowedDeterminations[c]; !slices.Contains(allowed, d) {
			return u, fieldError("incident.determination", fmt.Sprintf("%s is not allowed with %s; allowed: %s", d, c, enumNames(allowed)))
		}
		dd := domainDeterminations[d]
		u.Determination = &dd
	}
	if paths[pathTags] {
		// The replacement list; nil becomes an empty list, which clears the
		// tags.
		tags := append([]string{}, in.GetTags()...)
		u.Tags = &tags
	}
	if comment != "" {
		if strings.TrimSpace(comment) == "" {
			return u, fieldError("comment", "must not be only whitespace")
		}
		u.Comment = comment
	}
	if u.Empty() {
		return u, fieldError("update_mask", "names no field to update and comment is empty; set update_mask to any of "+
			strings.Join(updatablePaths, ", ")+", or add a comment")
	}
	return u, nil
}

// maskPaths checks the mask and returns the set of updatable paths in it.
// Paths may be spelled as proto field names (assigned_to) or as their JSON
// names (assignedTo): grpc-gateway passes a REST `updateMask` query
// parameter through unchanged, and REST users write JSON names.
func maskPaths(mask *fieldmaskpb.FieldMask) (map[string]bool, error) {
	set := map[string]bool{}
	for _, raw := range mask.GetPaths() {
		p := protoFieldName(strings.TrimSpace(raw))
		switch {
		case p == "*":
			return nil, fieldError("update_mask", `"*" (full replacement) is not supported: name the fields to update, any of `+
				strings.Join(updatablePaths, ", "))
		case slices.Contains(updatablePaths, p):
			set[p] = true
		case slices.Contains(ignoredPaths, p):
		default:
			return nil, fieldError("update_mask", fmt.Sprintf("%q cannot be updated; updatable fields: %s", p, strings.Join(updatablePaths, ", ")))
		}
	}
	return set, nil
}

// protoFieldName turns a lowerCamelCase JSON name into its snake_case proto
// field name; a name that is already snake_case is returned unchanged.
func protoFieldName(p string) string {
	var b strings.Builder
	for _, r := range p {
		if 'A' <= r && r <= 'Z' {
			b.WriteByte('_')
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

func classificationsInOrder() []defenderv1.Classification {
	cs := make([]defenderv1.Classification, 0, len(allowedDeterminations))
	for c := range allowedDeterminations {
		cs = append(cs, c)
	}
	slices.Sort(cs)
	return cs
}

func enumNames[E fmt.Stringer](values []E) string {
	names := make([]string, len(values))
	for i, v := range values {
		names[i] = v.String()
	}
	return strings.Join(names, ", ")
}

// checkQuery checks what the proto rules cannot: a query of only
// whitespace. The lengths and characters of query and timespan are rules.
func checkQuery(query, _ string) error {
	if strings.TrimSpace(query) == "" {
		return fieldError("query", "is required")
	}
	return nil
}
