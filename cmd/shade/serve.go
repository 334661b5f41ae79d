package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/shade-analytics/shade/collector"
	"github.com/shade-analytics/shade/collector/geo"
	"github.com/shade-analytics/shade/collector/spool"
	"github.com/shade-analytics/shade/dashboard"
	"github.com/shade-analytics/shade/storage"
)

// serveFlags are the flags of shade serve.
type serveFlags struct {
	db             dbFlags
	listen         string
	trustedProxies string
	geoip          string
	batchRows      int
	flushInterval  time.Duration
	maxSessions    int
	publicURL      string
	secureCookies  bool
	demo           bool
	shutdown       time.Duration
	ack            string
	spoolMaxBytes  int64
	commitWindow   time.Duration
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	f.db.register(fs)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address for the collector and dashboard")
	fs.StringVar(&f.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs whose X-Forwarded-For/Forwarded headers are believed")
	fs.StringVar(&f.geoip, "geoip", "", "GeoLite2 / DB-IP Lite Country or City .mmdb file for visitor countries")
	fs.IntVar(&f.batchRows, "batch-rows", 20000, "ship at most this many events in one batch")
	fs.DurationVar(&f.flushInterval, "flush-interval", time.Second, "wait this long between inserts for a batch to fill up")
	fs.IntVar(&f.maxSessions, "max-sessions", 500000, "open visits kept in memory at most")
	fs.StringVar(&f.publicURL, "public-url", "", "public base URL of this server, for snippet and embed codes (default http://LISTEN)")
	fs.BoolVar(&f.secureCookies, "secure-cookies", false, "mark dashboard cookies Secure (set when served over HTTPS)")
	fs.BoolVar(&f.demo, "demo", false, "create a demo site with 30 days of synthetic traffic and print an admin sign-in")
	fs.DurationVar(&f.shutdown, "shutdown-timeout", 20*time.Second, "how long shutdown may take to ship spooled events")
	fs.StringVar(&f.ack, "ack", "durable", "durable: answer 202 after the event is fsynced to the spool; memory: after it is queued for writing")
	fs.DurationVar(&f.commitWindow, "commit-window", 0, "extra wait before each spool write so more events share one fsync (0: a group is whatever arrived during the previous fsync)")
	fs.Int64Var(&f.spoolMaxBytes, "spool-max-bytes", 0, "cap on spooled, unshipped bytes before 503s (0: a quarter of the free disk, at least 64 MiB)")
}

func serve(ctx context.Context, logger *slog.Logger, args []string, stdout io.Writer) error {
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	f.register(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	if f.ack != "durable" && f.ack != "memory" {
		return fmt.Errorf("invalid --ack %q: use durable or memory", f.ack)
	}
	proxies, err := collector.ParseTrustedProxies(f.trustedProxies)
	if err != nil {
		return err
	}
	if f.publicURL == "" {
		f.publicURL = "http://" + f.listen
	}
	var geoDB *geo.DB
	if f.geoip != "" {
		if geoDB, err = geo.Open(f.geoip); err != nil {
			return err
		}
		defer geoDB.Close()
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w", f.listen, err)
	}
	defer ln.Close()

	st, closeDB, err := f.db.open(ctx, logger)
	if err != nil {
		return err
	}
	defer closeDB()

	set := metrics.NewSet()
	sp, err := spool.Open(logger, set, spool.Config{
		Dir: filepath.Join(f.db.dataDir, "spool"), Durable: f.ack == "durable", MaxBytes: f.spoolMaxBytes,
		CommitWindow: f.commitWindow,
	})
	if err != nil {
		return err
	}
	shipper := collector.NewShipper(logger, set, sp, st, collector.ShipperConfig{
		MaxRecords: f.batchRows, MaxWait: f.flushInterval,
	})
	shipper.Start()
	sink := collector.NewSpoolSink(sp)
	col, err := collector.New(logger, set, st, sink, collector.Config{
		TrustedProxies: proxies, GeoIP: geoDB, MaxSessions: f.maxSessions,
		Readiness: func() (bool, string) {
			ch := "up"
			if !shipper.Healthy() {
				ch = "down (events are kept in the spool)"
			}
			return true, fmt.Sprintf("clickhouse %s, spool %d bytes", ch, sp.Bytes())
		},
	})
	if err != nil {
		return err
	}
	if err := col.Start(ctx); err != nil {
		return err
	}
	dash, err := dashboard.New(logger, st, dashboard.Config{Secure: f.secureCookies, CollectorURL: f.publicURL})
	if err != nil {
		return err
	}
	handler, err := col.Handler(fasthttpadaptor.NewFastHTTPHandler(dash))
	if err != nil {
		return err
	}
	server := &fasthttp.Server{
		Handler:               handler,
		Name:                  "shade",
		NoDefaultServerHeader: true,
		MaxRequestBodySize:    1 << 20,
		ReadTimeout:           30 * time.Second,
		WriteTimeout:          30 * time.Second,
		IdleTimeout:           2 * time.Minute,
		Concurrency:           64 * 1024,
	}

	var wg sync.WaitGroup
	runCtx, stopRun := context.WithCancel(context.Background())
	wg.Add(1)
	go func() { defer wg.Done(); col.Run(runCtx) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- server.Serve(ln) }()
	logger.Info("shade is serving", "listen", "http://"+f.listen, "database", st.Database())

	if f.demo {
		if err := startDemo(ctx, logger, st, sink, set, f.publicURL, stdout, &wg, runCtx); err != nil {
			logger.Error("cannot set up the demo", "err", err)
		}
	}

	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err = <-serveErr:
		logger.Error("server stopped", "err", err)
	}
	// Order: stop taking requests, stop background work, sync and close the
	// spool, ship what we can within the deadline (the rest waits in the
	// spool for the next start), then (deferred) close the store and stop
	// the managed server.
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdown)
	defer cancel()
	if serr := server.ShutdownWithContext(sctx); serr != nil {
		logger.Error("cannot stop the HTTP server cleanly", "err", serr)
	}
	stopRun()
	wg.Wait()
	if cerr := sp.Close(); cerr != nil {
		logger.Error("cannot close the spool", "err", cerr)
		err = errors.Join(err, cerr)
	}
	if serr := shipper.Stop(sctx); serr != nil {
		logger.Warn("shutdown deadline reached", "err", serr, "spooled_bytes", sp.Bytes())
	}
	logger.Info("stopped")
	return err
}

