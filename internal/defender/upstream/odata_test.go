package upstream

import (
	"net/url"
	"testing"
	"time"
)

func TestODataString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"active", "'active'"},
		{"o'brien@contoso.com", "'o''brien@contoso.com'"},
		{"''", "''''''"},
		{"", "''"},
	}
	for _, tt := range tests {
		if got := odataString(tt.in); got != tt.want {
			t.Errorf("odataString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

func TestODataDateTime(t *testing.T) {
	cet := time.FixedZone("CET", 3600)
	tests := []struct {
		name string
		in   time.Time
		want string
	}{
		{"whole seconds", time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC), "2024-05-06T07:08:09Z"},
		{"milliseconds", time.Date(2024, 5, 6, 7, 8, 9, 120_000_000, time.UTC), "2024-05-06T07:08:09.12Z"},
		{"seven digits", time.Date(2024, 5, 6, 7, 8, 9, 1_234_567_00, time.UTC), "2024-05-06T07:08:09.1234567Z"},
		{"100ns", time.Date(2024, 5, 6, 7, 8, 9, 100, time.UTC), "2024-05-06T07:08:09.0000001Z"},
		{"below 100ns truncated", time.Date(2024, 5, 6, 7, 8, 9, 99, time.UTC), "2024-05-06T07:08:09Z"},
		{"zone converted to UTC", time.Date(2024, 5, 6, 8, 8, 9, 0, cet), "2024-05-06T07:08:09Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := odataDateTime(tt.in); got != tt.want {
				t.Errorf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestEncodeQuery(t *testing.T) {
	params := []QueryParam{
		{"$filter", "assignedTo eq 'o''brien@contoso.com' and createdTime ge 2024-01-01T00:00:00Z"},
		{"$top", "50"},
		{"odd", "a+b&c=d#e%f;g é"},
	}
	got := EncodeQuery(params)
	want := "$filter=assignedTo%20eq%20'o''brien@contoso.com'%20and%20createdTime%20ge%202024-01-01T00:00:00Z" +
		"&$top=50&odd=a%2Bb%26c%3Dd%23e%25f%3Bg%20%C3%A9"
	if got != want {
		t.Fatalf("encodeQuery =\n %s\nwant\n %s", got, want)
	}
	// Whatever the server's parser, the values come back unchanged.
	values, err := url.ParseQuery(got)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range params {
		if v := values.Get(p.Key); v != p.Value {
			t.Errorf("round trip of %s = %q, want %q", p.Key, v, p.Value)
		}
	}
}
