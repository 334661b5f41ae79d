package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/shade-analytics/shade/collector"
	"github.com/shade-analytics/shade/collector/geo"
	"github.com/shade-analytics/shade/storage"
)

type demoConfig struct {
	Site   string
	Visits int
	Days   int
	Seed   uint64
}

func demo(ctx context.Context, logger *slog.Logger, args []string, stdout io.Writer) error {
	var db dbFlags
	var g demoConfig
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	db.register(fs)
	fs.StringVar(&g.Site, "site", demoDomain, "domain of the demo site (created when missing)")
	fs.IntVar(&g.Visits, "visits", 3000, "number of visits to generate")
	fs.IntVar(&g.Days, "days", 30, "spread the visits over this many past days")
	fs.Uint64Var(&g.Seed, "seed", 0, "random seed (0: a new one each run)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if g.Visits <= 0 || g.Days <= 0 {
		return fmt.Errorf("--visits and --days must be positive")
	}
	st, closeDB, err := db.open(ctx, logger)
	if err != nil {
		return err
	}
	defer closeDB()
	if _, err := ensureSite(ctx, st, g.Site); err != nil {
		return err
	}
	set := metrics.NewSet()
	batcher := collector.NewBatcher(logger, set, st, collector.BatcherConfig{MaxRows: 20000, MaxPending: 1 << 22})
	genErr := generateDemo(ctx, logger, st, batcher, set, g, stdout)
	cctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := batcher.Close(cctx); err != nil {
		return err
	}
	if genErr == nil {
		fmt.Fprintf(stdout, "generated %d visits for %s\n", g.Visits, g.Site)
	}
	return genErr
}

// Synthetic audience. Each country owns a /24 of the benchmark range
// 198.18.0.0/15 in a GeoIP database the demo writes for itself, so the
// visits' countries come out of the real geo lookup.
var demoCountries = []struct {
	iso    string
	weight float64
}{{"US", 30}, {"DE", 14}, {"GB", 10}, {"FR", 9}, {"IN", 7}, {"CA", 5}, {"NL", 4}, {"BR", 4},
	{"JP", 3}, {"ES", 3}, {"IT", 3}, {"AU", 3}, {"SE", 2}, {"PL", 2}, {"CH", 1}}

var demoAgents = []struct {
	ua     string
	weight float64
}{
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 30},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15", 12},
	{"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", 10},
	{"Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", 16},
	{"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", 12},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", 7},
	{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", 6},
	{"Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", 3},
	{"Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1", 3},
	{"Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36", 3},
}

// demoSources are (referrer, landing query) pairs: organic, social, referral, campaigns.
var demoSources = []struct {
	ref, query string
	weight     float64
}{
	{"", "", 30}, {"https://www.google.com/", "", 25}, {"https://www.bing.com/search", "", 4},
	{"https://duckduckgo.com/", "", 4}, {"https://t.co/x8Fk2", "", 4}, {"https://www.linkedin.com/feed/", "", 4},
	{"https://www.reddit.com/r/selfhosted/comments/1abc/", "", 4}, {"https://news.ycombinator.com/item", "", 3},
	{"https://l.facebook.com/", "", 3}, {"https://github.com/shade-analytics/shade", "", 3},
	{"https://blog.example.org/2026/privacy-analytics", "", 3},
	{"", "?utm_source=newsletter&utm_medium=email&utm_campaign=november-launch", 5},
	{"https://www.google.com/", "?utm_source=google&utm_medium=cpc&utm_campaign=brand&utm_term=privacy+analytics", 4},
	{"", "?ref=producthunt", 2},
}

var demoPages = []struct {
	path, title string
	weight      float64
}{
	{"/", "Shade: privacy-first analytics", 30}, {"/pricing", "Pricing - Shade", 14},
	{"/features", "Features - Shade", 12}, {"/docs/", "Documentation - Shade", 8},
	{"/docs/install", "Install - Shade docs", 6}, {"/docs/api", "Stats API - Shade docs", 4},
	{"/blog/", "Blog - Shade", 6}, {"/blog/cookie-free-analytics", "Cookie-free analytics - Shade blog", 6},
	{"/blog/clickhouse-at-scale", "ClickHouse at scale - Shade blog", 4}, {"/about", "About - Shade", 4},
	{"/signup", "Sign up - Shade", 6},
}

var demoLanguages = []string{"en-US", "en-GB", "de-DE", "fr-FR", "es-ES", "ja-JP", "pt-BR", "nl-NL"}

func pick[T any](r *rand.Rand, items []T, weight func(T) float64) T {
	total := 0.0
	for _, it := range items {
		total += weight(it)
	}
	x := r.Float64() * total
	for _, it := range items {
		if x -= weight(it); x < 0 {
			return it
		}
	}
	return items[len(items)-1]
}

