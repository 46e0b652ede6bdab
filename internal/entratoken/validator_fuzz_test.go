package entratoken

import (
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzValidate hands arbitrary token strings to a validator whose authority
// (a local fake, see fakeAuthority) publishes one key. Validate must never
// panic; it refuses with an *Error (or, were the keys unreachable, an error
// wrapping ErrKeysUnavailable) that does not show the token's signature;
// and it accepts only tokens whose signed part (header.payload) is exactly
// one the authority's published key signed: no unsigned (alg none), HMAC,
// foreign-key, spliced or altered token passes.
func FuzzValidate(f *testing.F) {
	fa := newFakeAuthority(f)
	c := &clock{now: time.Now().Truncate(time.Second)}
	v, err := New(Options{
		AuthorityHost: fa.host(),
		Audiences:     []string{gatewayApp, "api://" + gatewayApp},
		Tenants:       []string{tenantADomain, tenantB},
		HTTPClient:    fa.srv.Client(),
		Now:           c.Now,
	})
	if err != nil {
		f.Fatal(err)
	}
	published := fa.key("key-1")
	signed := map[string]bool{} // signing inputs of the published key

	good := fa.userClaims(c.Now())
	app := fa.userClaims(c.Now())
	app["aud"] = []string{"other", "api://" + gatewayApp}
	app["tid"], app["iss"] = tenantB, fa.host()+"/"+tenantB+"/v2.0"
	for _, m := range []jwt.MapClaims{good, app} {
		tok := sign(f, published, "key-1", m)
		signed[signingInput(tok)] = true
		if _, err := v.Validate(context.Background(), tok); err != nil {
			f.Fatalf("a good token is refused: %v", err)
		}
		f.Add(tok)
		head, payload, sig := splitToken(tok)
		f.Add(head + "." + payload + ".")                                          // no signature
		f.Add(head + "." + payload + "." + sig + "=")                              // padded
		f.Add(head + "." + payload + "." + sig + "." + sig)                        // four parts
		f.Add(" " + tok)                                                           // leading space
		f.Add(head + "." + payload + "x." + sig)                                   // payload altered
		f.Add(encodeSegment(`{"alg":"none","kid":"key-1"}`) + "." + payload + ".") // unsigned
		f.Add(encodeSegment(`{"alg":"RS256","kid":"key-1","alg":"none"}`) + "." + payload + "." + sig)
	}
	// Signed by a key the authority does not publish, under a published kid.
	f.Add(sign(f, newKey(f), "key-1", good))
	f.Add(sign(f, newKey(f), "key-unknown", good))
	// HS256 keyed with the public modulus (algorithm confusion).
	hs := jwt.NewWithClaims(jwt.SigningMethodHS256, good)
	hs.Header["kid"] = "key-1"
	if s, err := hs.SignedString(published.PublicKey.N.Bytes()); err == nil {
		f.Add(s)
	}
	// Claims of another shape, signed: the claim decoding must not panic.
	odd := fa.userClaims(c.Now())
	odd["exp"], odd["nbf"], odd["aud"], odd["roles"] = 1e300, -1e300, []any{1, nil}, "x"
	f.Add(sign(f, published, "key-1", odd))
	for _, s := range []string{"", ".", "..", "a.b.c", "e30.e30.", "e30.e30.e30", `{"payload":"e30","signatures":[]}`} {
		f.Add(s)
	}

	f.Fuzz(func(t *testing.T, raw string) {
		claims, err := v.Validate(context.Background(), raw)
		if err == nil {
			if !signed[signingInput(raw)] {
				t.Fatalf("accepted a token the authority never signed: %q (claims %+v)", raw, claims)
			}
			return
		}
		var e *Error
		if !errors.As(err, &e) && !errors.Is(err, ErrKeysUnavailable) {
			t.Fatalf("Validate(%q) = %v (%T), want an *Error or ErrKeysUnavailable", raw, err, err)
		}
		if _, _, sig := splitToken(raw); len(sig) >= 16 && strings.Contains(err.Error(), sig) {
			t.Fatalf("the error shows the token's signature: %v", err)
		}
	})
}

// splitToken returns the three dot-separated parts of a compact JWS ("" for
// missing ones; a fourth part stays in sig).
func splitToken(raw string) (head, payload, sig string) {
	head, rest, _ := strings.Cut(raw, ".")
	payload, sig, _ = strings.Cut(rest, ".")
	return head, payload, sig
}

// signingInput is what a JWS signature covers: header.payload.
func signingInput(raw string) string {
	head, payload, _ := splitToken(raw)
	return head + "." + payload
}

func encodeSegment(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }
