package collector

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/shade-analytics/shade/internal/chtest"
	"github.com/shade-analytics/shade/storage"
)

type discardSink struct{ n int }

func (d *discardSink) Append(*storage.Event, []storage.Session) error { d.n++; return nil }

// BenchmarkProcess measures the per-event work of the hot path: decoding a
// Plausible-style body, the privacy gates, UA/referrer/geo enrichment, IP
// truncation, the visitor hash and the session update. Storage is out of
// the loop (a discarding sink); sites and salts come from a real ClickHouse.
func BenchmarkProcess(b *testing.B) {
	b.Run("new-visitors", func(b *testing.B) { benchmarkProcess(b, 1<<30) })
	// 1,000 visitors with many events each: most events continue a visit.
	b.Run("returning-visitors", func(b *testing.B) { benchmarkProcess(b, 1000) })
}

func benchmarkProcess(b *testing.B, visitors int) {
	st := chtest.Store(b)
	site := storage.NewSite("example.com")
	if err := st.SaveSite(context.Background(), &site); err != nil {
		b.Fatal(err)
	}
	sink := &discardSink{}
	col, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)), metrics.NewSet(), st, sink, Config{})
	if err != nil {
		b.Fatal(err)
	}
	if err := col.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"n":"pageview","u":"https://example.com/blog/post?utm_source=newsletter&utm_medium=email","d":"example.com","r":"https://www.google.com/search?q=x","w":1440}`)
	ua := []byte("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36")
	now := time.Now()
	var buf [2]storage.Session
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		h, err := decodeEvent(body)
		if err != nil {
			b.Fatal(err)
		}
		v := i % visitors
		r := request{ip: netip.AddrFrom4([4]byte{198, byte(v >> 16), byte(v >> 8), byte(v)}), ua: ua, acceptLang: []byte("en-US,en;q=0.9"), now: now}
		ev, sess, drop, err := col.process(&h, &r, buf[:0])
		if err != nil || drop != "" {
			b.Fatal(err, drop)
		}
		if err := sink.Append(&ev, sess); err != nil {
			b.Fatal(err)
		}
	}
}
