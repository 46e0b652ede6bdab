package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// HuntingCPUQuotaMessage is the message of the emulator's hunting CPU-quota
// error. The emulator's choice: Microsoft documents that queries are
// blocked once the tenant's CPU allocation is used up, until the next
// 15-minute cycle, but not the exact text of that error.
const HuntingCPUQuotaMessage = "You have exceeded the CPU quota for advanced hunting queries of this tenant. " +
	"Queries are blocked until the next 15-minute cycle."

// HuntingTimeoutMessage is the message of the emulator's hunting timeout
// error, for a query that runs longer than the documented 3 minutes. The
// emulator's choice: Microsoft documents the timeout, not its text.
const HuntingTimeoutMessage = "Query execution has exceeded the allowed limits. " +
	"The query ran longer than the 3-minute timeout of advanced hunting; narrow it with a shorter time range or more selective filters."

// malformedBody is what a Malformed fault answers: a proxy's HTML page.
const malformedBody = "<html><head><title>502 Bad Gateway</title></head><body><h1>Bad Gateway</h1></body></html>\n"

// Throttle is a 429 of api for tenant ("" any) on every route, with a
// Retry-After of retryAfter (none when 0), in the API's shape (code
// TooManyRequests).
func Throttle(api, tenant string, retryAfter time.Duration) Fault {
	return Fault{API: api, Tenant: tenant, Status: http.StatusTooManyRequests, RetryAfter: retryAfter}
}

// XDRQuotaExceeded is the XDR API's quota 429 for tenant ("" any) on
// routes under pathPrefix ("" every route): code "429", message "API calls
// quota exceeded! maximum allowed <count> per <hh:mm:ss>", no Retry-After.
func XDRQuotaExceeded(tenant, pathPrefix string, w Window) Fault {
	return Fault{API: APIXDR, Tenant: tenant, PathPrefix: pathPrefix, Status: http.StatusTooManyRequests,
		Code: "429", Message: xdrQuotaMessage(w)}
}

// HuntingCPUQuota is the hunting CPU-quota error of api (APIGraph or
// APIXDR) for tenant: a 429 on the hunting route with code TooManyRequests
// and HuntingCPUQuotaMessage, no Retry-After.
func HuntingCPUQuota(api, tenant string) Fault {
	f := Fault{API: api, Tenant: tenant, Method: http.MethodPost, Status: http.StatusTooManyRequests,
		Code: "TooManyRequests", Message: HuntingCPUQuotaMessage}
	if api == APIGraph {
		f.PathPrefix = "/v1.0/security/runHuntingQuery"
	} else {
		f.PathPrefix = "/api/advancedhunting/run"
	}
	return f
}

// HuntingTimeout is the hunting timeout error of api (APIGraph or APIXDR)
// for tenant ("" any): a 400 on the hunting route with code BadRequest and
// HuntingTimeoutMessage, answered at once (the emulator does not make the
// caller wait 3 minutes).
func HuntingTimeout(api, tenant string) Fault {
	f := HuntingCPUQuota(api, tenant)
	f.Status, f.Code, f.Message = http.StatusBadRequest, "BadRequest", HuntingTimeoutMessage
	return f
}

// ServerError answers status (500, 503, 504, ...) on api's routes under
// pathPrefix for tenant, in the API's shape.
func ServerError(api, tenant, pathPrefix string, status int) Fault {
	return Fault{API: api, Tenant: tenant, PathPrefix: pathPrefix, Status: status}
}

// Truncated serves api's requests under pathPrefix normally but cuts each
// body in half (see Fault.Truncate).
func Truncated(api, tenant, pathPrefix string) Fault {
	return Fault{API: api, Tenant: tenant, PathPrefix: pathPrefix, Truncate: true}
}

// AlertsWithoutNextLink makes Graph's alert list (GET
// /v1.0/security/alerts_v2, any options) of tenant ("" any) answer without
// "@odata.nextLink", until removed: the alerts_v2 lists integrators report
// in practice (reference §7.2, C5). Every page is otherwise served as is.
func AlertsWithoutNextLink(tenant string) Fault {
	return Fault{API: APIGraph, Tenant: tenant, Method: http.MethodGet,
		PathPrefix: "/v1.0/security/alerts_v2", PathSuffix: "/security/alerts_v2", DropNextLink: true}
}

// Malformed answers api's requests under pathPrefix with 200 and a body that
// is not JSON (see Fault.Malformed).
func Malformed(api, tenant, pathPrefix string) Fault {
	return Fault{API: api, Tenant: tenant, PathPrefix: pathPrefix, Malformed: true}
}

