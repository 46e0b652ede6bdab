package defender

import (
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// NewBackend builds the client of one backend kind. It matches
// BackendFactory.
func NewBackend(kind BackendKind, opts ClientOptions) (Backend, error) {
	// Each case checks err itself: returning a nil *Graph as a Backend would
	// make a non-nil interface.
	switch kind {
	case BackendGraph:
		g, err := NewGraph(opts)
		if err != nil {
			return nil, err
		}
		return g, nil
	case BackendXDR:
		x, err := NewXDR(opts)
		if err != nil {
			return nil, err
		}
		return x, nil
	default:
		return nil, Errorf(KindInvalidArgument, ReasonInvalidArgument,
			"unknown backend kind %q (want %q or %q)", kind, BackendGraph, BackendXDR)
	}
}

// newUpstream validates opts and builds the HTTP core shared by both
// clients.
func newUpstream(kind BackendKind, perms permissions, opts ClientOptions) (*upstream, error) {
	base, err := parseAPIBase(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	if opts.HTTPClient == nil {
		return nil, Errorf(KindInvalidArgument, ReasonInvalidArgument, "%s client: HTTPClient must not be nil", kind)
	}
	if opts.Tokens == nil {
		return nil, Errorf(KindInvalidArgument, ReasonInvalidArgument, "%s client: Tokens must not be nil", kind)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	timeout := opts.RequestTimeout
	if timeout <= 0 {
		timeout = opts.HTTPClient.Timeout
	}
	return &upstream{
		kind:     kind,
		base:     base,
		client:   withoutRedirects(opts.HTTPClient),
		tokens:   opts.Tokens,
		log:      logger,
		perms:    perms,
		observer: opts.Observer,
		retry:    opts.Retry,
		// The client's own Timeout would bound hunting too: it becomes the
		// per-attempt bound of everything else instead.
		timeout:        timeout,
		huntingTimeout: opts.HuntingRequestTimeout,
		sleep:          sleepCtx,
		rand:           randInt64N,
	}, nil
}

// withoutRedirects returns a copy of c that hands a redirect back instead of
// following it: a redirect would carry the bearer token to another URL. The
// copy shares c's transport and cookie jar; its Timeout is cleared, the
// upstream applying it per attempt (newUpstream).
func withoutRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.Timeout = 0
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// parseAPIBase validates a BaseURL: absolute, https (http only for loopback
// hosts, for tests), no user info, query or fragment.
func parseAPIBase(raw string) (*apiBase, error) {
	invalid := func(why string) error {
		// The URL itself is not echoed: it is configuration and might carry
		// something it should not.
		return Errorf(KindInvalidArgument, ReasonInvalidArgument, "BaseURL %s", why)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, invalid("is not a valid URL")
	}
	switch {
	case !u.IsAbs() || u.Host == "" || u.Opaque != "":
		return nil, invalid("must be an absolute URL with a host")
	case u.User != nil:
		return nil, invalid("must not carry user info")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.ContainsAny(raw, "?#"):
		return nil, invalid("must not have a query or fragment")
	case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
		return nil, invalid("must use https (http is allowed for loopback hosts only)")
	case u.Scheme != "https" && u.Scheme != "http":
		return nil, invalid("must use https")
	case hasTraversal(u.Path):
		return nil, invalid("must not contain . or .. path segments, backslashes or encoded dots")
	}
	return newAPIBase(u), nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
