package upstream

import (
	"net"
	"net/url"
	"strings"
)

// APIBase is a validated API base URL. The clients build every request URL
// under it and refuse to send a request, hence a token, anywhere else.
type APIBase struct {
	url *url.URL
	// origin is scheme://host:port in lower case with the default port
	// made explicit.
	origin string
	// path and rawPath are the decoded and escaped base path without a
	// trailing slash ("" for the root).
	path, rawPath string
}

func newAPIBase(u *url.URL) *APIBase {
	b := &APIBase{
		url:     &url.URL{Scheme: u.Scheme, Host: u.Host},
		origin:  origin(u),
		path:    strings.TrimRight(u.Path, "/"),
		rawPath: strings.TrimRight(u.EscapedPath(), "/"),
	}
	return b
}

// Endpoint returns the URL of the path segments under the base; each
// segment is path-escaped.
func (b *APIBase) Endpoint(segments ...string) *url.URL {
	escaped := make([]string, len(segments))
	for i, s := range segments {
		escaped[i] = url.PathEscape(s)
	}
	u := *b.url
	u.Path = b.path + "/" + strings.Join(segments, "/")
	u.RawPath = b.rawPath + "/" + strings.Join(escaped, "/")
	return &u
}

// Contains reports whether u is under the base: same scheme, host and port,
// and a path equal to or below the base path, without traversal (which a
// server could resolve to outside the prefix) and without user info.
func (b *APIBase) Contains(u *url.URL) bool {
	if u == nil || !u.IsAbs() || u.Opaque != "" || u.User != nil || origin(u) != b.origin {
		return false
	}
	// An empty port ("host:") means the default one, but the request line
	// would not say what the link said: such a link is refused rather than
	// silently rewritten (the upstream never sends one).
	if strings.HasSuffix(u.Host, ":") {
		return false
	}
	if hasTraversal(u.Path) {
		return false
	}
	return underPath(u.Path, b.path) && underPath(u.EscapedPath(), b.rawPath)
}

// Resolve parses link (absolute, or relative to the page it came from) and
// returns it if it is under the base. The fragment, never sent, is dropped.
func (b *APIBase) Resolve(link string, page *url.URL) (*url.URL, bool) {
	ref, err := url.Parse(link)
	if err != nil {
		return nil, false
	}
	u := page.ResolveReference(ref)
	u.Fragment, u.RawFragment = "", ""
	if !b.Contains(u) {
		return nil, false
	}
	return u, true
}

func underPath(p, prefix string) bool {
	return p == prefix || strings.HasPrefix(p, prefix+"/")
}

// hasTraversal reports whether a decoded path could lead a server outside
// the prefix it seems to be under:
//   - a "." or ".." segment, also with a path parameter ("..;x", ".;"),
//     which servers such as Tomcat strip before resolving dots;
//   - a backslash (from "\" or "%5C"), which some servers read as "/";
//   - a percent-encoded dot or backslash left after decoding ("%252e",
//     "%255C"), for servers that decode twice.
func hasTraversal(p string) bool {
	if strings.Contains(p, `\`) {
		return true
	}
	lower := strings.ToLower(p)
	if strings.Contains(lower, "%2e") || strings.Contains(lower, "%5c") {
		return true
	}
	for seg := range strings.SplitSeq(p, "/") {
		seg, _, _ = strings.Cut(seg, ";")
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "https":
			port = "443"
		case "http":
			port = "80"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}
