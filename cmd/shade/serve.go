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
	"sync"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"
	"github.com/valyala/fasthttp/fasthttpadaptor"

	"github.com/shade-analytics/shade/collector"
	"github.com/shade-analytics/shade/collector/geo"
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
	maxPending     int
	maxSessions    int
	publicURL      string
	secureCookies  bool
	demo           bool
	shutdown       time.Duration
}

func (f *serveFlags) register(fs *flag.FlagSet) {
	f.db.register(fs)
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address for the collector and dashboard")
	fs.StringVar(&f.trustedProxies, "trusted-proxies", "", "comma-separated CIDRs whose X-Forwarded-For/Forwarded headers are believed")
	fs.StringVar(&f.geoip, "geoip", "", "GeoLite2 / DB-IP Lite Country or City .mmdb file for visitor countries")
	fs.IntVar(&f.batchRows, "batch-rows", 5000, "insert a batch when it holds this many rows")
	fs.DurationVar(&f.flushInterval, "flush-interval", time.Second, "insert a non-empty batch at least this often")
	fs.IntVar(&f.maxPending, "max-pending", 200000, "rows held in memory at most before the collector answers 503")
	fs.IntVar(&f.maxSessions, "max-sessions", 500000, "open visits kept in memory at most")
	fs.StringVar(&f.publicURL, "public-url", "", "public base URL of this server, for snippet and embed codes (default http://LISTEN)")
	fs.BoolVar(&f.secureCookies, "secure-cookies", false, "mark dashboard cookies Secure (set when served over HTTPS)")
	fs.BoolVar(&f.demo, "demo", false, "create a demo site with 30 days of synthetic traffic and print an admin sign-in")
	fs.DurationVar(&f.shutdown, "shutdown-timeout", 20*time.Second, "how long shutdown may take to flush events")
}

func serve(ctx context.Context, logger *slog.Logger, args []string, stdout io.Writer) error {
	var f serveFlags
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	f.register(fs)
	if err := parse(fs, args); err != nil {
		return err
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
	batcher := collector.NewBatcher(logger, set, st, collector.BatcherConfig{
		MaxRows: f.batchRows, FlushInterval: f.flushInterval, MaxPending: f.maxPending,
	})
	col, err := collector.New(logger, set, st, batcher, collector.Config{
		TrustedProxies: proxies, GeoIP: geoDB, MaxSessions: f.maxSessions,
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
		if err := startDemo(ctx, logger, st, batcher, set, f.publicURL, stdout, &wg, runCtx); err != nil {
			logger.Error("cannot set up the demo", "err", err)
		}
	}

	select {
	case <-ctx.Done():
		logger.Info("shutting down")
	case err = <-serveErr:
		logger.Error("server stopped", "err", err)
	}
	// Order: stop taking requests, stop background work, flush what was
	// accepted into ClickHouse, then (deferred) close the store and stop
	// the managed server.
	sctx, cancel := context.WithTimeout(context.Background(), f.shutdown)
	defer cancel()
	if serr := server.ShutdownWithContext(sctx); serr != nil {
		logger.Error("cannot stop the HTTP server cleanly", "err", serr)
	}
	stopRun()
	wg.Wait()
	if ferr := batcher.Close(sctx); ferr != nil {
		logger.Error("events lost at shutdown", "err", ferr)
		err = errors.Join(err, ferr)
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
