package tiles

import (
	"container/list"
	"sync"

	"github.com/haiduong/hub/policy"
)

// entry is a cached tile, raw and gzipped: compressed the first time a client asks for gzip,
// then served so many times.
type entry struct {
	key     string
	etag    string // from the key, i.e. the layers' data versions
	raw, gz []byte
	elem    *list.Element
	gzOnce  sync.Once

	countOnce sync.Once
	counts    map[string]int
	sum       string // the tile's SHA-256 for the access log, once computed
}

// size counts the gzipped copy before it exists (about half the tile), so that compressing
// later never pushes the cache past its bound.
func (e *entry) size() int { return len(e.raw) + max(len(e.gz), len(e.raw)/2) + len(e.key) + 64 }

// cache is an in-process LRU bounded in bytes. Keys carry the layers' data versions, so an
// import never has to find and drop stale tiles: they simply stop being asked for and age out.
type cache struct {
	mu     sync.Mutex
	max    int
	used   int
	items  map[string]*entry
	order  *list.List // front: most recently used
	hits   uint64
	misses uint64
}

func newCache(maxBytes int) *cache {
	return &cache{max: maxBytes, items: map[string]*entry{}, order: list.New()}
}

func (c *cache) get(key string) (*entry, bool) {
	if c == nil || c.max <= 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.items[key]
	if !ok {
		c.misses++
		return nil, false
	}
	c.hits++
	c.order.MoveToFront(e.elem)
	return e, true
}

func (c *cache) put(e *entry) {
	if c == nil || c.max <= 0 || e.size() > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.items[e.key]; ok {
		c.used -= old.size()
		c.order.Remove(old.elem)
	}
	e.elem = c.order.PushFront(e)
	c.items[e.key] = e
	c.used += e.size()
	for c.used > c.max {
		last := c.order.Back()
		victim := last.Value.(*entry)
		c.order.Remove(last)
		delete(c.items, victim.key)
		c.used -= victim.size()
	}
}

// purge empties the cache.
func (c *cache) purge() {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.items = map[string]*entry{}
	c.order.Init()
	c.used = 0
}

// stats reports entries, bytes used, hits and misses.
func (c *cache) stats() (entries, bytes int, hits, misses uint64) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items), c.used, c.hits, c.misses
}

// digest is the SHA-256 of the tile as built (the MVT, whichever encoding is sent: the same
// tile has the same digest gzipped or not), computed once per cached tile (a cached tile is logged on
// every request, and hashing 50 KB each time would cost more than serving it).
func (e *entry) digest() string {
	e.countOnce.Do(e.account)
	return e.sum
}

// account counts the tile's features and hashes it, for the access log.
func (e *entry) account() {
	e.counts = countFeatures(e.raw)
	e.sum = policy.Digest(e.raw)
}

// featureCounts is how many features each layer of the tile holds, by layer name, for the
// access log; counted once per cached tile.
func (e *entry) featureCounts() map[string]int {
	e.countOnce.Do(e.account)
	return e.counts
}
