package collector

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"

	"github.com/shade-analytics/shade/collector/spool"
	"github.com/shade-analytics/shade/internal/chtest"
	"github.com/shade-analytics/shade/storage"
)

// countingWriter is the real store, with a count of the inserts it received.
type countingWriter struct {
	*storage.Store
	inserts atomic.Int64
}

func (w *countingWriter) Insert(ctx context.Context, b *storage.Batch) error {
	w.inserts.Add(1)
	return w.Store.Insert(ctx, b)
}

// shipperFixture spools events for one site and ships them to a real ClickHouse.
func shipperFixture(t *testing.T, cfg ShipperConfig) (*SpoolSink, *countingWriter, storage.Site, func() int) {
	t.Helper()
	st := chtest.Store(t)
	site := storage.NewSite("ship.example")
	if err := st.SaveSite(context.Background(), &site); err != nil {
		t.Fatal(err)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	set := metrics.NewSet()
	sp, err := spool.Open(quiet, set, spool.Config{Dir: filepath.Join(t.TempDir(), "spool")})
	if err != nil {
		t.Fatal(err)
	}
	w := &countingWriter{Store: st}
	sh := NewShipper(quiet, set, sp, w, cfg)
	sh.Start()
	t.Cleanup(func() {
		sp.Close()
		_ = sh.Stop(context.Background())
	})
	stored := func() int {
		var n uint64
		row := st.Conn().QueryRow(context.Background(), "SELECT count() FROM events WHERE site_id = ?", site.ID)
		if err := row.Scan(&n); err != nil {
			t.Fatal(err)
		}
		return int(n)
	}
	return NewSpoolSink(sp), w, site, stored
}

func waitStored(t *testing.T, stored func() int, want int, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for got := stored(); got != want; got = stored() {
		if time.Now().After(deadline) {
			t.Fatalf("%d events stored after %v, want %d", got, within, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func shipperEvent(site storage.Site, i int) *storage.Event {
	return &storage.Event{SiteID: site.ID, Timestamp: time.Now().UTC(), Name: "pageview",
		VisitorID: uint64(i + 1), SessionID: uint64(i + 1), Hostname: "ship.example", Pathname: "/"}
}

// Under a steady stream the shipper must not insert as often as ClickHouse
// answers: each insert writes a part per table and rollup, so it collects
// records for MaxWait between inserts.
func TestShipperBatchesAStreamByTime(t *testing.T) {
	sink, w, site, stored := shipperFixture(t, ShipperConfig{MaxRecords: 100000, MaxWait: 300 * time.Millisecond})
	const n = 400
	start := time.Now()
	for i := 0; i < n; i++ {
		if err := sink.Append(shipperEvent(site, i), nil); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * time.Millisecond)
	}
	elapsed := time.Since(start)
	waitStored(t, stored, n, 10*time.Second)
	// One insert at the start, then one per MaxWait; one more for slack.
	limit := int64(elapsed/(300*time.Millisecond)) + 3
	t.Logf("%d inserts for %d events over %v", w.inserts.Load(), n, elapsed.Round(time.Millisecond))
	if got := w.inserts.Load(); got > limit {
		t.Errorf("%d inserts for %d events over %v, want at most %d", got, n, elapsed.Round(time.Millisecond), limit)
	}
}

// A full batch does not wait for MaxWait.
func TestShipperShipsFullBatchesAtOnce(t *testing.T) {
	sink, w, site, stored := shipperFixture(t, ShipperConfig{MaxRecords: 50, MaxWait: time.Hour})
	const n = 500
	for i := 0; i < n; i++ {
		if err := sink.Append(shipperEvent(site, i), nil); err != nil {
			t.Fatal(err)
		}
	}
	waitStored(t, stored, n, 20*time.Second)
	if got := w.inserts.Load(); got < n/50 {
		t.Errorf("%d inserts, want at least %d batches of at most 50", got, n/50)
	}
}
