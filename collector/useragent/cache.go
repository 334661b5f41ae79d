package useragent

import "sync"

// maxCachedLen keeps oversized headers out of the cache: they are almost
// always junk or attacks, and caching them would let one client turn the
// bounded entry count into unbounded bytes.
const maxCachedLen = 512

// Parser parses User-Agents through a bounded cache; it is safe for
// concurrent use.
//
// The cache has two generations: lookups check current then previous, and
// when current fills up it becomes previous and the old previous is dropped.
// That evicts in bulk without per-entry bookkeeping, keeps memory at most
// cacheSize entries, and lets hits run as plain map reads that, keyed by
// string(b), do not allocate.
type Parser struct {
	mu       sync.RWMutex
	current  map[string]Info
	previous map[string]Info
	genSize  int // entries per generation; two generations make cacheSize
}

// New returns a Parser that caches at most cacheSize entries (0 or less
// disables caching).
func New(cacheSize int) *Parser {
	gen := cacheSize / 2
	if cacheSize > 0 && gen == 0 {
		gen = 1
	}
	return &Parser{
		current:  make(map[string]Info, gen),
		previous: map[string]Info{},
		genSize:  gen,
	}
}

// Parse returns what Shade keeps of ua; the result for the same bytes is
// cached, and ua is not retained unless it is copied into the cache.
func (p *Parser) Parse(ua []byte) Info {
	if p.genSize == 0 || len(ua) > maxCachedLen {
		return parse(ua)
	}
	p.mu.RLock()
	info, ok := p.current[string(ua)]
	inPrevious := false
	if !ok {
		info, inPrevious = p.previous[string(ua)]
	}
	p.mu.RUnlock()
	if ok {
		return info
	}
	if !inPrevious {
		info = parse(ua)
	}
	// Entries found only in previous are promoted so that hot User-Agents
	// survive rotations instead of being reparsed every other generation.
	p.mu.Lock()
	if _, ok := p.current[string(ua)]; !ok {
		if len(p.current) >= p.genSize {
			p.previous = p.current
			p.current = make(map[string]Info, p.genSize)
		}
		p.current[string(ua)] = info
	}
	p.mu.Unlock()
	return info
}
