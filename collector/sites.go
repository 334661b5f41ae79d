package collector

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/shade-analytics/shade/storage"
)

// siteInfo is a site with its settings parsed for the hot path.
type siteInfo struct {
	storage.Site
	excluded []netip.Prefix
}

// siteCache keeps the sites in memory. It reloads them on a schedule and, at
// most once per second, when a request names a site it does not know, so a
// site added from the command line works at once.
type siteCache struct {
	mu       sync.RWMutex
	byDomain map[string]*siteInfo
	byMatomo map[uint32]*siteInfo
	lastLoad time.Time
	loadMu   sync.Mutex
	lister   interface {
		Sites(context.Context) ([]storage.Site, error)
	}
	minReload time.Duration
}

func (c *siteCache) load(ctx context.Context) error {
	c.loadMu.Lock()
	defer c.loadMu.Unlock()
	sites, err := c.lister.Sites(ctx)
	if err != nil {
		return err
	}
	byDomain := make(map[string]*siteInfo, len(sites))
	byMatomo := map[uint32]*siteInfo{}
	for _, s := range sites {
		info := &siteInfo{Site: s}
		for _, e := range s.ExcludedIPs {
			if p, err := ParseTrustedProxies(e); err == nil {
				info.excluded = append(info.excluded, p...)
			}
		}
		byDomain[s.Domain] = info
		if s.MatomoID != 0 {
			byMatomo[s.MatomoID] = info
		}
	}
	c.mu.Lock()
	c.byDomain, c.byMatomo, c.lastLoad = byDomain, byMatomo, time.Now()
	c.mu.Unlock()
	return nil
}

// byName finds a site by the domain a tracker sent, with or without "www.".
func (c *siteCache) byName(domain string) *siteInfo {
	d := strings.ToLower(domain)
	c.mu.RLock()
	s := c.byDomain[d]
	if s == nil {
		s = c.byDomain[strings.TrimPrefix(d, "www.")]
	}
	c.mu.RUnlock()
	return s
}

func (c *siteCache) byMatomoID(id uint32) *siteInfo {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.byMatomo[id]
}

// lookup finds a site, reloading once when it is unknown and the cache has
// not been reloaded in the last minReload.
func (c *siteCache) lookup(domain string, matomoID uint32) *siteInfo {
	find := func() *siteInfo {
		if matomoID != 0 {
			return c.byMatomoID(matomoID)
		}
		return c.byName(domain)
	}
	if s := find(); s != nil {
		return s
	}
	c.mu.RLock()
	stale := time.Since(c.lastLoad) > c.minReload
	c.mu.RUnlock()
	if !stale {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := c.load(ctx); err != nil {
		return nil
	}
	return find()
}
