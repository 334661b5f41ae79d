package collector

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/shade-analytics/shade/internal/chtest"
	"github.com/shade-analytics/shade/storage"
	trackerjs "github.com/shade-analytics/shade/tracker-js"
)

// harness runs a real collector over HTTP on loopback, backed by a fresh
// ClickHouse database, with a clock the test moves.
type harness struct {
	t       *testing.T
	store   *storage.Store
	col     *Collector
	batcher *Batcher
	url     string
	logs    *syncBuffer
	mu      sync.Mutex
	now     time.Time
	site    storage.Site
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

const testUA = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0 ShadeMarker/7.7"

func newHarness(t *testing.T, configure func(*Config)) *harness {
	t.Helper()
	h := &harness{t: t, store: chtest.Store(t), logs: &syncBuffer{},
		now: time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)}
	ctx := context.Background()
	h.site = storage.NewSite("example.com")
	if err := h.store.SaveSite(ctx, &h.site); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	set := metrics.NewSet()
	h.batcher = NewBatcher(logger, set, h.store, BatcherConfig{MaxRows: 100, FlushInterval: 20 * time.Millisecond})
	proxies, _ := ParseTrustedProxies("127.0.0.1")
	cfg := Config{TrustedProxies: proxies, Now: h.clock}
	if configure != nil {
		configure(&cfg)
	}
	col, err := New(logger, set, h.store, h.batcher, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := col.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h.col = col
	handler, err := col.Handler(func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(fasthttp.StatusNotFound) })
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &fasthttp.Server{Handler: handler, MaxRequestBodySize: 1 << 20}
	go srv.Serve(ln)
	h.url = "http://" + ln.Addr().String()
	t.Cleanup(func() {
		_ = srv.Shutdown()
		_ = h.batcher.Close(context.Background())
	})
	return h
}

func (h *harness) clock() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

func (h *harness) setTime(t time.Time) {
	h.mu.Lock()
	h.now = t
	h.mu.Unlock()
}

