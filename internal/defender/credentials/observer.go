package credentials

// The token sources a TokenObserver is told.
const (
	// TokenSourceCache is a token MSAL's cache served.
	TokenSourceCache = "cache"
	// TokenSourceNetwork is a token acquired from Entra ID (or a failed
	// attempt to acquire one).
	TokenSourceNetwork = "network"
)

// TokenObserver sees every token acquisition of a token source: its
// source (TokenSourceCache or TokenSourceNetwork) and its error. The
// telemetry package's TokenObserver is one.
type TokenObserver interface {
	TokenAcquired(source string, err error)
}

// observeToken tells o, when set, of one acquisition.
func observeToken(o TokenObserver, fromNetwork bool, err error) {
	if o == nil {
		return
	}
	source := TokenSourceCache
	if fromNetwork || err != nil {
		source = TokenSourceNetwork
	}
	o.TokenAcquired(source, err)
}
