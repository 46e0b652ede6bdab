package upstream

import (
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/defender-gateway/gateway/internal/defender"
)

// New validates opts and builds the HTTP core shared by both
// clients.
func New(kind defender.BackendKind, perms Permissions, opts defender.ClientOptions) (*Client, error) {
	base, err := ParseAPIBase(opts.BaseURL)
	if err != nil {
		return nil, err
	}
	if opts.HTTPClient == nil {
		return nil, defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "%s client: HTTPClient must not be nil", kind)
	}
	if opts.Tokens == nil {
		return nil, defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "%s client: Tokens must not be nil", kind)
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	timeout := opts.RequestTimeout
	if timeout <= 0 {
		timeout = opts.HTTPClient.Timeout
	}
	return &Client{
		Kind:     kind,
		Base:     base,
		client:   withoutRedirects(opts.HTTPClient),
		tokens:   opts.Tokens,
		Log:      logger,
		perms:    perms,
		observer: opts.Observer,
		retry:    opts.Retry,
		// The client's own Timeout would bound hunting too: it becomes the
		// per-attempt bound of everything else instead.
		timeout:        timeout,
		huntingTimeout: opts.HuntingRequestTimeout,
		Sleep:          sleepCtx,
		Rand:           randInt64N,
	}, nil
}

// withoutRedirects returns a copy of c that hands a redirect back instead of
// following it: a redirect would carry the bearer token to another URL. The
// copy shares c's transport and cookie jar; its Timeout is cleared, the
// upstream applying it per attempt (New).
func withoutRedirects(c *http.Client) *http.Client {
	cp := *c
	cp.Timeout = 0
	cp.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &cp
}

// ParseAPIBase validates a BaseURL: absolute, https (http only for loopback
// hosts, for tests), no user info, query or fragment.
func ParseAPIBase(raw string) (*APIBase, error) {
	invalid := func(why string) error {
		// The URL itself is not echoed: it is configuration and might carry
		// something it should not.
		return defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument, "BaseURL %s", why)
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
