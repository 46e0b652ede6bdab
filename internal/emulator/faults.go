package emulator

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/defender-gateway/gateway/internal/emulator/entra"
	"github.com/defender-gateway/gateway/internal/emulator/wire"
)

// Fault makes matching requests fail, stall, lose their connection or get a
// broken body. Faults apply before the token check, to all three servers.
// The constructors (Throttle, XDRQuotaExceeded, HuntingCPUQuota, ...) build
// the common ones.
type Fault struct {
	// API is APIEntra, APIGraph or APIXDR.
	API string
	// Tenant matches the request's tenant (a canonical tenant GUID); ""
	// matches any. For Graph and XDR it is the tid of a valid bearer token
	// (requests without one never match), for Entra the tenant in the path,
	// resolved to its ID when known.
	Tenant string
	// Method matches the HTTP method; "" matches any.
	Method string
	// PathPrefix matches the start of the URL path; "" matches any.
	PathPrefix string
	// PathSuffix matches the end of the URL path; "" matches any (e.g.
	// "/oauth2/v2.0/token" for every tenant's token endpoint).
	PathSuffix string
	// Query matches a request whose decoded query string contains it (e.g.
	// "$expand=alerts"; percent-escapes and "+" are decoded first); ""
	// matches any.
	Query string
	// Status is the status to answer with. 0 with a Delay only slows the
	// request down: it is then served normally.
	Status int
	// Code and Message fill the error body, in the API's own shape (for Entra
	// Code is the OAuth error and Message the error_description, which should
	// start with "AADSTSn:"). Empty values get defaults for Status.
	Code, Message string
	// RetryAfter, when > 0, is sent as a Retry-After header in seconds.
	RetryAfter time.Duration
	// Times is how many requests the fault affects; 0 means until removed.
	Times int
	// Delay is a wait before answering; the request returns early, with no
	// answer, if the client cancels it or the emulator closes.
	Delay time.Duration
	// Reset hijacks and closes the connection without answering (after Delay).
	Reset bool
	// Truncate serves the request normally but cuts the body in half: the
	// real status, a Content-Length of the cut body. Status is ignored.
	Truncate bool
	// Malformed answers Status (200 when 0) with a Content-Type of
	// application/json and a body that is not JSON at all (an HTML page).
	Malformed bool
	// DropNextLink serves the request normally but removes
	// "@odata.nextLink" from a JSON object answer (other answers pass
	// unchanged): a list that stops after its first page, as integrators
	// report of alerts_v2 (reference §7.2, C5). Status is ignored.
	DropNextLink bool
	// AfterHandler serves the request with the real handler first, so that
	// a write is applied, and then fails its answer: the handler's answer
	// is discarded and Delay, Reset, Malformed or Status apply as usual
	// (with none of them, the handler's answer is sent after Delay). It
	// makes an ambiguous failure: the client cannot tell that the request
	// took effect. Truncate and DropNextLink always serve the handler and
	// ignore it.
	AfterHandler bool
}

// faultSet holds the injected faults in the order they were added; the first
// match wins. It is safe for concurrent use.
type faultSet struct {
	mu     sync.Mutex
	nextID int
	faults []*activeFault
}

type activeFault struct {
	id        int
	fault     Fault
	remaining int // for Times > 0
}

func (s *faultSet) add(f Fault) (id int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextID++
	id = s.nextID
	s.faults = append(s.faults, &activeFault{id: id, fault: f, remaining: f.Times})
	return id
}

func (s *faultSet) remove(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if f.id == id {
			s.faults = append(s.faults[:i], s.faults[i+1:]...)
			return true
		}
	}
	return false
}

// ActiveFault is an injected fault with its id and the requests it may
// still affect (0 when it has no Times limit).
type ActiveFault struct {
	ID        int
	Fault     Fault
	Remaining int
}

func (s *faultSet) list() []ActiveFault {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ActiveFault, 0, len(s.faults))
	for _, af := range s.faults {
		a := ActiveFault{ID: af.id, Fault: af.fault}
		if af.fault.Times > 0 {
			a.Remaining = af.remaining
		}
		out = append(out, a)
	}
	return out
}

func (s *faultSet) clear() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// take returns the first fault matching the request and counts it down,
// dropping it once its Times are used up.
// tenant returns the request's tenant; it is called only when a fault
// names one.
func (s *faultSet) take(api string, r *http.Request, tenant func() string) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, af := range s.faults {
		f := af.fault
		if f.API != api ||
			(f.Method != "" && !strings.EqualFold(f.Method, r.Method)) ||
			!strings.HasPrefix(r.URL.Path, f.PathPrefix) ||
			!strings.HasSuffix(r.URL.Path, f.PathSuffix) ||
			(f.Query != "" && !strings.Contains(decodedQuery(r.URL.RawQuery), f.Query)) ||
			(f.Tenant != "" && !strings.EqualFold(f.Tenant, tenant())) {
			continue
		}
		if f.Times > 0 {
			af.remaining--
			if af.remaining <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
		}
		return f, true
	}
	return Fault{}, false
}

