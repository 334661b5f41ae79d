package storage_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/shade-analytics/shade/internal/chtest"
	"github.com/shade-analytics/shade/storage"
)

// benchEvents is the size of the overview benchmark's data set: 10 M events
// in the 30 days the overview shows, the budget's reference size.
const benchEvents = 10_000_000

// loadBenchData bulk-inserts benchEvents events spread over 30 days, about
// four per visit, with the session rows the collector would write. It runs
// only under -bench: no test calls it.
func loadBenchData(b *testing.B, st *storage.Store, site uint32, from time.Time) {
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	pages := make([]string, 500)
	for i := range pages {
		pages[i] = fmt.Sprintf("/section-%d/page-%d", i%20, i)
	}
	sources := []string{"", "Google", "Bing", "DuckDuckGo", "Twitter", "Facebook", "Reddit", "news.example", "Newsletter", "LinkedIn"}
	channels := []string{"Direct", "Organic Search", "Organic Search", "Organic Search", "Organic Social", "Organic Social", "Organic Social", "Referral", "Email", "Organic Social"}
	countries := []string{"US", "FR", "DE", "GB", "IN", "BR", "JP", "CA", "ES", "IT", "NL", "PL"}
	devices := []string{"desktop", "mobile", "tablet"}
	browsers := []string{"Chrome", "Firefox", "Safari", "Edge"}
	const batchSize = 250_000
	var batch storage.Batch
	flush := func() {
		if err := st.Insert(ctx, &batch); err != nil {
			b.Fatal(err)
		}
		batch.Events, batch.Sessions = batch.Events[:0], batch.Sessions[:0]
	}
	span := int64(30 * 24 * time.Hour / time.Second)
	var session uint64
	for n := 0; n < benchEvents; {
		session++
		visitor := uint64(rng.IntN(1_500_000)) + 1
		// Visits arrive in time order, as the collector ships them, so each
		// batch covers a few hours, not the whole month.
		start := from.Add(time.Duration(span*int64(n)/benchEvents+rng.Int64N(600)) * time.Second)
		src := rng.IntN(len(sources))
		s := storage.Session{SiteID: site, SessionID: session, VisitorID: visitor, Sign: 1, Start: start,
			ReferrerSource: sources[src], Channel: channels[src], Country: countries[rng.IntN(len(countries))],
			Device: devices[rng.IntN(len(devices))], Browser: browsers[rng.IntN(len(browsers))], BrowserVersion: "120",
			OS: "Linux", Screen: "desktop", Language: "en"}
		views := 1 + rng.IntN(7)
		at := start
		for v := 0; v < views && n < benchEvents; v++ {
			p := pages[rng.IntN(len(pages))]
			batch.Events = append(batch.Events, storage.Event{SiteID: site, Timestamp: at, Name: "pageview", VisitorID: visitor,
				SessionID: session, Pathname: p, Title: p, ReferrerSource: s.ReferrerSource, Channel: s.Channel,
				Country: s.Country, Device: s.Device, Browser: s.Browser, BrowserVersion: "120", OS: "Linux", Screen: "desktop"})
			n++
			s.Pageviews++
			s.Events++
			if s.EntryPage == "" {
				s.EntryPage = p
			}
			s.ExitPage, s.End = p, at
			at = at.Add(time.Duration(5+rng.IntN(120)) * time.Second)
		}
		s.Duration = uint32(s.End.Sub(s.Start).Seconds())
		batch.Sessions = append(batch.Sessions, s)
		if len(batch.Events) >= batchSize {
			flush()
		}
	}
	flush()
}

// BenchmarkOverview times every query behind the overview page on 10 M
// events in its 30-day range. The budget is 300 ms for all of them together
// (sub-benchmark "all").
func BenchmarkOverview(b *testing.B) {
	ctx := context.Background()
	st := chtest.Store(b)
	site := storage.NewSite("bench.example")
	site.Timezone = "Europe/Paris"
	if err := st.SaveSite(ctx, &site); err != nil {
		b.Fatal(err)
	}
	from := time.Date(2024, 3, 1, 0, 0, 0, 0, time.UTC)
	began := time.Now()
	loadBenchData(b, st, site.ID, from)
	// Time the steady state that background merges reach, not a pile of
	// fresh parts.
	for _, table := range []string{"events", "sessions", "`.inner.rollup_events_hourly`", "`.inner.rollup_events_daily`",
		"`.inner.rollup_sessions_hourly`", "`.inner.rollup_dims_hourly`", "`.inner.rollup_dims_daily`",
		"`.inner.rollup_page_views_hourly`", "`.inner.rollup_page_views_daily`", "`.inner.rollup_pages_daily`"} {
		if err := st.Conn().Exec(ctx, "OPTIMIZE TABLE "+table+" FINAL"); err != nil {
			b.Fatalf("cannot optimize %s: %v", table, err)
		}
	}
	b.Logf("loaded %d events in %s", benchEvents, time.Since(began).Round(time.Second))
	q := storage.Query{SiteID: site.ID, Timezone: site.Timezone, From: "2024-03-01", To: "2024-03-30"}
	var n uint64
	if err := st.Conn().QueryRow(ctx, "SELECT count() FROM events").Scan(&n); err != nil || n != benchEvents {
		b.Fatalf("events stored: %d, %v; want %d", n, err, benchEvents)
	}
	now := time.Date(2024, 3, 30, 12, 0, 0, 0, time.UTC)
	// The dashboard plans a page's query once and runs every report on it.
	q0 := q
	q, err := st.Plan(ctx, q0)
	if err != nil {
		b.Fatal(err)
	}
	queries := []struct {
		name string
		run  func() error
	}{
		{"plan", func() error { _, err := st.Plan(ctx, q0); return err }},
		{"aggregate", func() error { _, err := st.Aggregate(ctx, q); return err }},
		{"aggregate_previous", func() error { _, err := st.Aggregate(ctx, q.Previous()); return err }},
		{"timeseries_day", func() error { _, err := st.Timeseries(ctx, q); return err }},
		{"current_visitors", func() error { _, err := st.CurrentVisitors(ctx, site.ID, now); return err }},
		{"top_pages", func() error { q := q; q.Limit = 10; _, err := st.TopPages(ctx, q); return err }},
		{"top_sources", func() error { q := q; q.Limit = 10; _, err := st.Breakdown(ctx, q, "visit:source"); return err }},
		{"countries", func() error { q := q; q.Limit = 10; _, err := st.Breakdown(ctx, q, "visit:country"); return err }},
		{"devices", func() error { q := q; q.Limit = 10; _, err := st.Breakdown(ctx, q, "visit:device"); return err }},
	}
	for _, qq := range queries {
		b.Run(qq.name, func(b *testing.B) {
			for b.Loop() {
				if err := qq.run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// As the dashboard runs them: four at a time.
	b.Run("all_parallel", func(b *testing.B) {
		for b.Loop() {
			var wg sync.WaitGroup
			slots := make(chan struct{}, 4)
			errs := make(chan error, len(queries))
			for _, qq := range queries {
				wg.Add(1)
				slots <- struct{}{}
				go func() {
					defer func() { <-slots; wg.Done() }()
					errs <- qq.run()
				}()
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				if err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("all", func(b *testing.B) {
		for b.Loop() {
			for _, qq := range queries {
				if err := qq.run(); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
