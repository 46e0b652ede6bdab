package backends

import (
	"github.com/defender-gateway/gateway/internal/defender"
	"github.com/defender-gateway/gateway/internal/defender/graph"
	"github.com/defender-gateway/gateway/internal/defender/xdr"
)

// New builds the client of one backend kind. It is the production
// defender.BackendFactory.
func New(kind defender.BackendKind, opts defender.ClientOptions) (defender.Backend, error) {
	// Each case checks err itself: returning a nil *Graph as a Backend would
	// make a non-nil interface.
	switch kind {
	case defender.BackendGraph:
		g, err := graph.New(opts)
		if err != nil {
			return nil, err
		}
		return g, nil
	case defender.BackendXDR:
		x, err := xdr.New(opts)
		if err != nil {
			return nil, err
		}
		return x, nil
	default:
		return nil, defender.Errorf(defender.KindInvalidArgument, defender.ReasonInvalidArgument,
			"unknown backend kind %q (want %q or %q)", kind, defender.BackendGraph, defender.BackendXDR)
	}
}
