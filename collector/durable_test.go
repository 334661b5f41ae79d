package collector

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/shade-analytics/shade/collector/spool"
	"github.com/shade-analytics/shade/internal/chtest"
	"github.com/shade-analytics/shade/internal/loadgen"
	"github.com/shade-analytics/shade/storage"
)

// durable runs a collector with the spool and shipper in front of a
// ClickHouse of its own, which the test may kill and restart.
type durable struct {
	t       *testing.T
	ch      *storage.Managed
	store   *storage.Store
	sp      *spool.Spool
	shipper *Shipper
	url     string
	site    storage.Site
}

func newDurable(t *testing.T, maxBytes int64) *durable {
	t.Helper()
	chtest.Server(t) // skips (or fails in CI) without clickhouse-server
	ctx := context.Background()
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ch, err := storage.StartManaged(ctx, storage.ManagedConfig{DataDir: t.TempDir(), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ch.Stop(context.Background()) })
	st, err := storage.Open(ctx, storage.Config{DSN: ch.DSN("shade")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	d := &durable{t: t, ch: ch, store: st, site: storage.NewSite("example.com")}
	if err := st.SaveSite(ctx, &d.site); err != nil {
		t.Fatal(err)
	}
	set := metrics.NewSet()
	d.sp, err = spool.Open(quiet, set, spool.Config{Dir: filepath.Join(t.TempDir(), "spool"), Durable: true, MaxBytes: maxBytes})
	if err != nil {
		t.Fatal(err)
	}
	d.shipper = NewShipper(quiet, set, d.sp, st, ShipperConfig{MaxRecords: 2000, MaxWait: 50 * time.Millisecond})
	d.shipper.Start()
	col, err := New(quiet, set, st, NewSpoolSink(d.sp), Config{
		Readiness: func() (bool, string) {
			if d.shipper.Healthy() {
				return true, "clickhouse up"
			}
			return true, "clickhouse down"
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := col.Start(ctx); err != nil {
		t.Fatal(err)
	}
	handler, err := col.Handler(func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(404) })
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: handler}
	go srv.Serve(ln)
	t.Cleanup(func() { _ = srv.Shutdown() })
	d.url = "http://" + ln.Addr().String()
	return d
}

func (d *durable) readyz() string {
	resp, err := http.Get(d.url + "/readyz")
	if err != nil {
		d.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return string(b)
}

// drain closes the spool and waits for the shipper to ship everything.
func (d *durable) drain() {
	d.t.Helper()
	if err := d.sp.Close(); err != nil {
		d.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := d.shipper.Stop(ctx); err != nil {
		d.t.Fatal(err)
	}
}

// ClickHouse dies for 30+ seconds in the middle of sustained load: every
// event answered 202 reaches ClickHouse exactly once after it comes back.
func TestClickHouseOutageLosesNothing(t *testing.T) {
	d := newDurable(t, 0)
	ctx, stop := context.WithCancel(context.Background())
	r := loadgen.Run(ctx, d.url, "example.com", 4)
	time.Sleep(3 * time.Second)
	d.ch.Kill()
	before := r.Accepted()
	time.Sleep(31 * time.Second)
	during := r.Accepted() - before
	if during == 0 {
		t.Error("no event was accepted while ClickHouse was down")
	}
	if s := d.readyz(); !strings.Contains(s, "clickhouse down") {
		t.Errorf("/readyz during the outage: %q", s)
	}
	if err := d.ch.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	stop()
	r.Wait()
	d.drain()
	t.Logf("accepted %d events during the 31 s outage", during)
	r.Verify(t, d.store.Conn(), d.site.ID)
}

// A spool at its cap answers 503 with Retry-After, keeps serving /healthz,
// and loses nothing it acknowledged once ClickHouse drains it.
func TestFullSpoolRefusesWith503(t *testing.T) {
	d := newDurable(t, 256<<10)
	d.ch.Kill()
	ctx, stop := context.WithCancel(context.Background())
	r := loadgen.Run(ctx, d.url, "example.com", 4)
	deadline := time.Now().Add(30 * time.Second)
	for {
		if r.Status(503) >= 20 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the spool never filled up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	resp, err := http.Get(d.url + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/healthz with a full spool: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := d.ch.Restart(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Once shipped, the spool takes events again.
	acceptedAtRestart := r.Accepted()
	time.Sleep(5 * time.Second)
	if r.Accepted() == acceptedAtRestart {
		t.Error("no event accepted after ClickHouse came back")
	}
	stop()
	r.Wait()
	d.drain()
	r.Verify(t, d.store.Conn(), d.site.ID)
}
