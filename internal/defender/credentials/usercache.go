package credentials

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"

	"github.com/defender-gateway/gateway/internal/sharedstate"
)

// The encrypted user cache file is
//
//	"DGUC" | version (1 byte) | nonce (12 bytes) | AES-256-GCM ciphertext
//
// where the header (magic and version) is the additional authenticated data
// and the plaintext is the JSON of userCacheContent: one MSAL cache (opaque
// bytes) per tenant. The whole map is encrypted at once, with a fresh
// random nonce on every write.
const (
	userCacheMagic   = "DGUC"
	userCacheVersion = 1
	// UserCacheKeySize is the size of the cache key: AES-256.
	UserCacheKeySize = 32
)

// userCacheContent is the plaintext of the cache file.
type userCacheContent struct {
	Tenants map[string]userCacheTenant `json:"tenants"` // by lower-case tenant
}

// userCacheTenant is one tenant's MSAL cache and what is needed to build
// its client again after a restart.
type userCacheTenant struct {
	Tenant        string `json:"tenant"` // as configured
	AuthorityHost string `json:"authority_host"`
	MSAL          []byte `json:"msal"`
}

// errUserCacheUndecryptable says the file was not written with this key or
// was altered; the cause is not refined further on purpose.
var errUserCacheUndecryptable = errors.New("the file cannot be decrypted with the configured key (wrong key, or the file is corrupt)")

// userCacheStore holds the MSAL caches of every tenant in memory and, when
// path is set, persists them encrypted to one file. It is safe for
// concurrent use.
type userCacheStore struct {
	path   string
	aead   cipher.AEAD
	logger *slog.Logger

	// sharedBlobs, when set, holds every tenant's cache sealed with
	// sharedAEAD in Redis (usercache_shared.go).
	sharedBlobs *sharedstate.Blobs
	sharedAEAD  cipher.AEAD

	mu      sync.Mutex
	content userCacheContent
}

// openUserCacheStore loads path, if it exists, with key. An empty path is
// an in-memory store.
func openUserCacheStore(path string, key []byte, logger *slog.Logger) (*userCacheStore, error) {
	s := &userCacheStore{path: path, logger: logger, content: userCacheContent{Tenants: map[string]userCacheTenant{}}}
	if path == "" {
		return s, nil
	}
	if len(key) != UserCacheKeySize {
		return nil, fmt.Errorf("the cache key must be %d bytes (AES-256), not %d", UserCacheKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("cache key: %v", err)
	}
	if s.aead, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("cache key: %v", err)
	}
	data, err := os.ReadFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return s, nil
	case err != nil:
		return nil, fmt.Errorf("read user cache %s: %w", path, err)
	}
	plain, err := s.open(data)
	if err != nil {
		return nil, fmt.Errorf("user cache %s: %w", path, err)
	}
	if err := json.Unmarshal(plain, &s.content); err != nil {
		return nil, fmt.Errorf("user cache %s: the decrypted content is not valid", path)
	}
	if s.content.Tenants == nil {
		s.content.Tenants = map[string]userCacheTenant{}
	}
	return s, nil
}

func userCacheHeader() []byte { return append([]byte(userCacheMagic), userCacheVersion) }

// seal encrypts plain into the file format.
func (s *userCacheStore) seal(plain []byte) ([]byte, error) {
	header := userCacheHeader()
	nonce := make([]byte, s.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("nonce: %v", err)
	}
	out := append(append([]byte{}, header...), nonce...)
	return s.aead.Seal(out, nonce, plain, header), nil
}

// open decrypts the file format.
func (s *userCacheStore) open(data []byte) ([]byte, error) {
	header := userCacheHeader()
	switch {
	case len(data) < len(header) || !bytes.Equal(data[:len(userCacheMagic)], header[:len(userCacheMagic)]):
		return nil, errors.New("not an encrypted user cache file")
	case data[len(userCacheMagic)] != userCacheVersion:
		return nil, fmt.Errorf("unsupported user cache version %d (this gateway reads %d)", data[len(userCacheMagic)], userCacheVersion)
	case len(data) < len(header)+s.aead.NonceSize()+s.aead.Overhead():
		return nil, errUserCacheUndecryptable
	}
	nonce := data[len(header) : len(header)+s.aead.NonceSize()]
	plain, err := s.aead.Open(nil, nonce, data[len(header)+s.aead.NonceSize():], header)
	if err != nil {
		return nil, errUserCacheUndecryptable
	}
	return plain, nil
}