// ConnectionReset drops the connection of api's requests under pathPrefix
// without an answer.
func ConnectionReset(api, tenant, pathPrefix string) Fault {
	return Fault{API: api, Tenant: tenant, PathPrefix: pathPrefix, Reset: true}
}

// ApplyThenFail serves api's requests of method under pathPrefix with the
// real handler, so that a write takes effect, and then fails the answer:
// status (e.g. 504), or a reset connection when status is 0. The client
// sees an ambiguous failure of a request that was applied.
func ApplyThenFail(api, tenant, method, pathPrefix string, status int) Fault {
	f := Fault{API: api, Tenant: tenant, Method: method, PathPrefix: pathPrefix, Status: status, AfterHandler: true}
	if status == 0 {
		f.Reset = true
	}
	return f
}

// ExpandAlertsFailure makes Graph's incident list with $expand=alerts
// (GET /v1.0/security/incidents?$expand=alerts..., any other options) of
// tenant ("" any) answer status (500 when 0) in Graph's error shape (code
// the status text, e.g. InternalServerError), until removed: the persistent
// 500s reported for $expand=alerts on very large tenants (reference §7.2). The list without $expand, and GET of one
// incident with $expand=alerts, keep working.
func ExpandAlertsFailure(tenant string, status int) Fault {
	if status == 0 {
		status = http.StatusInternalServerError
	}
	return Fault{API: APIGraph, Tenant: tenant, Method: http.MethodGet,
		PathPrefix: "/v1.0/security/incidents", PathSuffix: "/security/incidents", Query: "$expand=alerts",
		Status: status, Message: ExpandAlertsFailureMessage}
}

// ExpandAlertsFailureMessage is the message of ExpandAlertsFailure's error.
// The emulator's choice: the reports (reference §7.2, [C4]) give the
// status, not the body.
const ExpandAlertsFailureMessage = "An internal server error occurred while expanding the alerts of the incidents."

// TokenOutage makes the token endpoint of tenant ("" every tenant) answer
// status (e.g. 503; 0 resets the connection instead). Discovery, JWKS and
// the other Entra routes keep working.
func TokenOutage(tenant string, status int) Fault {
	f := Fault{API: APIEntra, Tenant: tenant, Method: http.MethodPost, PathSuffix: "/oauth2/v2.0/token", Status: status}
	if status == 0 {
		f.Reset = true
	}
	return f
}

// bufferWriter buffers a response.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferWriter) Header() http.Header { return b.header }
func (b *bufferWriter) WriteHeader(status int) {
	if b.status == 0 {
		b.status = status
	}
}

func (b *bufferWriter) Write(p []byte) (int, error) {
	if b.status == 0 {
		b.status = http.StatusOK
	}
	return b.body.Write(p)
}

// replay sends the buffered response to w.
func (b *bufferWriter) replay(w http.ResponseWriter) {
	for k, v := range b.header {
		w.Header()[k] = v
	}
	status := b.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	_, _ = w.Write(b.body.Bytes())
}

// writeTruncated serves r with next and sends the first half of its body,
// with the real status and headers and a matching Content-Length.
func writeTruncated(w http.ResponseWriter, r *http.Request, next http.Handler) {
	buf := &bufferWriter{header: make(http.Header)}
	next.ServeHTTP(buf, r)
	if buf.status == 0 {
		buf.status = http.StatusOK
	}
	body := buf.body.Bytes()
	body = body[:len(body)/2]
	for k, v := range buf.header {
		w.Header()[k] = v
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(buf.status)
	_, _ = w.Write(body)
}

// writeWithoutNextLink serves r with next and sends its answer without the
// "@odata.nextLink" member when the body is a JSON object that has one.
func writeWithoutNextLink(w http.ResponseWriter, r *http.Request, next http.Handler) {
	buf := &bufferWriter{header: make(http.Header)}
	next.ServeHTTP(buf, r)
	var members map[string]json.RawMessage
	if err := json.Unmarshal(buf.body.Bytes(), &members); err == nil {
		if _, ok := members["@odata.nextLink"]; ok {
			delete(members, "@odata.nextLink")
			if body, err := json.Marshal(members); err == nil {
				buf.body.Reset()
				buf.body.Write(append(body, '\n'))
				buf.header.Set("Content-Length", strconv.Itoa(buf.body.Len()))
			}
		}
	}
	buf.replay(w)
}

// writeMalformed answers status (200 when 0) with a non-JSON body labelled
// as JSON.
func writeMalformed(w http.ResponseWriter, status int) {
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(malformedBody)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(malformedBody))
}
