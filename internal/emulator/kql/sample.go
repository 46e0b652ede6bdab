package kql

import (
	"cmp"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"slices"
	"time"
)

// sampleWindow is how far back from now sample timestamps reach.
const sampleWindow = 30 * 24 * time.Hour

// NewSampleDatabase builds the emulator's sample tables. The data is a pure
// function of (tenantID, now): the same inputs always give the same rows,
// and different tenants get different rows. Timestamps fall in the 30 days
// before now, and ago()/now() in queries are evaluated relative to now.
func NewSampleDatabase(tenantID string, now time.Time) *Database {
	now = now.UTC()
	g := newGenerator(tenantID, now)
	devices := g.devices()
	db := &Database{now: now, maxRows: MaxResultRows, tables: map[string]*table{
		TableDeviceProcessEvents: {columns: deviceProcessEventsColumns, rows: g.processEvents(devices)},
		TableDeviceNetworkEvents: {columns: deviceNetworkEventsColumns, rows: g.networkEvents(devices)},
		TableAlertInfo:           {columns: alertInfoColumns, rows: g.alerts()},
		TableEmailEvents:         {columns: emailEventsColumns, rows: g.emails()},
		TableDeviceEvents:        deviceEventsTable(tenantID, now, devices),
	}}
	return db
}

// generator produces deterministic pseudo-random sample values.
type generator struct {
	rng *rand.Rand
	now time.Time
}

func newGenerator(tenantID string, now time.Time) *generator {
	h := fnv.New64a()
	h.Write([]byte(tenantID))
	seed := h.Sum64()
	return &generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), now: now}
}

// timestamp returns a time within the sample window, at millisecond
// precision.
func (g *generator) timestamp() time.Time {
	back := time.Duration(g.rng.Int64N(int64(sampleWindow)))
	return g.now.Add(-back).Truncate(time.Millisecond)
}

// count returns a row count in [lo, hi).
func (g *generator) count(lo, hi int) int { return lo + g.rng.IntN(hi-lo) }

// chance reports true with probability p.
func (g *generator) chance(p float64) bool { return g.rng.Float64() < p }

func (g *generator) hex(nBytes int) string {
	b := make([]byte, nBytes)
	for i := range b {
		b[i] = byte(g.rng.UintN(256))
	}
	return hex.EncodeToString(b)
}

func (g *generator) guid() string {
	h := g.hex(16)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[0:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

// pick returns a uniformly chosen element of items.
func pick[T any](g *generator, items []T) T { return items[g.rng.IntN(len(items))] }

// weighted is an item with a relative selection weight.
type weighted[T any] struct {
	weight int
	item   T
}

// pickWeighted chooses an item with probability proportional to its weight.
func pickWeighted[T any](g *generator, items []weighted[T]) T {
	total := 0
	for _, it := range items {
		total += it.weight
	}
	n := g.rng.IntN(total)
	for _, it := range items {
		if n < it.weight {
			return it.item
		}
		n -= it.weight
	}
	return items[len(items)-1].item
}

// sortByTimestamp orders rows chronologically; column 0 is Timestamp in
// every sample table.
func sortByTimestamp(rows [][]any) [][]any {
	slices.SortStableFunc(rows, func(a, b []any) int {
		return cmp.Compare(a[0].(time.Time).UnixNano(), b[0].(time.Time).UnixNano())
	})
	return rows
}