// send posts an event body from ip (through the trusted loopback proxy) with extra headers.
func (h *harness) send(body, ip string, headers ...string) *http.Response {
	h.t.Helper()
	req, _ := http.NewRequest("POST", h.url+"/api/event", strings.NewReader(body))
	req.Header.Set("Content-Type", "text/plain")
	req.Header.Set("User-Agent", testUA)
	req.Header.Set("X-Forwarded-For", ip)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func pageview(path string) string {
	return fmt.Sprintf(`{"n":"pageview","u":"https://example.com%s","d":"example.com","r":"https://www.google.com/search?q=secret","w":1280}`, path)
}

// flush waits until everything accepted has been inserted.
func (h *harness) flush() {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for h.batcher.Pending() > 0 {
		if time.Now().After(deadline) {
			h.t.Fatalf("%d rows still pending", h.batcher.Pending())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) count(query string, args ...any) uint64 {
	h.t.Helper()
	var n uint64
	if err := h.store.Conn().QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		h.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// tablesContaining counts, in every String or Array(String) column of every
// table, the rows that contain needle.
func (h *harness) tablesContaining(needle string) map[string]uint64 {
	h.t.Helper()
	ctx := context.Background()
	rows, err := h.store.Conn().Query(ctx, "SELECT table, name, type FROM system.columns WHERE database = ?", h.store.Database())
	if err != nil {
		h.t.Fatal(err)
	}
	type col struct{ table, name, typ string }
	var cols []col
	for rows.Next() {
		var c col
		if err := rows.Scan(&c.table, &c.name, &c.typ); err != nil {
			h.t.Fatal(err)
		}
		cols = append(cols, c)
	}
	rows.Close()
	found := map[string]uint64{}
	checked := 0
	for _, c := range cols {
		var cond string
		switch c.typ {
		case "String", "FixedString(2)":
			cond = fmt.Sprintf("position(%s, ?) > 0", c.name)
		case "Array(String)":
			cond = fmt.Sprintf("arrayExists(x -> position(x, ?) > 0, %s)", c.name)
		default:
			continue
		}
		checked++
		if n := h.count(fmt.Sprintf("SELECT count() FROM `%s` WHERE %s", c.table, cond), needle); n > 0 {
			found[c.table+"."+c.name] = n
		}
	}
	if checked < 20 {
		h.t.Fatalf("checked only %d text columns: the scan is broken", checked)
	}
	return found
}

// Privacy invariants 1 and 2: neither the full IP nor the raw User-Agent is
// stored in any table, logged, or exposed in metrics; the truncated IP is.
func TestNoFullIPOrUserAgentPersisted(t *testing.T) {
	h := newHarness(t, nil)
	ips := []string{"203.0.113.77", "2001:db8:1234:5678:9abc:def0:1234:5678"}
	for _, ip := range ips {
		for i := 0; i < 3; i++ {
			if r := h.send(pageview(fmt.Sprintf("/page%d?utm_source=news&token=abc", i)), ip); r.StatusCode != 202 {
				t.Fatalf("status %d, want 202", r.StatusCode)
			}
		}
	}
	h.send(`{"n":"Signup","u":"https://example.com/pricing","d":"example.com","p":{"plan":"pro"}}`, ips[0])
	h.flush()
	if n := h.count("SELECT count() FROM events"); n != 7 {
		t.Fatalf("stored %d events, want 7", n)
	}
	for _, needle := range []string{"203.0.113.77", "2001:db8:1234:5678", "9abc:def0", "ShadeMarker", "Gecko/20100101", "token=abc", "q=secret"} {
		if found := h.tablesContaining(needle); len(found) > 0 {
			t.Errorf("%q is stored in %v", needle, found)
		}
		if strings.Contains(h.logs.String(), needle) {
			t.Errorf("%q appears in the logs", needle)
		}
	}
	resp, err := http.Get(h.url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), "shade_events_accepted_total 7") {
		t.Errorf("metrics do not count 7 accepted events:\n%s", body)
	}
	for _, needle := range []string{"203.0.113", "2001:db8", "ShadeMarker"} {
		if strings.Contains(string(body), needle) {
			t.Errorf("metrics expose %q", needle)
		}
	}
	// What is stored instead: the truncated address (level 2 by default).
	if n := h.count("SELECT count() FROM events WHERE ip = '203.0.0.0'"); n != 4 {
		t.Errorf("%d events have ip 203.0.0.0, want 4", n)
	}
	if n := h.count("SELECT count() FROM events WHERE ip = '2001:db8:1234::'"); n != 3 {
		t.Errorf("%d events have ip 2001:db8:1234::, want 3", n)
	}
	if n := h.count("SELECT count() FROM events WHERE browser = 'Firefox' AND os = 'Linux' AND pathname LIKE '/page%' AND utm_source = 'news'"); n != 6 {
		t.Errorf("%d pageviews enriched as Firefox/Linux with utm_source, want 6", n)
	}
	// utm_source names the source; the referrer keeps host and path only.
	if n := h.count("SELECT count() FROM events WHERE referrer_source = 'news' AND referrer_host = 'google.com' AND referrer_path = '/search'"); n != 6 {
		t.Errorf("%d events with source news from google.com/search, want 6", n)
	}
}

// Privacy invariants 5 and 6: DNT, GPC and the opt-out cookies drop the
// event with a reason; nothing is stored, and no cookie is ever set.
func TestPrivacyGatesStoreNothing(t *testing.T) {
	h := newHarness(t, nil)
	cases := []struct {
		headers []string
		reason  string
	}{
		{[]string{"DNT", "1"}, DropDNT},
		{[]string{"Sec-GPC", "1"}, DropGPC},
		{[]string{"Cookie", "shade_optout=1"}, DropOptOut},
		{[]string{"Cookie", "matomo_ignore=*"}, DropOptOut},
		{[]string{"User-Agent", "Googlebot/2.1 (+http://www.google.com/bot.html)"}, DropBot},
		{[]string{"User-Agent", "curl/8.5.0"}, DropBot},
		{[]string{"Sec-Purpose", "prefetch"}, DropPrefetch},
	}
	for _, c := range cases {
		r := h.send(pageview("/"), "198.51.100.1", c.headers...)
		if r.StatusCode != 202 || r.Header.Get("Shade-Dropped") != c.reason {
			t.Errorf("%v: status %d, Shade-Dropped %q; want 202, %q", c.headers, r.StatusCode, r.Header.Get("Shade-Dropped"), c.reason)
		}
		if len(r.Cookies()) > 0 {
			t.Errorf("%v: the reply sets cookies %v", c.headers, r.Cookies())
		}
	}
	h.flush()
	if n := h.count("SELECT count() FROM events"); n != 0 {
		t.Fatalf("%d events stored from dropped requests", n)
	}
	// The control: the same request without any signal is stored.
	r := h.send(pageview("/"), "198.51.100.1")
	if r.Header.Get("Shade-Dropped") != "" || len(r.Cookies()) > 0 {
		t.Errorf("a normal request got Shade-Dropped %q, cookies %v", r.Header.Get("Shade-Dropped"), r.Cookies())
	}
	h.flush()
	if n := h.count("SELECT count() FROM events"); n != 1 {
		t.Fatalf("stored %d events from a normal request, want 1", n)
	}
	// A site may choose not to honour DNT; GPC stays honoured.
	site := h.site
	site.HonorDNT = false
	if err := h.store.SaveSite(context.Background(), &site); err != nil {
		t.Fatal(err)
	}
	if err := h.col.sites.load(context.Background()); err != nil {
		t.Fatal(err)
	}
	if r := h.send(pageview("/"), "198.51.100.1", "DNT", "1"); r.Header.Get("Shade-Dropped") != "" {
		t.Errorf("DNT dropped although the site does not honour it")
	}
}

// A visitor keeps one session within 30 minutes of inactivity, gets a new one
// after, and keeps the session (and visitor key) across the midnight salt rotation.
func TestSessions(t *testing.T) {
	h := newHarness(t, nil)
	ip := "198.51.100.23"
	base := time.Date(2026, 11, 22, 12, 0, 0, 0, time.UTC)
	h.setTime(base)
	h.send(pageview("/a"), ip)
	h.setTime(base.Add(29 * time.Minute))
	h.send(pageview("/b"), ip)
	h.setTime(base.Add(29*time.Minute + 31*time.Minute))
	h.send(pageview("/c"), ip)
	h.send(pageview("/d"), "198.51.100.24") // someone else: a session of its own
	h.flush()
	if n := h.count("SELECT uniqExact(session_id) FROM events WHERE ip = '198.51.0.0'"); n != 3 {
		t.Fatalf("%d sessions, want 3", n)
	}
	if n := h.count("SELECT uniqExact(session_id) FROM events WHERE pathname IN ('/a', '/b')"); n != 1 {
		t.Errorf("/a and /b are in %d sessions, want 1", n)
	}
	if n := h.count("SELECT uniqExact(session_id) FROM events WHERE pathname IN ('/b', '/c')"); n != 2 {
		t.Errorf("/b and /c are in %d sessions, want 2", n)
	}
	if n := h.count("SELECT toUInt64(sum(sign)) FROM sessions"); n != 3 {
		t.Errorf("sessions table counts %d visits, want 3", n)
	}
	if n := h.count("SELECT toUInt64(sum(sign * pageviews)) FROM sessions"); n != 4 {
		t.Errorf("sessions table counts %d pageviews, want 4", n)
	}
	if n := h.count("SELECT toUInt64(sum(sign * duration)) FROM sessions WHERE entry_page = '/a' AND exit_page = '/b'"); n != 29*60 {
		t.Errorf("visit /a→/b lasted %d s, want %d", n, 29*60)
	}

	// Across midnight: 23:50 and 00:10 are one visit with one visitor key,
	// although the salt (and so the fresh hash) changed at 00:00.
	night := time.Date(2026, 11, 22, 23, 50, 0, 0, time.UTC)
	h.setTime(night)
	h.send(pageview("/night"), "198.51.100.99")
	h.setTime(night.Add(20 * time.Minute))
	if err := h.col.salts.refresh(context.Background(), h.store, h.clock()); err != nil {
		t.Fatal(err)
	}
	h.send(pageview("/morning"), "198.51.100.99")
	h.flush()
	if n := h.count("SELECT uniqExact(session_id) FROM events WHERE pathname IN ('/night', '/morning')"); n != 1 {
		t.Errorf("the midnight visit has %d sessions, want 1", n)
	}
	if n := h.count("SELECT uniqExact(visitor_id) FROM events WHERE pathname IN ('/night', '/morning')"); n != 1 {
		t.Errorf("the midnight visit has %d visitor keys, want 1", n)
	}
	// A new visit the next day from the same person gets the new day's key.
	h.setTime(night.Add(3 * time.Hour))
	h.send(pageview("/later"), "198.51.100.99")
	h.flush()
	if n := h.count("SELECT uniqExact(visitor_id) FROM events WHERE pathname IN ('/night', '/later')"); n != 2 {
		t.Errorf("visits on two days share a visitor key: %d keys, want 2", n)
	}
}

// Bad input gets a clear JSON error, and what was accepted before stays.
func TestBadInput(t *testing.T) {
	h := newHarness(t, nil)
	h.send(pageview("/ok"), "198.51.100.5")
	post := func(body string) (*http.Response, string) {
		req, _ := http.NewRequest("POST", h.url+"/api/event", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("User-Agent", testUA)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp, string(b)
	}
	cases := []struct {
		body   string
		status int
		msg    string
	}{
		{"", 400, "empty body"},
		{"{not json", 400, "malformed JSON"},
		{"[1,2]", 400, "must be an object"},
		{`{"u":"https://example.com/","d":"example.com"}`, 400, "missing event name"},
		{`{"n":"pageview","d":"example.com"}`, 400, "missing page URL"},
		{`{"n":"pageview","u":"https://example.com/"}`, 400, "missing site domain"},
		{`{"n":"pageview","u":"not a url","d":"example.com"}`, 400, "invalid page URL"},
		{`{"n":"pageview","u":"https://example.com/","d":"unknown.org"}`, 404, "unknown site"},
		{`{"n":"x","u":"https://example.com/","d":"example.com","p":[1]}`, 400, "malformed props"},
		{`{"n":"pageview","u":"https://example.com/","d":"example.com","r":"` + strings.Repeat("a", 70000) + `"}`, 413, "over the 65536-byte limit"},
	}
	for _, c := range cases {
		resp, body := post(c.body)
		if resp.StatusCode != c.status || !strings.Contains(body, c.msg) || !strings.HasPrefix(body, `{"error":`) {
			t.Errorf("body %.40q: got %d %s, want %d with %q", c.body, resp.StatusCode, body, c.status, c.msg)
		}
	}
	resp, err := http.Get(h.url + "/api/event")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Errorf("GET /api/event: %d, want 405", resp.StatusCode)
	}
	// Invalid UTF-8 and control characters are cleaned, not stored.
	h.send("{\"n\":\"Sign\xffup\\u0007\",\"u\":\"https://example.com/x\",\"d\":\"example.com\",\"t\":\"T\xc3\x28itle\"}", "198.51.100.5")
	h.flush()
	if n := h.count("SELECT count() FROM events"); n != 2 {
		t.Fatalf("%d events stored, want the 2 valid ones", n)
	}
	if n := h.count("SELECT count() FROM events WHERE name = 'Signup' AND title = 'T(itle'"); n != 1 {
		t.Errorf("the invalid UTF-8 event was not stored cleaned")
	}
}

func TestPixelAndAssets(t *testing.T) {
	h := newHarness(t, nil)
	req, _ := http.NewRequest("GET", h.url+"/t.gif?d=example.com", nil)
	req.Header.Set("Referer", "https://example.com/noscript?x=1")
	req.Header.Set("User-Agent", testUA)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/gif" || !bytes.HasPrefix(body, []byte("GIF89a")) {
		t.Errorf("pixel: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	h.flush()
	if n := h.count("SELECT count() FROM events WHERE pathname = '/noscript'"); n != 1 {
		t.Errorf("pixel stored %d events, want 1", n)
	}
	asset, err := trackerjs.Load()
	if err != nil {
		t.Fatal(err)
	}
	get := func(path string, headers ...string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("GET", h.url+path, nil)
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gzip
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	if r := get("/shade."+asset.Hash+".js", "Accept-Encoding", "gzip"); r.StatusCode != 200 ||
		!strings.Contains(r.Header.Get("Cache-Control"), "immutable") || r.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("versioned snippet: %d, Cache-Control %q, Content-Encoding %q", r.StatusCode, r.Header.Get("Cache-Control"), r.Header.Get("Content-Encoding"))
	}
	if r := get("/shade.js", "If-None-Match", asset.ETag); r.StatusCode != 304 {
		t.Errorf("snippet with a matching ETag: %d, want 304", r.StatusCode)
	}
	for _, p := range []string{"/shade.js", "/healthz", "/readyz"} {
		resp, err := http.Get(h.url + p)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", p, resp.StatusCode)
		}
	}
}
