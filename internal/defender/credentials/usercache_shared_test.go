package credentials

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/defender-gateway/gateway/internal/emulator"
	"github.com/defender-gateway/gateway/internal/emulator/identity"
	"github.com/defender-gateway/gateway/internal/sharedstate"
	"github.com/defender-gateway/gateway/internal/testredis"
)

func sharedBlobs(t *testing.T, srv *testredis.Server) (*sharedstate.Blobs, *redis.Client) {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: srv.Addr()})
	t.Cleanup(func() { c.Close() })
	return sharedstate.NewBlobs(c, "test:signins:"), c
}

func TestSharedUserCacheConcurrentWritersKeepBothAccounts(t *testing.T) {
	srv := testredis.Start(t)
	key := testKey(9)
	const writers = 6
	stores := make([]*userCacheStore, writers)
	for i := range stores {
		s, err := openUserCacheStore("", nil, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatal(err)
		}
		blobs, _ := sharedBlobs(t, srv)
		if err := s.useShared(blobs, key); err != nil {
			t.Fatal(err)
		}
		stores[i] = s
	}
	// Every writer exports a cache with its own account and refresh token,
	// all at once, several times: every entry must survive.
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for round := range 5 {
				data := fmt.Sprintf(`{"Account":{"acct-%d":{"n":%d}},"RefreshToken":{"rt-%d":{"n":%d}}}`, i, round, i, round)
				if err := s.forTenant("Contoso.example", "https://login.example").Export(context.Background(), &fakeMSALCache{[]byte(data)}, cacheExportHints); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	var got fakeMSALCache
	if err := stores[0].forTenant("contoso.example", "https://login.example").Replace(context.Background(), &got, cacheReplaceHints); err != nil {
		t.Fatal(err)
	}
	var merged map[string]map[string]struct{ N int }
	if err := json.Unmarshal(got.data, &merged); err != nil {
		t.Fatalf("merged cache %q: %v", got.data, err)
	}
	for i := range writers {
		if a, ok := merged["Account"][fmt.Sprintf("acct-%d", i)]; !ok || a.N != 4 {
			t.Errorf("account of writer %d = %+v, %v; want its last round (4)", i, a, ok)
		}
		if _, ok := merged["RefreshToken"][fmt.Sprintf("rt-%d", i)]; !ok {
			t.Errorf("refresh token of writer %d lost", i)
		}
	}
	if ts := stores[writers-1].tenants(context.Background()); len(ts) != 1 || ts[0].Tenant != "Contoso.example" || ts[0].AuthorityHost != "https://login.example" {
		t.Errorf("tenants = %+v", ts)
	}
	// Another key cannot read it.
	other, _ := openUserCacheStore("", nil, slog.New(slog.DiscardHandler))
	blobs, _ := sharedBlobs(t, srv)
	_ = other.useShared(blobs, testKey(8))
	if _, _, _, err := other.loadShared(context.Background(), "contoso.example"); err == nil {
		t.Error("a store with another key read the shared cache")
	}
}

func TestMergeMSALCaches(t *testing.T) {
	tests := []struct {
		name, theirs, ours, want string
	}{
		{"disjoint", `{"Account":{"a":1}}`, `{"Account":{"b":2}}`, `{"Account":{"a":1,"b":2}}`},
		{"ours wins", `{"Account":{"a":1}}`, `{"Account":{"a":2}}`, `{"Account":{"a":2}}`},
		{"new section", `{"Account":{"a":1}}`, `{"IdToken":{"i":3}}`, `{"Account":{"a":1},"IdToken":{"i":3}}`},
		{"scalar is ours", `{"v":1,"Account":{}}`, `{"v":2}`, `{"Account":{},"v":2}`},
	}
	for _, tt := range tests {
		got, err := mergeMSALCaches([]byte(tt.theirs), []byte(tt.ours))
		if err != nil || string(got) != tt.want {
			t.Errorf("%s: merge = %s, %v; want %s", tt.name, got, err, tt.want)
		}
	}
	if _, err := mergeMSALCaches([]byte("x"), []byte("{}")); err == nil {
		t.Error("merging into garbage succeeded")
	}
}

// Two replicas share sign-ins through one Redis: each signs in a user, at
// the same time, and each then serves both.
func TestDeviceLoginsSharedThroughRedis(t *testing.T) {
	e, err := emulator.Start(emulator.Options{TokenLifetime: 4 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	srv := testredis.Start(t)
	key := testKey(5)
	replica := func() *DeviceLogins {
		blobs, _ := sharedBlobs(t, srv)
		return newDeviceLogins(t, e, func(o *DeviceLoginsOptions) { o.SharedCache, o.SharedCacheKey = blobs, key })
	}
	a, b := replica(), replica()
	lt := xdrLoginTenant(e)
	la, lb := startLogin(t, a, lt), startLogin(t, b, lt)
	if err := e.Entra().ApproveDeviceCode(la.UserCode, identity.AliceUPN); err != nil {
		t.Fatal(err)
	}
	if err := e.Entra().ApproveDeviceCode(lb.UserCode, identity.BobUPN); err != nil {
		t.Fatal(err)
	}
	if got := waitForState(t, a, lt.Tenant, la.ID); got.State != DeviceLoginCompleted {
		t.Fatalf("login on a = %+v", got)
	}
	if got := waitForState(t, b, lt.Tenant, lb.ID); got.State != DeviceLoginCompleted {
		t.Fatalf("login on b = %+v", got)
	}
	ctx := context.Background()
	// A third replica started afterwards knows the tenant from Redis alone.
	c := replica()
	for name, d := range map[string]*DeviceLogins{"a": a, "b": b, "c": c} {
		if !d.HasAccount(ctx, lt.Tenant, identity.AliceUPN) || !d.HasAccount(ctx, lt.Tenant, identity.BobUPN) {
			t.Errorf("replica %s: Accounts = %+v; want alice and bob", name, d.Accounts(ctx))
		}
	}
	token, err := c.TokenSource(lt).Token(accountContext(identity.AliceUPN))
	if err != nil {
		t.Fatalf("replica c: Token for alice: %v", err)
	}
	if cl, err := e.Entra().Verify(token); err != nil || cl.UPN != identity.AliceUPN {
		t.Errorf("claims %+v, err %v", cl, err)
	}
	// Nothing readable in Redis.
	_, rc := sharedBlobs(t, srv)
	keys, _ := rc.Keys(ctx, "*").Result()
	for _, k := range keys {
		if rc.Type(ctx, k).Val() != "hash" {
			continue
		}
		raw := strings.ToLower(rc.HGet(ctx, k, "d").Val())
		for _, plain := range []string{"refresh", strings.ToLower(identity.AliceUPN), "emulator"} {
			if strings.Contains(raw, plain) {
				t.Errorf("redis key %s holds %q in plaintext", k, plain)
			}
		}
	}
}