// generateDemo sends synthetic visits through a collector, the same gates,
// enrichment, anonymisation and sessions as live traffic, into sink.
func generateDemo(ctx context.Context, logger *slog.Logger, st *storage.Store, sink collector.Sink, set *metrics.Set,
	g demoConfig, progress io.Writer) error {
	dir, err := os.MkdirTemp("", "shade-demo-geo-")
	if err != nil {
		return fmt.Errorf("cannot create temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	nets := map[string]string{}
	for i, c := range demoCountries {
		nets[fmt.Sprintf("198.18.%d.0/24", i)] = c.iso
	}
	geoPath := filepath.Join(dir, "demo.mmdb")
	if err := geo.Build(geoPath, "GeoLite2-Country", nets); err != nil {
		return err
	}
	geoDB, err := geo.Open(geoPath)
	if err != nil {
		return err
	}
	defer geoDB.Close()
	col, err := collector.New(logger, metrics.NewSet(), st, sink, collector.Config{GeoIP: geoDB, EphemeralSalts: true})
	if err != nil {
		return err
	}
	if err := col.Start(ctx); err != nil {
		return err
	}
	seed := g.Seed
	if seed == 0 {
		seed = rand.Uint64()
	}
	r := rand.New(rand.NewPCG(seed, seed^0x5ade))
	now := time.Now().UTC()
	// Visit start times: more on weekdays and in daytime, with growth toward today.
	starts := make([]time.Time, g.Visits)
	for i := range starts {
		day := int(math.Floor(float64(g.Days) * math.Sqrt(r.Float64()))) // later days likelier
		t := now.AddDate(0, 0, -g.Days+day).Truncate(24 * time.Hour)
		hour := math.Mod(14+r.NormFloat64()*4+24, 24)
		t = t.Add(time.Duration(hour * float64(time.Hour)))
		if wd := t.Weekday(); (wd == time.Saturday || wd == time.Sunday) && r.Float64() < 0.4 {
			t = t.Add(48 * time.Hour)
		}
		if t.After(now) {
			t = now.Add(-time.Duration(r.IntN(3600)) * time.Second)
		}
		starts[i] = t
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
	for i, start := range starts {
		if err := ctx.Err(); err != nil {
			return err
		}
		country := r.IntN(len(demoCountries))
		for country > 0 && r.Float64() > demoCountries[country].weight/30 {
			country = r.IntN(len(demoCountries))
		}
		ip := netip.AddrFrom4([4]byte{198, 18, byte(country), byte(1 + r.IntN(250))})
		ua := pick(r, demoAgents, func(a struct {
			ua     string
			weight float64
		}) float64 {
			return a.weight
		}).ua
		width := 1440
		if strings.Contains(ua, "iPhone") || strings.Contains(ua, "Mobile") {
			width = 390
		} else if strings.Contains(ua, "iPad") {
			width = 820
		} else if r.Float64() < 0.4 {
			width = 1280
		}
		if err := demoVisit(r, col, g.Site, start, collector.Request{
			IP: ip, UserAgent: ua, Language: demoLanguages[r.IntN(len(demoLanguages))],
		}, width); err != nil {
			return err
		}
		if i%200 == 0 {
			col.ExpireSessions(start)
		}
		if progress != io.Discard && (i%50 == 0 || i == len(starts)-1) {
			done := (i + 1) * 30 / len(starts)
			fmt.Fprintf(progress, "\r[%s%s] %3d%% %d/%d visits", strings.Repeat("#", done), strings.Repeat(".", 30-done),
				(i+1)*100/len(starts), i+1, len(starts))
		}
	}
	if progress != io.Discard {
		fmt.Fprintln(progress)
	}
	return nil
}

// demoVisit sends one visit: a landing pageview, maybe more pages, engagement
// and custom events, with realistic gaps.
func demoVisit(r *rand.Rand, col *collector.Collector, site string, t time.Time, req collector.Request, width int) error {
	src := pick(r, demoSources, func(s struct {
		ref, query string
		weight     float64
	}) float64 {
		return s.weight
	})
	pages := 1
	if r.Float64() > 0.45 { // about 45% bounce
		pages = 2 + r.IntN(5)
	}
	referrer := src.ref
	base := "https://" + site
	send := func(h collector.Hit) error {
		h.Domain = site
		h.Width = width
		req.Time = t
		_, err := col.Ingest(&h, req)
		return err
	}
	for p := 0; p < pages; p++ {
		page := pick(r, demoPages, func(pg struct {
			path, title string
			weight      float64
		}) float64 {
			return pg.weight
		})
		if p == 0 && src.query != "" {
			page.path += src.query
		}
		url := base + page.path
		if err := send(collector.Hit{Name: collector.NamePageview, URL: url, Referrer: referrer, Title: page.title}); err != nil {
			return err
		}
		referrer = ""
		dwell := time.Duration(5+r.ExpFloat64()*50) * time.Second
		if strings.HasPrefix(page.path, "/pricing") && r.Float64() < 0.15 {
			t = t.Add(dwell / 2)
			plan := []string{"starter", "pro", "business"}[r.IntN(3)]
			if err := send(collector.Hit{Name: "Signup", URL: url, PropKeys: []string{"plan"}, PropValues: []string{plan}}); err != nil {
				return err
			}
		}
		if strings.HasPrefix(page.path, "/docs/install") && r.Float64() < 0.3 {
			t = t.Add(dwell / 3)
			if err := send(collector.Hit{Name: "File Download", URL: url, PropKeys: []string{"url"},
				PropValues: []string{base + "/downloads/shade-linux-amd64.tar.gz"}}); err != nil {
				return err
			}
		}
		if strings.HasPrefix(page.path, "/blog/") && r.Float64() < 0.2 {
			t = t.Add(dwell / 2)
			if err := send(collector.Hit{Name: "Outbound Link: Click", URL: url, PropKeys: []string{"url"},
				PropValues: []string{"https://clickhouse.com/docs"}}); err != nil {
				return err
			}
		}
		t = t.Add(dwell)
		if err := send(collector.Hit{Name: collector.NameEngagement, URL: url, EngagementMS: uint32(dwell / time.Millisecond),
			ScrollDepth: uint8(20 + r.IntN(81))}); err != nil {
			return err
		}
		t = t.Add(time.Duration(1+r.IntN(4)) * time.Second)
	}
	return nil
}
