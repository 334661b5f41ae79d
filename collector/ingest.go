package collector

import (
	"net/netip"
	"time"
)

// Request describes where a hit came from, for callers that feed hits
// without HTTP (the demo generator and the importers).
type Request struct {
	IP        netip.Addr
	UserAgent string
	Language  string // Accept-Language
	Time      time.Time
	DNT, GPC  bool
}

// Ingest runs a hit through the same gates, enrichment, anonymisation and
// sessions as an HTTP request and appends the result to the sink. It returns
// the drop reason, if any.
func (c *Collector) Ingest(h *Hit, req Request) (string, error) {
	r := request{ip: req.IP.Unmap(), ua: []byte(req.UserAgent), dnt: req.DNT, gpc: req.GPC,
		acceptLang: []byte(req.Language), now: req.Time}
	drop, _, err := c.keep(h, &r)
	return drop, err
}

// ExpireSessions forgets visits idle at now; the demo generator, which moves
// through time faster than the clock, calls it as it goes.
func (c *Collector) ExpireSessions(now time.Time) { c.sessions.expire(now) }
