package server

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/test/bufconn"
)

// The REST gateway reaches the gRPC server through an in-memory listener,
// not over the network. Connections accepted there carry inprocAddr as
// their address, a type no network connection can have, so the gRPC side
// can tell a REST call (whose transport facts the HTTP server vouches for)
// from a direct gRPC caller (which could claim anything in metadata).

// inprocBufferSize is the in-memory connection's buffer per direction.
const inprocBufferSize = 256 << 10

// inprocAddr is the address of the in-memory listener and its connections.
type inprocAddr struct{}

func (inprocAddr) Network() string { return "inproc" }
func (inprocAddr) String() string  { return "inproc" }

// inprocListener is a bufconn listener whose connections are inprocConns.
type inprocListener struct{ *bufconn.Listener }

func newInprocListener() inprocListener { return inprocListener{bufconn.Listen(inprocBufferSize)} }

func (l inprocListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return inprocConn{c}, nil
}

func (l inprocListener) Addr() net.Addr { return inprocAddr{} }

// dial opens a client connection to the gRPC server over the listener.
func (l inprocListener) dial(extra ...grpc.DialOption) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///inproc", append([]grpc.DialOption{
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return l.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(maxRESTResponse)),
	}, extra...)...)
}

// inprocConn is the server side of an in-memory connection.
type inprocConn struct{ net.Conn }

func (inprocConn) LocalAddr() net.Addr  { return inprocAddr{} }
func (inprocConn) RemoteAddr() net.Addr { return inprocAddr{} }

// fromInproc reports whether the call in ctx came over the in-memory
// listener, that is from the REST gateway of this process.
func fromInproc(ctx context.Context) bool {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return false
	}
	_, ok = p.Addr.(inprocAddr)
	return ok
}
