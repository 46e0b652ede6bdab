package credentials

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"
)

// fakeMSALCache stands for MSAL's cache serializer.
type fakeMSALCache struct{ data []byte }

func (f *fakeMSALCache) Marshal() ([]byte, error) { return f.data, nil }
func (f *fakeMSALCache) Unmarshal(b []byte) error { f.data = append([]byte(nil), b...); return nil }

func testKey(seed byte) []byte {
	return bytes.Repeat([]byte{seed}, UserCacheKeySize)
}

// writeStore exports data for tenants into a new store at path.
func writeStore(t *testing.T, path string, key []byte, data map[string]string) {
	t.Helper()
	s, err := openUserCacheStore(path, key, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for tenant, d := range data {
		if err := s.forTenant(tenant, "https://login.example").Export(context.Background(), &fakeMSALCache{[]byte(d)}, cacheExportHints); err != nil {
			t.Fatal(err)
		}
	}
}

func TestUserCacheRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cache")
	const secretish = "refresh-token-value-0123456789"
	writeStore(t, path, testKey(1), map[string]string{"Contoso.example": secretish + "-a", "fabrikam.example": secretish + "-b"})

	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(raw, []byte("DGUC\x01")) || bytes.Contains(raw, []byte(secretish)) || bytes.Contains(raw, []byte("contoso")) {
		t.Errorf("the file is not the versioned ciphertext alone: %q…", raw[:min(len(raw), 40)])
	}
	s, err := openUserCacheStore(path, testKey(1), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	if got := s.tenants(context.Background()); len(got) != 2 || got[0].Tenant != "Contoso.example" || got[0].AuthorityHost != "https://login.example" {
		t.Errorf("tenants = %+v", got)
	}
	for tenant, want := range map[string]string{"contoso.EXAMPLE": secretish + "-a", "fabrikam.example": secretish + "-b", "other.example": ""} {
		var c fakeMSALCache
		if err := s.forTenant(tenant, "https://login.example").Replace(context.Background(), &c, cacheReplaceHints); err != nil {
			t.Fatal(err)
		}
		if string(c.data) != want {
			t.Errorf("Replace(%s) = %q, want %q", tenant, c.data, want)
		}
	}

	// Every write uses a fresh nonce: the same content encrypts differently.
	writeStore(t, path, testKey(1), map[string]string{"Contoso.example": secretish + "-a"})
	again, _ := os.ReadFile(path)
	if bytes.Equal(raw[5:17], again[5:17]) {
		t.Error("two writes used the same nonce")
	}
}

func TestUserCacheRejectsBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good")
	writeStore(t, good, testKey(1), map[string]string{"contoso.example": "cache"})
	raw, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), raw...)
	flipped[len(flipped)-1] ^= 1
	otherVersion := append([]byte(nil), raw...)
	otherVersion[4] = 9
	tests := []struct {
		name string
		data []byte
		key  []byte
		want string
	}{
		{"wrong key", raw, testKey(2), "cannot be decrypted"},
		{"altered ciphertext", flipped, testKey(1), "cannot be decrypted"},
		{"truncated", raw[:20], testKey(1), "cannot be decrypted"},
		{"unknown version", otherVersion, testKey(1), "version 9"},
		{"plaintext JSON", []byte(`{"tenants":{}}`), testKey(1), "not an encrypted user cache file"},
		{"short key", raw, testKey(1)[:16], "32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-"))
			if err := os.WriteFile(path, tt.data, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := openUserCacheStore(path, tt.key, slog.New(slog.DiscardHandler))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one saying %q", err, tt.want)
			}
		})
	}
}

func TestNewDeviceLoginsRejectsBadOptions(t *testing.T) {
	file := filepath.Join(t.TempDir(), "cache")
	tests := []struct {
		name string
		opts DeviceLoginsOptions
		want string
	}{
		{"no client", DeviceLoginsOptions{}, "client ID"},
		{"file without key", DeviceLoginsOptions{ClientID: "c", CacheFile: file}, "cache key"},
		{"key without file", DeviceLoginsOptions{ClientID: "c", CacheKey: testKey(1)}, "without a cache file"},
		{"short key", DeviceLoginsOptions{ClientID: "c", CacheFile: file, CacheKey: []byte("short")}, "32 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewDeviceLogins(tt.opts)
			if err == nil {
				d.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want one naming %q", err, tt.want)
			}
		})
	}
}

func TestUserCacheWriteFailureKeepsMemory(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing-dir", "cache")
	s, err := openUserCacheStore(path, testKey(1), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	tc := s.forTenant("contoso.example", "https://login.example")
	if err := tc.Export(context.Background(), &fakeMSALCache{[]byte("cache")}, cacheExportHints); err != nil {
		t.Fatalf("Export: %v, want the failure logged, not returned", err)
	}
	var c fakeMSALCache
	if err := tc.Replace(context.Background(), &c, cacheReplaceHints); err != nil || string(c.data) != "cache" {
		t.Errorf("Replace = %q, %v; want the cache kept in memory", c.data, err)
	}
}

var (
	cacheExportHints  = cache.ExportHints{}
	cacheReplaceHints = cache.ReplaceHints{}
)
