package entratoken

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"
)

// minKeyRefetch is the least time between two fetches of the key set.
// go-oidc fetches the key set again for every token it cannot verify with
// the keys it has, so without a floor each forged token would be a request
// to the authority. A genuine key rollover is seen within this delay.
const minKeyRefetch = 30 * time.Second

// maxKeySetBytes bounds the key set document.
const maxKeySetBytes = 1 << 20

// throttledKeyFetch is the transport of key set fetches: within
// minKeyRefetch of a successful fetch it answers with that fetch's document
// instead of asking the authority again. Failed fetches are not kept.
type throttledKeyFetch struct {
	next http.RoundTripper
	now  func() time.Time

	mu     sync.Mutex
	at     time.Time
	header http.Header
	body   []byte
}

func (t *throttledKeyFetch) RoundTrip(req *http.Request) (*http.Response, error) {
	t.mu.Lock()
	defer t.mu.Unlock() // one fetch at a time; the others reuse it
	if t.body != nil && t.now().Sub(t.at) < minKeyRefetch {
		return t.answer(req), nil
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxKeySetBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read the key set: %w", err)
	}
	if len(body) > maxKeySetBytes {
		return nil, fmt.Errorf("the key set is larger than %d bytes", maxKeySetBytes)
	}
	t.at, t.header, t.body = t.now(), resp.Header.Clone(), body
	return t.answer(req), nil
}

// answer is a response holding the kept document.
func (t *throttledKeyFetch) answer(req *http.Request) *http.Response {
	return &http.Response{
		Status:        "200 OK",
		StatusCode:    http.StatusOK,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        t.header.Clone(),
		Body:          io.NopCloser(bytes.NewReader(t.body)),
		ContentLength: int64(len(t.body)),
		Request:       req,
	}
}

// keyFetchClient is client with its transport throttled for key fetches.
func keyFetchClient(client *http.Client, now func() time.Time) *http.Client {
	next := client.Transport
	if next == nil {
		next = http.DefaultTransport
	}
	c := *client
	c.Transport = &throttledKeyFetch{next: next, now: now}
	return &c
}
