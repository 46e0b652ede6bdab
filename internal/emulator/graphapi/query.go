package graphapi

import (
	"fmt"
	"net/url"
	"strings"
)

// parseQuery decodes the raw query and rejects malformed escapes, repeated
// options and options outside allowed.
func parseQuery(rawQuery string, allowed ...string) (url.Values, error) {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, fmt.Errorf("The query string is malformed: %v.", err)
	}
	for key, values := range q {
		if !containsString(allowed, key) {
			if len(allowed) == 0 {
				return nil, fmt.Errorf("Query option '%s' is not supported. This request takes no query options.", key)
			}
			return nil, fmt.Errorf("Query option '%s' is not supported. Supported options: %s.", key, strings.Join(allowed, ", "))
		}
		if len(values) > 1 {
			return nil, fmt.Errorf("Query option '%s' was specified more than once, but it must be specified at most once.", key)
		}
	}
	return q, nil
}

// parseExpand accepts "" or "alerts".
func parseExpand(raw string) (bool, error) {
	switch strings.TrimSpace(raw) {
	case "":
		return false, nil
	case "alerts":
		return true, nil
	}
	return false, fmt.Errorf("Invalid $expand '%s': only 'alerts' can be expanded.", raw)
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
