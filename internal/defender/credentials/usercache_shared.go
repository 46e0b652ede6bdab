package credentials

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/cache"

	"github.com/defender-gateway/gateway/internal/sharedstate"
)

// sharedExportAttempts bounds the compare-and-swap retries of one Export;
// between two, a writer that lost the race waits a random while of up to
// sharedExportBackoff times the attempt, so that writers racing for one
// tenant's cache spread out instead of colliding again.
const (
	sharedExportAttempts = 16
	sharedExportBackoff  = 2 * time.Millisecond
)

// useShared makes s keep every tenant's MSAL cache in blobs as well as in
// memory, each sealed with key exactly like the cache file (AES-256-GCM,
// a fresh nonce per write), so that every replica sharing the Redis serves
// the accounts any of them signed in.
func (s *userCacheStore) useShared(blobs *sharedstate.Blobs, key []byte) error {
	if len(key) != UserCacheKeySize {
		return fmt.Errorf("the shared cache key must be %d bytes (AES-256), not %d", UserCacheKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return fmt.Errorf("shared cache key: %v", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return fmt.Errorf("shared cache key: %v", err)
	}
	s.sharedBlobs, s.sharedAEAD = blobs, aead
	return nil
}

// sealer is s with the shared key, for seal and open.
func (s *userCacheStore) sealer() *userCacheStore { return &userCacheStore{aead: s.sharedAEAD} }

// loadShared reads and decrypts tenant's entry; ok false when none.
func (s *userCacheStore) loadShared(ctx context.Context, tenant string) (entry userCacheTenant, version int64, ok bool, err error) {
	data, version, err := s.sharedBlobs.Load(ctx, strings.ToLower(tenant))
	if err != nil || version == 0 {
		return entry, version, false, err
	}
	plain, err := s.sealer().open(data)
	if err != nil {
		return entry, 0, false, fmt.Errorf("shared user cache of %s: %w", tenant, err)
	}
	err = json.Unmarshal(plain, &entry)
	clear(plain)
	if err != nil || !strings.EqualFold(entry.Tenant, tenant) {
		return userCacheTenant{}, 0, false, fmt.Errorf("shared user cache of %s: the decrypted content is not valid", tenant)
	}
	return entry, version, true, nil
}

// sharedTenants lists the tenants held in Redis (as configured, with
// their authority hosts); failures are logged and skipped.
func (s *userCacheStore) sharedTenants(ctx context.Context) []userCacheTenant {
	names, err := s.sharedBlobs.Names(ctx)
	if err != nil {
		s.logger.LogAttrs(ctx, slog.LevelWarn, "the shared sign-ins cannot be listed; using this replica's", slog.String("error", err.Error()))
		return nil
	}
	out := make([]userCacheTenant, 0, len(names))
	for _, n := range names {
		e, _, ok, err := s.loadShared(ctx, n)
		if err != nil {
			s.logger.LogAttrs(ctx, slog.LevelWarn, "a shared sign-in cache cannot be read", slog.String("tenant", n), slog.String("error", err.Error()))
			continue
		}
		if ok {
			out = append(out, userCacheTenant{Tenant: e.Tenant, AuthorityHost: e.AuthorityHost})
		}
	}
	return out
}

// sharedTenantCache is tenantCache over Redis: Replace reads the shared
// cache (the local copy when Redis fails), Export merges into it with
// compare-and-swap.
type sharedTenantCache struct{ tenantCache }

// Replace loads the tenant's shared cache into MSAL's.
func (c *sharedTenantCache) Replace(ctx context.Context, u cache.Unmarshaler, hints cache.ReplaceHints) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := c.store
	e, _, ok, err := s.loadShared(ctx, c.tenant)
	if err != nil {
		s.logger.LogAttrs(ctx, slog.LevelWarn, "the shared sign-ins cannot be read; using this replica's copy",
			slog.String("tenant", c.tenant), slog.String("error", err.Error()))
		return c.tenantCache.Replace(ctx, u, hints)
	}
	if !ok {
		return c.tenantCache.Replace(ctx, u, hints)
	}
	s.mu.Lock()
	s.content.Tenants[strings.ToLower(c.tenant)] = e
	s.mu.Unlock()
	return u.Unmarshal(e.MSAL)
}

// Export merges MSAL's cache into the shared one: it reads the stored
// version, adds this replica's entries to it (this replica's win for the
// same entry) and stores the result only if no other replica wrote in
// between, else reads again. Entries are never removed by a merge (the
// gateway removes no accounts). A Redis failure is logged and the cache
// kept in memory, like a failed file write.
func (c *sharedTenantCache) Export(ctx context.Context, m cache.Marshaler, _ cache.ExportHints) error {
	data, err := m.Marshal()
	if err != nil {
		return fmt.Errorf("serialize the token cache: %v", err)
	}
	s := c.store
	lower := strings.ToLower(c.tenant)
	s.mu.Lock()
	s.content.Tenants[lower] = userCacheTenant{Tenant: c.tenant, AuthorityHost: c.authorityHost, MSAL: data}
	s.mu.Unlock()
	for attempt := range sharedExportAttempts {
		if attempt > 0 && !pause(ctx, time.Duration(rand.Int64N(int64(sharedExportBackoff)*int64(attempt)))) {
			break
		}
		cur, version, ok, err := s.loadShared(ctx, c.tenant)
		if err != nil {
			break
		}
		merged := data
		if ok {
			if merged, err = mergeMSALCaches(cur.MSAL, data); err != nil {
				break
			}
		}
		plain, err := json.Marshal(userCacheTenant{Tenant: c.tenant, AuthorityHost: c.authorityHost, MSAL: merged})
		if err != nil {
			return fmt.Errorf("encode: %v", err)
		}
		sealed, err := s.sealer().seal(plain)
		clear(plain)
		if err != nil {
			return err
		}
		_, err = s.sharedBlobs.CompareAndSwap(ctx, lower, version, sealed)
		if err == nil {
			return nil
		}
		if !errors.Is(err, sharedstate.ErrConflict) {
			break
		}
	}
	s.logger.LogAttrs(ctx, slog.LevelError, "the signed-in accounts could not be shared through redis; this replica keeps them in memory until a later write succeeds",
		slog.String("tenant", c.tenant))
	return nil
}

// pause waits d, and reports false when ctx ends first.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// mergeMSALCaches adds ours to theirs: MSAL's serialized cache is a JSON
// object of sections (AccessToken, RefreshToken, IdToken, Account,
// AppMetadata), each an object of entries by cache key. Entries of both
// are kept, ours replacing theirs under the same key; a value that is not
// an object is ours.
func mergeMSALCaches(theirs, ours []byte) ([]byte, error) {
	var t, o map[string]json.RawMessage
	if err := json.Unmarshal(theirs, &t); err != nil {
		return nil, errors.New("the shared token cache is not a JSON object")
	}
	if err := json.Unmarshal(ours, &o); err != nil {
		return nil, errors.New("the token cache is not a JSON object")
	}
	if t == nil {
		t = map[string]json.RawMessage{}
	}
	for section, ov := range o {
		var oe, te map[string]json.RawMessage
		if json.Unmarshal(ov, &oe) != nil || json.Unmarshal(t[section], &te) != nil || te == nil || oe == nil {
			t[section] = ov
			continue
		}
		for k, v := range oe {
			te[k] = v
		}
		merged, err := json.Marshal(te)
		if err != nil {
			return nil, err
		}
		t[section] = merged
	}
	return json.Marshal(t)
}