// decodedQuery is rawQuery with its escapes decoded, or rawQuery itself
// when it has a malformed escape.
func decodedQuery(rawQuery string) string {
	if q, err := url.QueryUnescape(rawQuery); err == nil {
		return q
	}
	return rawQuery
}

// injectFaults wraps next so that matching faults answer instead of it.
func (e *Emulator) injectFaults(api string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tenant := sync.OnceValue(func() string { return e.requestTenant(api, r) })
		f, ok := e.faults.take(api, r, tenant)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		var served *bufferWriter
		if f.AfterHandler && !f.Truncate && !f.DropNextLink {
			served = &bufferWriter{header: make(http.Header)}
			next.ServeHTTP(served, r)
		}
		if f.Delay > 0 {
			drainBody(r)
			if !e.wait(r, f.Delay) {
				// Given up (client gone, emulator closing): never let
				// net/http answer an empty 200 in the handler's place.
				resetConnection(w)
				return
			}
		}
		switch {
		case f.Reset:
			resetConnection(w)
		case f.Truncate:
			writeTruncated(w, r, next)
		case f.DropNextLink:
			writeWithoutNextLink(w, r, next)
		case f.Malformed:
			writeMalformed(w, f.Status)
		case f.Status == 0 && served != nil:
			served.replay(w)
		case f.Status == 0:
			next.ServeHTTP(w, r)
		default:
			if f.Status == http.StatusTooManyRequests && api != APIEntra {
				if route := classify(api, r.Method, r.URL.Path); route != "" {
					e.limiter.faulted(api, tenant(), route)
				}
			}
			writeFault(w, r, api, f)
		}
	})
}

// requestTenant is the tenant of a request before the token check: for
// Entra the path's tenant (entraTenant recorded it), for Graph and XDR the
// tid of a valid bearer token, else "".
func (e *Emulator) requestTenant(api string, r *http.Request) string {
	if api == APIEntra {
		if rec, ok := r.Context().Value(requestKey{}).(*Request); ok {
			return rec.TenantID
		}
		return ""
	}
	token, ok := bearerToken(r.Header.Get("Authorization"))
	if !ok {
		return ""
	}
	c, err := e.entra.Verify(token)
	if err != nil {
		return ""
	}
	return c.TenantID
}

// maxDrainedBody bounds the request body drainBody keeps.
const maxDrainedBody = 16 << 20

// drainBody reads r's body into memory (and puts it back for the handler),
// so that the server notices a client that goes away during a delay: it
// watches the connection only once the body has been read.
func drainBody(r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxDrainedBody))
	r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), r.Body))
}

// wait sleeps for d and reports false if the request was canceled or the
// emulator closed first.
func (e *Emulator) wait(r *http.Request, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-r.Context().Done():
		return false
	case <-e.done:
		return false
	}
}

// resetConnection closes the client connection without a response.
func resetConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (never the case for the emulator's HTTP/1.1
		// servers): abort the handler, which also drops the connection.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func writeFault(w http.ResponseWriter, r *http.Request, api string, f Fault) {
	if f.RetryAfter > 0 {
		wire.SetRetryAfter(w, f.RetryAfter)
	}
	code, message := f.Code, f.Message
	switch api {
	case APIEntra:
		if code == "" {
			code = defaultEntraCode(f.Status)
		}
		if message == "" {
			message = defaultEntraMessage(f.Status)
		}
		entra.WriteError(w, r, f.Status, code, message)
	case APIGraph:
		code, message = defaultAPIError(f.Status, code, message, "InvalidAuthenticationToken")
		wire.WriteGraphError(w, r, f.Status, code, message)
	default:
		code, message = defaultAPIError(f.Status, code, message, "Unauthorized")
		wire.WriteXDRError(w, f.Status, code, message)
	}
}

// defaultAPIError fills in a Graph/XDR error code (the status text without
// spaces, e.g. TooManyRequests) and message.
func defaultAPIError(status int, code, message, unauthorizedCode string) (string, string) {
	if code == "" {
		if status == http.StatusUnauthorized {
			code = unauthorizedCode
		} else {
			code = strings.ReplaceAll(http.StatusText(status), " ", "")
		}
		if code == "" {
			code = "UnknownError"
		}
	}
	if message == "" {
		switch status {
		case http.StatusTooManyRequests:
			message = "Too many requests. Retry after the time in the Retry-After header."
		case http.StatusServiceUnavailable:
			message = "The service is temporarily unavailable. Please retry later."
		default:
			message = fmt.Sprintf("Injected fault: %d %s.", status, http.StatusText(status))
		}
	}
	return code, message
}

func defaultEntraCode(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "invalid_client"
	case status == http.StatusTooManyRequests, status >= 500:
		return "temporarily_unavailable"
	default:
		return "invalid_request"
	}
}

func defaultEntraMessage(status int) string {
	switch {
	case status == http.StatusTooManyRequests:
		return "AADSTS50196: The server terminated an operation because it encountered a client request loop."
	case status >= 500:
		return "AADSTS90033: A transient error has occurred. Please try again."
	default:
		return fmt.Sprintf("AADSTS90014: Injected fault: %d %s.", status, http.StatusText(status))
	}
}
