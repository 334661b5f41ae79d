package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/shade-analytics/shade/collector/geo"
	"github.com/shade-analytics/shade/collector/useragent"
	"github.com/shade-analytics/shade/storage"
)

// Store is what the collector needs from storage besides writing events.
type Store interface {
	Sites(ctx context.Context) ([]storage.Site, error)
	Salt(ctx context.Context, t time.Time) ([]byte, error)
	DeleteExpiredSalts(ctx context.Context, now time.Time) (int, error)
	DeleteExpiredEvents(ctx context.Context, site storage.Site, now time.Time) error
}

// Config holds the collector's settings.
type Config struct {
	TrustedProxies []netip.Prefix // peers whose X-Forwarded-For / Forwarded is believed
	GeoIP          *geo.DB        // optional country database
	UACacheSize    int            // User-Agents parsed and kept; default 10000
	MaxSessions    int            // open visits kept in memory; default 500000
	SiteReload     time.Duration  // how often sites are reloaded; default 10s
	Maintenance    time.Duration  // salt rotation, session expiry and retention; default 1m
	// Now returns the current time; tests replace it. Default time.Now.
	Now func() time.Time
	// EphemeralSalts makes salts in memory for any day instead of sharing
	// them through storage. Only for generating past traffic (shade demo):
	// such salts are never written anywhere and die with the process.
	EphemeralSalts bool
	// Readiness, when set, adds the sink's state to /readyz: ok false makes
	// the collector unready, detail is shown either way.
	Readiness func() (ok bool, detail string)
}

// Validate fills defaults and checks the settings.
func (c *Config) Validate() error {
	if c.UACacheSize == 0 {
		c.UACacheSize = 10000
	}
	if c.MaxSessions == 0 {
		c.MaxSessions = 500000
	}
	if c.SiteReload == 0 {
		c.SiteReload = 10 * time.Second
	}
	if c.Maintenance == 0 {
		c.Maintenance = time.Minute
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.UACacheSize < 0 || c.MaxSessions < 0 || c.SiteReload < 0 || c.Maintenance < 0 {
		return errors.New("collector: sizes and intervals must not be negative")
	}
	return nil
}

// Collector turns tracking requests into stored events.
type Collector struct {
	cfg      Config
	log      *slog.Logger
	store    Store
	sink     Sink
	sites    *siteCache
	salts    keyring
	sessions *sessions
	ua       *useragent.Parser
	metrics  *metrics.Set
	ready    atomic.Bool
	stats    collectorStats

	ipStrings ipStrings
	languages languages
}

type collectorStats struct {
	accepted      *metrics.Counter
	badRequests   *metrics.Counter
	unavailable   *metrics.Counter
	untracked     *metrics.Counter
	maintenanceEr *metrics.Counter
}

// New builds a collector that hands events to sink and registers its metrics in set.
func New(logger *slog.Logger, set *metrics.Set, store Store, sink Sink, cfg Config) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c := &Collector{
		cfg: cfg, log: logger, store: store, sink: sink, metrics: set,
		sites:    &siteCache{lister: store, minReload: 100 * time.Millisecond},
		sessions: newSessions(cfg.MaxSessions, SessionTimeout),
		ua:       useragent.New(cfg.UACacheSize),
	}
	c.stats = collectorStats{
		accepted:      set.NewCounter("shade_events_accepted_total"),
		badRequests:   set.NewCounter("shade_requests_invalid_total"),
		unavailable:   set.NewCounter("shade_requests_unavailable_total"),
		untracked:     set.NewCounter("shade_sessions_untracked_total"),
		maintenanceEr: set.NewCounter("shade_maintenance_errors_total"),
	}
	for _, r := range dropReasons {
		set.NewCounter(dropMetric(r))
	}
	set.NewGauge("shade_sessions_open", func() float64 { return float64(c.sessions.len()) })
	return c, nil
}

// Start loads sites and salts; until it succeeds the collector is not ready
// and answers tracking requests with 503.
func (c *Collector) Start(ctx context.Context) error {
	if err := c.sites.load(ctx); err != nil {
		return fmt.Errorf("cannot load sites: %w", err)
	}
	if c.cfg.EphemeralSalts {
		c.salts.ephemeral = true
		c.ready.Store(true)
		return nil
	}
	if err := c.salts.refresh(ctx, c.store, c.cfg.Now()); err != nil {
		return err
	}
	c.ready.Store(true)
	return nil
}

// Ready reports whether the collector can accept events.
func (c *Collector) Ready() bool { return c.ready.Load() }

// Run does the periodic work until ctx ends: reloading sites, rotating and
// deleting salts, expiring idle visits and deleting events past retention.
func (c *Collector) Run(ctx context.Context) {
	sitesTick := time.NewTicker(c.cfg.SiteReload)
	defer sitesTick.Stop()
	maint := time.NewTicker(c.cfg.Maintenance)
	defer maint.Stop()
	lastRetention := time.Time{}
	c.maintain(ctx, &lastRetention)
	for {
		select {
		case <-ctx.Done():
			return
		case <-sitesTick.C:
			if err := c.sites.load(ctx); err != nil && ctx.Err() == nil {
				c.maintenanceError("cannot reload sites", err)
			}
		case <-maint.C:
			c.maintain(ctx, &lastRetention)
		}
	}
}

func (c *Collector) maintain(ctx context.Context, lastRetention *time.Time) {
	now := c.cfg.Now()
	if err := c.salts.refresh(ctx, c.store, now); err != nil {
		c.maintenanceError("cannot rotate salts", err)
	} else {
		c.ready.Store(true)
	}
	if _, err := c.store.DeleteExpiredSalts(ctx, now); err != nil {
		c.maintenanceError("cannot delete expired salts", err)
	}
	c.sessions.expire(now)
	if now.Sub(*lastRetention) < time.Hour {
		return
	}
	*lastRetention = now
	sites, err := c.store.Sites(ctx)
	if err != nil {
		c.maintenanceError("cannot list sites for retention", err)
		return
	}
	for _, s := range sites {
		if err := c.store.DeleteExpiredEvents(ctx, s, now); err != nil {
			c.maintenanceError("cannot apply retention", err)
		}
	}
}

func (c *Collector) maintenanceError(msg string, err error) {
	c.stats.maintenanceEr.Inc()
	if !errors.Is(err, context.Canceled) {
		c.log.Error(msg, "err", err)
	}
}

// Drop reasons, sent in the Shade-Dropped header and counted by metric.
const (
	DropDNT      = "dnt"
	DropGPC      = "gpc"
	DropOptOut   = "optout"
	DropBot      = "bot"
	DropPrefetch = "prefetch"
	DropExcluded = "excluded"
)

var dropReasons = []string{DropDNT, DropGPC, DropOptOut, DropBot, DropPrefetch, DropExcluded}

func dropMetric(reason string) string {
	return `shade_events_dropped_total{reason="` + reason + `"}`
}
