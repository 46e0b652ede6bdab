package pagetoken

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

type payload struct {
	Cursor string `json:"c"`
	N      int    `json:"n"`
}

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, MinKeyLen) }

func mustNew(t testing.TB, key []byte) *Codec {
	t.Helper()
	c, err := New(key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestNewRejectsShortKeys(t *testing.T) {
	for _, n := range []int{0, 1, MinKeyLen - 1} {
		if _, err := New(make([]byte, n)); err == nil {
			t.Errorf("New with a %d-byte key succeeded", n)
		}
	}
	if _, err := New(make([]byte, MinKeyLen)); err != nil {
		t.Errorf("New with a %d-byte key: %v", MinKeyLen, err)
	}
}

func TestNewCopiesTheKey(t *testing.T) {
	key := testKey(1)
	c := mustNew(t, key)
	token, err := c.Encode(payload{Cursor: "x"})
	if err != nil {
		t.Fatal(err)
	}
	key[0] ^= 0xff // the caller reuses its buffer
	var got payload
	if err := c.Decode(token, &got); err != nil {
		t.Fatalf("a token no longer verifies after the caller changed its key buffer: %v", err)
	}
}

func TestRoundTrip(t *testing.T) {
	c := mustNew(t, testKey(1))
	for _, want := range []payload{
		{},
		{Cursor: "https://graph.microsoft.com/v1.0/security/incidents?$skiptoken=abc&$filter=status eq 'active'", N: 7},
		{Cursor: strings.Repeat("é", 1000), N: -1},
	} {
		token, err := c.Encode(want)
		if err != nil {
			t.Fatal(err)
		}
		if strings.ContainsAny(token, "+/=") {
			t.Errorf("token %q is not unpadded base64url", token)
		}
		var got payload
		if err := c.Decode(token, &got); err != nil {
			t.Fatalf("Decode: %v", err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("round trip (-want +got):\n%s", diff)
		}
	}
}

func TestRandomCodecsDoNotShareKeys(t *testing.T) {
	a, b := NewRandom(), NewRandom()
	token, err := a.Encode(payload{Cursor: "x"})
	if err != nil {
		t.Fatal(err)
	}
	var got payload
	if err := a.Decode(token, &got); err != nil {
		t.Fatalf("own token: %v", err)
	}
	if err := b.Decode(token, &got); !errors.Is(err, ErrInvalid) {
		t.Errorf("another random codec accepted the token: %v", err)
	}
}

// sign builds a token over raw (version byte and payload) with c's key, so
// tests can craft validly signed tokens of any shape.
func sign(c *Codec, raw []byte) string {
	return base64.RawURLEncoding.EncodeToString(append(bytes.Clone(raw), c.tag(raw)...))
}

func TestDecodeRejects(t *testing.T) {
	c := mustNew(t, testKey(1))
	good, err := c.Encode(payload{Cursor: "cursor", N: 3})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := base64.RawURLEncoding.DecodeString(good)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(i int) string {
		b := bytes.Clone(raw)
		b[i] ^= 0x01
		return base64.RawURLEncoding.EncodeToString(b)
	}
	other, err := mustNew(t, testKey(2)).Encode(payload{Cursor: "cursor", N: 3})
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		"empty":                      "",
		"not base64":                 "!!!!" + good[4:],
		"padded base64":              base64.URLEncoding.EncodeToString(raw),
		"truncated by one character": good[:len(good)-1],
		"truncated to half":          good[:len(good)/2],
		"tag removed":                base64.RawURLEncoding.EncodeToString(raw[:len(raw)-tagLen]),
		"version flipped":            flip(0),
		"payload flipped":            flip(len(raw) / 2),
		"tag flipped":                flip(len(raw) - 1),
		"extra byte appended":        base64.RawURLEncoding.EncodeToString(append(bytes.Clone(raw), 0)),
		"other key":                  other,
		"unknown version, signed":    sign(c, append([]byte{version + 1}, raw[1:len(raw)-tagLen]...)),
		"payload not JSON, signed":   sign(c, []byte{version, 'n', 'o', 't', '-', 'j', 's', 'o', 'n'}),
		"payload of another shape":   sign(c, []byte(string(rune(version))+`{"c":42}`)),
		"oversized":                  strings.Repeat("A", MaxTokenLen+1),
	}
	for name, token := range cases {
		t.Run(name, func(t *testing.T) {
			var got payload
			if err := c.Decode(token, &got); !errors.Is(err, ErrInvalid) {
				t.Errorf("Decode = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestEncodeErrors(t *testing.T) {
	c := mustNew(t, testKey(1))
	if _, err := c.Encode(payload{Cursor: strings.Repeat("x", MaxTokenLen)}); !errors.Is(err, ErrTooLarge) {
		t.Errorf("Encode of an oversized payload = %v, want ErrTooLarge", err)
	}
	if _, err := c.Encode(func() {}); err == nil {
		t.Error("Encode of a value JSON cannot hold succeeded")
	}
}
