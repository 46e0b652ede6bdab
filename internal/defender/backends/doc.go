// Package backends builds the defender.Backend of a configured kind (New,
// the production defender.BackendFactory), choosing between packages graph
// and xdr.
//
// Its tests are the ones that run both backends over the shared core of
// package upstream (retries, the gate, the comment guarantee, error
// mapping, cursors and the fuzz targets FuzzCursor, FuzzFilterOData and
// FuzzUpstreamJSON): they need both clients, which package upstream cannot
// import.
package backends