// startDemo creates the demo site and an admin with a fresh password, prints
// where to sign in, and generates past traffic in the background.
func startDemo(ctx context.Context, logger *slog.Logger, st *storage.Store, sink collector.Sink, set *metrics.Set,
	publicURL string, stdout io.Writer, wg *sync.WaitGroup, runCtx context.Context) error {
	site, err := ensureSite(ctx, st, demoDomain)
	if err != nil {
		return err
	}
	raw := make([]byte, 12)
	if _, err := rand.Read(raw); err != nil {
		return err
	}
	password := base64.RawURLEncoding.EncodeToString(raw)
	u, err := storage.NewUser(demoAdmin, password, storage.RoleAdmin, nil)
	if err != nil {
		return err
	}
	if err := st.SaveUser(ctx, &u); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "\nShade is running at %s\n  sign in as %s with password %s\n  demo site: %s (generating 30 days of traffic)\n  tracking snippet: <script defer src=\"%s/shade.js\" data-domain=\"%s\"></script>\n\n",
		publicURL, demoAdmin, password, site.Domain, publicURL, site.Domain)
	already, err := hasEvents(ctx, st, site.ID)
	if err != nil || already {
		return err
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		g := demoConfig{Site: site.Domain, Visits: 3000, Days: 30}
		if err := generateDemo(runCtx, logger, st, sink, set, g, io.Discard); err != nil && runCtx.Err() == nil {
			logger.Error("cannot generate demo traffic", "err", err)
		}
	}()
	return nil
}

const (
	demoDomain = "demo.shade.localhost"
	demoAdmin  = "admin@shade.localhost"
)

func ensureSite(ctx context.Context, st *storage.Store, domain string) (storage.Site, error) {
	site, err := st.SiteByDomain(ctx, domain)
	if errors.Is(err, storage.ErrNotFound) {
		site = storage.NewSite(domain)
		err = st.SaveSite(ctx, &site)
	}
	return site, err
}

func hasEvents(ctx context.Context, st *storage.Store, siteID uint32) (bool, error) {
	var n uint64
	if err := st.Conn().QueryRow(ctx, "SELECT count() FROM events WHERE site_id = ?", siteID).Scan(&n); err != nil {
		return false, fmt.Errorf("cannot count events: %w", err)
	}
	return n > 0, nil
}
