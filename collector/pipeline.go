package collector

import (
	"errors"
	"fmt"
	"github.com/valyala/fasthttp"
	"net/netip"
	"strings"
	"time"

	"github.com/shade-analytics/shade/collector/referrer"
	"github.com/shade-analytics/shade/storage"
)

// Errors of processing, mapped to HTTP statuses by statusOf.
var (
	errUnknownSite = errors.New("unknown site")
	errNotReady    = errors.New("collector not ready: salts not loaded from ClickHouse yet")
)

// request is what the pipeline reads from the HTTP request besides the hit.
// The User-Agent and IP live only here, for the duration of the request.
type request struct {
	ip         netip.Addr
	ua         []byte
	dnt, gpc   bool
	optOut     bool
	prefetch   bool
	acceptLang []byte
	now        time.Time
}

// process runs a hit through the privacy gates, enrichment and
// anonymisation. It returns the stored event and the session rows it causes,
// or the reason the event is dropped, or an error for bad input.
func (c *Collector) process(h *Hit, r *request, sess []storage.Session) (storage.Event, []storage.Session, string, error) {
	var ev storage.Event
	site := c.sites.lookup(h.Domain, h.MatomoSiteID)
	if site == nil {
		if h.MatomoSiteID != 0 {
			return ev, sess, "", fmt.Errorf("%w: no site has Matomo id %d", errUnknownSite, h.MatomoSiteID)
		}
		return ev, sess, "", fmt.Errorf("%w %q: add it with `shade site add`", errUnknownSite, h.Domain)
	}
	// Malformed input is an error even when a gate would drop the event:
	// the sender needs to know its requests are broken.
	page, err := referrer.ParsePage(h.URL, site.KeepParams, h.Hash)
	if err != nil {
		return ev, sess, "", fmt.Errorf("invalid page URL: %w", err)
	}
	switch {
	case r.optOut:
		return ev, sess, DropOptOut, nil
	case r.dnt && site.HonorDNT:
		return ev, sess, DropDNT, nil
	case r.gpc && site.HonorGPC:
		return ev, sess, DropGPC, nil
	case r.prefetch:
		return ev, sess, DropPrefetch, nil
	case trusted(r.ip, site.excluded):
		return ev, sess, DropExcluded, nil
	}
	ua := c.ua.Parse(r.ua)
	if ua.Bot {
		return ev, sess, DropBot, nil
	}
	for _, p := range site.ExcludedPaths {
		if p != "" && strings.HasPrefix(page.Path, p) {
			return ev, sess, DropExcluded, nil
		}
	}
	key, ok := c.salts.key(r.now)
	if !ok {
		return ev, sess, "", errNotReady
	}
	ref := referrer.Classify(h.Referrer, page.Host, page.UTM)
	ev = storage.Event{
		SiteID:         site.ID,
		Timestamp:      r.now.UTC().Truncate(time.Second),
		Name:           h.Name,
		VisitorID:      visitorID(key, site.ID, r.ip, r.ua),
		Hostname:       page.Host,
		Pathname:       page.Path,
		Title:          h.Title,
		ReferrerHost:   ref.Host,
		ReferrerPath:   ref.Path,
		ReferrerSource: ref.Source,
		Channel:        ref.Channel,
		UTMSource:      page.UTM.Source,
		UTMMedium:      page.UTM.Medium,
		UTMCampaign:    page.UTM.Campaign,
		UTMContent:     page.UTM.Content,
		UTMTerm:        page.UTM.Term,
		Country:        c.cfg.GeoIP.Country(r.ip),
		Browser:        ua.Browser,
		BrowserVersion: ua.BrowserVersion,
		OS:             ua.OS,
		OSVersion:      ua.OSVersion,
		Device:         ua.Device,
		Screen:         screenClass(h.Width),
		Language:       c.language(h.Language, r.acceptLang),
		IP:             c.ipStrings.get(TruncateIP(r.ip, site.IPTruncation)),
		PropKeys:       h.PropKeys,
		PropValues:     h.PropValues,
		EngagementMS:   h.EngagementMS,
		ScrollDepth:    h.ScrollDepth,
	}
	var previous func() uint64
	if prevKey, ok := c.salts.key(r.now.Add(-24 * time.Hour)); ok {
		previous = func() uint64 { return visitorID(prevKey, site.ID, r.ip, r.ua) }
	}
	sess, tracked := c.sessions.track(&ev, previous, sess)
	if !tracked {
		c.stats.untracked.Inc()
	}
	return ev, sess, "", nil
}

// screenClass buckets the viewport width like the common CSS breakpoints.
func screenClass(width int) string {
	switch {
	case width <= 0:
		return ""
	case width < 576:
		return "Mobile"
	case width < 992:
		return "Tablet"
	case width < 1440:
		return "Laptop"
	default:
		return "Desktop"
	}
}

func (c *Collector) language(fromHit string, acceptLang []byte) string {
	if fromHit != "" {
		return language(fromHit, nil)
	}
	return c.languages.get(acceptLang)
}

// language returns the visitor's preferred language tag, from the hit or the
// first entry of Accept-Language, normalised to "xx" or "xx-YY".
func language(fromHit string, acceptLang []byte) string {
	tag := fromHit
	if tag == "" {
		s := string(acceptLang)
		if i := strings.IndexAny(s, ",;"); i >= 0 {
			s = s[:i]
		}
		tag = s
	}
	tag = strings.TrimSpace(strings.ReplaceAll(tag, "_", "-"))
	if tag == "" || tag == "*" || len(tag) > maxLanguageLen {
		return ""
	}
	base, region, hasRegion := strings.Cut(tag, "-")
	if len(base) < 2 || len(base) > 3 || !isLetters(base) {
		return ""
	}
	base = strings.ToLower(base)
	if hasRegion && len(region) == 2 && isLetters(region) {
		return base + "-" + strings.ToUpper(region)
	}
	return base
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i] | 0x20; c < 'a' || c > 'z' {
			return false
		}
	}
	return true
}

// keep runs a hit through the pipeline into the sink without writing a
// reply: it returns the drop reason, or the error and the status to answer
// it with. HTTP requests (single and bulk) and Ingest all go through it.
func (c *Collector) keep(h *Hit, r *request) (drop string, status int, err error) {
	var buf [2]storage.Session
	ev, sess, drop, err := c.process(h, r, buf[:0])
	switch {
	case err != nil:
		return "", statusOf(err), err
	case drop != "":
		c.metrics.GetOrCreateCounter(dropMetric(drop)).Inc()
		return drop, 0, nil
	}
	if err := c.sink.Append(&ev, sess); err != nil {
		return "", fasthttp.StatusServiceUnavailable, err
	}
	c.stats.accepted.Inc()
	return "", 0, nil
}
