package governor

import (
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/simplelru"
)

// cache is the read cache: bounded LRU, an expiry per entry. Entries are
// private copies; callers copy what they get.
//
// Each tenant has a generation, bumped by every invalidation: a read
// stores its result only when the generation it saw before calling
// upstream is still current, so a read that raced a write never stores
// what the write made stale.
type cache struct {
	now func() time.Time

	mu   sync.Mutex
	lru  *simplelru.LRU[string, entry]
	gens map[string]uint64 // by tenant prefix
}

type entry struct {
	val     any
	expires time.Time
}

func newCache(maxEntries int, now func() time.Time) (*cache, error) {
	l, err := simplelru.NewLRU[string, entry](maxEntries, nil)
	if err != nil {
		return nil, err
	}
	return &cache{now: now, lru: l, gens: map[string]uint64{}}, nil
}

// get returns key's value unless it has expired.
func (c *cache) get(key string) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.lru.Get(key)
	if !ok {
		return nil, false
	}
	if !c.now().Before(e.expires) {
		c.lru.Remove(key)
		return nil, false
	}
	return e.val, true
}

// generation is tenant's current generation.
func (c *cache) generation(tenant string) uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.gens[tenantPrefix(tenant)]
}

// put stores val under key for ttl, unless tenant was invalidated since gen.
func (c *cache) put(key, tenant string, gen uint64, val any, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gens[tenantPrefix(tenant)] != gen {
		return
	}
	c.lru.Add(key, entry{val: val, expires: c.now().Add(ttl)})
}

// invalidate drops, in every auth context and identity of tenant, the gets
// of incident id and every listing. Hunting results stay until their TTL.
func (c *cache) invalidate(tenant, id string) {
	tp := tenantPrefix(tenant)
	stem := sep + "get" + sep + strconv.Quote(id) + sep
	list := sep + "list" + sep
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gens[tp]++
	for _, k := range c.lru.Keys() {
		if strings.HasPrefix(k, tp) && (strings.Contains(k, stem) || strings.Contains(k, list)) {
			c.lru.Remove(k)
		}
	}
}

// len is the number of entries (tests).
func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.lru.Len()
}
