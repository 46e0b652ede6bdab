package graphapi

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/defender-gateway/gateway/internal/emulator/store"
)

// unknownFutureValue is what Graph sends for enum members added after it
// unless the client asks for them (Prefer: include-unknown-enum-members).
const unknownFutureValue = "unknownFutureValue"

const preferUnknownMembers = "include-unknown-enum-members"

// wantsUnknownMembers reports whether the request's Prefer header asks for
// evolvable enum members.
func wantsUnknownMembers(r *http.Request) bool {
	for _, v := range r.Header.Values("Prefer") {
		for _, pref := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(pref), preferUnknownMembers) {
				return true
			}
		}
	}
	return false
}

// statusOut is the wire spelling of s: awaitingAction sits after
// unknownFutureValue in the Graph enum, so it is only sent on request.
func statusOut(s store.Status, includeUnknown bool) string {
	if s == store.StatusAwaitingAction && !includeUnknown {
		return unknownFutureValue
	}
	return string(s)
}

// parseEnum finds s (case-insensitively) among values.
func parseEnum[T ~string](kind, s string, values []T) (T, error) {
	for _, v := range values {
		if strings.EqualFold(string(v), s) {
			return v, nil
		}
	}
	return "", fmt.Errorf("%q is not a valid %s", s, kind)
}

// patchableStatuses are the statuses a client may set.
var patchableStatuses = []store.Status{store.StatusActive, store.StatusInProgress, store.StatusResolved, store.StatusRedirected}

func parseStatus(s string) (store.Status, error) { return parseEnum("status", s, store.Statuses) }

func parsePatchStatus(s string) (store.Status, error) {
	return parseEnum("status (use active, inProgress, resolved or redirected)", s, patchableStatuses)
}

func parseSeverity(s string) (store.Severity, error) {
	return parseEnum("severity", s, store.Severities)
}

func parseClassification(s string) (store.Classification, error) {
	return parseEnum("classification", s, store.Classifications)
}

// parseDetermination accepts only the members of alertDetermination
// (store.Determinations), in a PATCH and in $filter alike: Graph rejects
// the incident page's other spellings (compromisedUser, clean,
// insufficientData, confirmedUserActivity; reference §7.3).
func parseDetermination(s string) (store.Determination, error) {
	return parseEnum("determination (a member of microsoft.graph.security.alertDetermination)", s, store.Determinations)
}
