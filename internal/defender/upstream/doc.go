// Package upstream is the core the graph and xdr backends share: the HTTP
// call (authentication, the per-attempt timeout, bounded bodies, the
// mapping of every failure to *defender.Error), retries with backoff and
// the once-only comment guarantee, the quota gate of each attempt, the URL
// safety of the API base and of page links, the OData filter and query
// encoding, the page cursors, the decoding of hunting results, and the
// wire-to-domain mapping of enums, timestamps and evidence.
//
// Its exported names serve the two backend packages only; the rest of the
// gateway uses package defender and backends.New.
package upstream