// tenants lists the tenants (as configured) the store holds a cache of,
// with their authority hosts.
func (s *userCacheStore) tenants(ctx context.Context) []userCacheTenant {
	var out []userCacheTenant
	if s.sharedBlobs != nil {
		out = s.sharedTenants(ctx)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := map[string]bool{}
	for _, t := range out {
		seen[strings.ToLower(t.Tenant)] = true
	}
	for _, t := range s.content.Tenants {
		if !seen[strings.ToLower(t.Tenant)] {
			out = append(out, userCacheTenant{Tenant: t.Tenant, AuthorityHost: t.AuthorityHost})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tenant < out[j].Tenant })
	return out
}

// forTenant is the MSAL cache accessor of one tenant.
func (s *userCacheStore) forTenant(tenant, authorityHost string) cache.ExportReplace {
	if s.sharedBlobs != nil {
		return &sharedTenantCache{tenantCache{store: s, tenant: tenant, authorityHost: authorityHost}}
	}
	return &tenantCache{store: s, tenant: tenant, authorityHost: authorityHost}
}

// tenantCache implements cache.ExportReplace for one tenant's MSAL client.
type tenantCache struct {
	store                 *userCacheStore
	tenant, authorityHost string
}

// Replace loads the tenant's cache into MSAL's; a tenant without one is
// left empty.
func (c *tenantCache) Replace(ctx context.Context, u cache.Unmarshaler, _ cache.ReplaceHints) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.store.mu.Lock()
	data := c.store.content.Tenants[strings.ToLower(c.tenant)].MSAL
	c.store.mu.Unlock()
	if len(data) == 0 {
		return nil
	}
	return u.Unmarshal(data)
}

// Export stores MSAL's cache for the tenant and persists the store. A
// failed write is logged and the cache kept in memory: sign-ins keep
// working and the next write tries again.
func (c *tenantCache) Export(ctx context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	data, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("serialize the token cache: %v", err)
	}
	s := c.store
	s.mu.Lock()
	defer s.mu.Unlock()
	s.content.Tenants[strings.ToLower(c.tenant)] = userCacheTenant{Tenant: c.tenant, AuthorityHost: c.authorityHost, MSAL: data}
	if s.path == "" {
		return nil
	}
	if err := s.writeLocked(); err != nil {
		s.logger.LogAttrs(ctx, slog.LevelError, "the user token cache could not be persisted; signed-in accounts are kept in memory only until a later write succeeds",
			slog.String("file", s.path), slog.String("error", err.Error()))
	}
	return nil
}

// writeLocked encrypts the store and replaces the file atomically: a
// temporary file of mode 0600 in the same directory, synced, then renamed.
func (s *userCacheStore) writeLocked() error {
	plain, err := json.Marshal(s.content)
	if err != nil {
		return fmt.Errorf("encode: %v", err)
	}
	sealed, err := s.seal(plain)
	clear(plain)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(s.path), "."+filepath.Base(s.path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("create temporary file: %w", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("chmod temporary file: %w", err)
	}
	if _, err := tmp.Write(sealed); err != nil {
		return fmt.Errorf("write temporary file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("sync temporary file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("close temporary file: %w", err)
	}
	if err := os.Rename(tmp.Name(), s.path); err != nil {
		return fmt.Errorf("rename into place: %w", err)
	}
	done = true
	return nil
}

// String names the file, never the key or the content.
func (s *userCacheStore) String() string { return "user token cache " + s.path }

// GoString is String.
func (s *userCacheStore) GoString() string { return s.String() }
