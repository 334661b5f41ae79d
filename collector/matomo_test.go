package collector

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/shade-analytics/shade/internal/chtest"
	"github.com/shade-analytics/shade/storage"
)

// Most tests here check decoding and replies with an in-memory store and a
// sink that only records what it is given; TestMatomoStoredInClickHouse and
// tracker-js/e2e store through a real ClickHouse.

// compatStore is a Store with fixed sites and salts.
type compatStore struct{ sites []storage.Site }

func (s *compatStore) Sites(context.Context) ([]storage.Site, error) { return s.sites, nil }
func (s *compatStore) Salt(context.Context, time.Time) ([]byte, error) {
	return []byte("0123456789abcdef"), nil
}
func (s *compatStore) DeleteExpiredSalts(context.Context, time.Time) (int, error) { return 0, nil }
func (s *compatStore) DeleteExpiredEvents(context.Context, storage.Site, time.Time) error {
	return nil
}

// compatSink records the events it is given; full makes it refuse them.
type compatSink struct {
	mu     sync.Mutex
	events []storage.Event
	full   bool
}

func (s *compatSink) Append(ev *storage.Event, _ []storage.Session) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full {
		return ErrBackpressure
	}
	s.events = append(s.events, *ev)
	return nil
}

func (s *compatSink) names() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.events {
		out = append(out, e.Name)
	}
	return out
}

const compatUA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"

// newCompatCollector starts a collector with example.com as Matomo site 7.
func newCompatCollector(t *testing.T) (fasthttp.RequestHandler, *compatSink) {
	t.Helper()
	return newCompatCollectorWith(t, Config{})
}

func newCompatCollectorWith(t *testing.T, cfg Config) (fasthttp.RequestHandler, *compatSink) {
	t.Helper()
	site := storage.NewSite("example.com")
	site.ID, site.MatomoID = 1, 7
	sink := &compatSink{}
	c, err := New(slog.New(slog.NewTextHandler(io.Discard, nil)), metrics.NewSet(),
		&compatStore{sites: []storage.Site{site}}, sink, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	h, err := c.Handler(func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(fasthttp.StatusTeapot) })
	if err != nil {
		t.Fatal(err)
	}
	return h, sink
}

// compatServe runs one request through h; headers come in name, value pairs.
func compatServe(h fasthttp.RequestHandler, method, uri, body string, headers ...string) *fasthttp.Response {
	var req fasthttp.Request
	req.Header.SetMethod(method)
	req.SetRequestURI(uri)
	req.Header.Set("User-Agent", compatUA)
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	if body != "" {
		req.SetBodyString(body)
	}
	var ctx fasthttp.RequestCtx
	ctx.Init(&req, &net.TCPAddr{IP: net.ParseIP("203.0.113.7"), Port: 4711}, nil)
	h(&ctx)
	var resp fasthttp.Response
	ctx.Response.CopyTo(&resp)
	return &resp
}

func matomoArgs(q string) *fasthttp.Args {
	var a fasthttp.Args
	a.Parse(strings.TrimPrefix(q, "?"))
	return &a
}

// TestDecodeMatomo follows the Tracking HTTP API reference
// (developer.matomo.org/api-reference/tracking-api) and what matomo.js sends.
func TestDecodeMatomo(t *testing.T) {
	const base = "idsite=7&rec=1&url=https%3A%2F%2Fexample.com%2Fdocs%3Fa%3D1"
	type prop struct{ k, v string }
	f := func(name, q string, want Hit, wantProps []prop, wantErr error, wantDrop string) {
		t.Helper()
		m, err := decodeMatomo(matomoArgs(q))
		if err != wantErr {
			t.Errorf("%s: got error %v, want %v", name, err, wantErr)
			return
		}
		if err != nil {
			return
		}
		if m.drop != wantDrop {
			t.Errorf("%s: got drop %q, want %q", name, m.drop, wantDrop)
		}
		if wantDrop != "" {
			return
		}
		var got []prop
		for i := range m.PropKeys {
			got = append(got, prop{m.PropKeys[i], m.PropValues[i]})
		}
		if !reflect.DeepEqual(got, wantProps) {
			t.Errorf("%s: got props %v, want %v", name, got, wantProps)
		}
		m.PropKeys, m.PropValues = nil, nil
		if !reflect.DeepEqual(m.Hit, want) {
			t.Errorf("%s: got hit %+v, want %+v", name, m.Hit, want)
		}
	}
	page := func(name string) Hit {
		return Hit{Name: name, URL: "https://example.com/docs?a=1", MatomoSiteID: 7}
	}
	full := page(NamePageview)
	full.Referrer, full.Title, full.Width, full.Language = "https://search.example/q", "Docs / Start", 1920, "fr-fr"

	f("pageview with everything",
		base+"&urlref=https%3A%2F%2Fsearch.example%2Fq&action_name=Docs%20%2F%20Start&res=1920x1080&lang=fr-fr,en;q=0.5&h=12&m=3&s=9&r=123456&_id=0123456789abcdef&_idvc=3&_viewts=1700000000&cip=1.2.3.4&uid=alice&cid=0123456789abcdef&cdt=2001-01-01&token_auth=secret&pv_id=abc123&ua=curl",
		full, nil, nil, "")
	f("pageview, minimal", base, page(NamePageview), nil, nil, "")
	f("piwik.js legacy query form", "?rec=1&idsite=7&url=https://example.com/docs?a=1", page(NamePageview), nil, nil, "")

	ev := page("Videos: Play")
	f("event", base+"&e_c=Videos&e_a=Play&e_n=Intro&e_v=12.5&ca=1", ev,
		[]prop{{"category", "Videos"}, {"action", "Play"}, {"name", "Intro"}, {"value", "12.5"}}, nil, "")
	f("event, non-numeric value dropped", base+"&e_c=Videos&e_a=Play&e_v=abc", ev,
		[]prop{{"category", "Videos"}, {"action", "Play"}}, nil, "")
	f("event without action", base+"&e_c=Videos", Hit{}, nil, errMatomoBadEvent, "")
	f("event without category", base+"&e_a=Play", Hit{}, nil, errMatomoBadEvent, "")

	f("site search", base+"&search=red+shoes&search_cat=Shop&search_count=42", page(NameSiteSearch),
		[]prop{{"query", "red shoes"}, {"category", "Shop"}, {"count", "42"}}, nil, "")
	f("site search, bad count", base+"&search=x&search_count=-1", page(NameSiteSearch),
		[]prop{{"query", "x"}}, nil, "")
	f("outlink, query and fragment dropped", base+"&link=https%3A%2F%2Fother.example%2Fa%3Ftoken%3Ds%23x", page(NameOutboundLink),
		[]prop{{"url", "https://other.example/a"}}, nil, "")
	f("download", base+"&download=https%3A%2F%2Fexample.com%2Ff.pdf", page(NameFileDownload),
		[]prop{{"url", "https://example.com/f.pdf"}}, nil, "")
	f("heartbeat ping", base+"&ping=1", page(NameEngagement), nil, nil, "")

	f("content impression", base+"&c_n=Banner&c_p=/img.png", Hit{}, nil, nil, DropUnsupported)
	f("goal conversion", base+"&idgoal=3&revenue=10", Hit{}, nil, nil, DropUnsupported)
	f("other custom action", base+"&ca=1&pf_net=10", Hit{}, nil, nil, DropUnsupported)

	f("missing rec", "idsite=7&url=https://example.com/", Hit{}, nil, errMatomoNoRec, "")
	f("rec=0", "idsite=7&rec=0&url=https://example.com/", Hit{}, nil, errMatomoNoRec, "")
	f("missing idsite", "rec=1&url=https://example.com/", Hit{}, nil, errMatomoNoSite, "")
	f("idsite zero", "idsite=0&rec=1&url=https://example.com/", Hit{}, nil, errMatomoNoSite, "")
	f("idsite not numeric", "idsite=abc&rec=1&url=https://example.com/", Hit{}, nil, errMatomoNoSite, "")
	f("idsite too large", "idsite=4294967296&rec=1&url=https://example.com/", Hit{}, nil, errMatomoNoSite, "")
	f("missing url", "idsite=7&rec=1", Hit{}, nil, errMatomoNoURL, "")

	for _, res := range []string{"abc", "0x0", "-5x10", "1920", "1920x", "x1080", "999999x1"} {
		f("bad res "+res, base+"&res="+res, page(NamePageview), nil, nil, "")
	}
}

func TestDecodeMatomoQueryWinsOverForm(t *testing.T) {
	var form fasthttp.Args
	form.Parse("idsite=99&rec=1&url=https://example.com/form&action_name=Form")
	m, err := decodeMatomo(argsParams{query: matomoArgs("idsite=7"), form: &form})
	if err != nil {
		t.Fatal(err)
	}
	if m.MatomoSiteID != 7 || m.URL != "https://example.com/form" || m.Title != "Form" {
		t.Errorf("got %+v, want idsite from the query and the rest from the form", m.Hit)
	}
}

func TestServeMatomo(t *testing.T) {
	h, sink := newCompatCollector(t)
	const page = "idsite=7&rec=1&url=https%3A%2F%2Fexample.com%2Fdocs"
	formType := "application/x-www-form-urlencoded; charset=UTF-8"
	f := func(name string, resp *fasthttp.Response, status int, contentType, dropped, bodyPart string) {
		t.Helper()
		if got := resp.StatusCode(); got != status {
			t.Errorf("%s: got status %d, want %d (body %s)", name, got, status, resp.Body())
		}
		if got := string(resp.Header.ContentType()); contentType != "" && got != contentType {
			t.Errorf("%s: got Content-Type %q, want %q", name, got, contentType)
		}
		if got := string(resp.Header.Peek("Shade-Dropped")); got != dropped {
			t.Errorf("%s: got Shade-Dropped %q, want %q", name, got, dropped)
		}
		if !strings.Contains(string(resp.Body()), bodyPart) {
			t.Errorf("%s: got body %q, want it to contain %q", name, resp.Body(), bodyPart)
		}
	}
	f("GET pageview", compatServe(h, "GET", "/matomo.php?"+page, ""), 200, "image/gif", "", "GIF89a")
	f("GET piwik.php", compatServe(h, "GET", "/piwik.php?"+page+"&action_name=Docs", ""), 200, "image/gif", "", "GIF89a")
	f("send_image=0", compatServe(h, "GET", "/matomo.php?"+page+"&send_image=0", ""), 204, "", "", "")
	f("POST form", compatServe(h, "POST", "/matomo.php", page+"&e_c=Videos&e_a=Play&send_image=0", "Content-Type", formType), 204, "", "", "")
	f("POST form and query", compatServe(h, "POST", "/matomo.php?rec=1&idsite=7", "url=https%3A%2F%2Fexample.com%2Fq&ping=1", "Content-Type", formType), 200, "image/gif", "", "")
	f("DNT", compatServe(h, "GET", "/matomo.php?"+page, "", "DNT", "1"), 200, "image/gif", DropDNT, "GIF89a")
	f("GPC", compatServe(h, "GET", "/matomo.php?"+page+"&send_image=0", "", "Sec-GPC", "1"), 204, "", DropGPC, "")
	f("opted out with matomo_ignore", compatServe(h, "GET", "/matomo.php?"+page, "", "Cookie", "matomo_ignore=*"), 200, "image/gif", DropOptOut, "")
	f("content impression", compatServe(h, "GET", "/matomo.php?"+page+"&c_n=Banner", ""), 200, "image/gif", DropUnsupported, "")
	f("missing rec", compatServe(h, "GET", "/matomo.php?idsite=7&url=https://example.com/", ""), 400, "application/json", "", `"error":"missing rec=1`)
	f("missing idsite", compatServe(h, "GET", "/matomo.php?rec=1&url=https://example.com/", ""), 400, "application/json", "", "idsite")
	f("unknown idsite", compatServe(h, "GET", "/matomo.php?idsite=8&rec=1&url=https://example.com/", ""), 404, "application/json", "", "no site has Matomo id 8")
	f("bad res", compatServe(h, "GET", "/matomo.php?"+page+"&res=huge", ""), 200, "image/gif", "", "")
	f("PUT", compatServe(h, "PUT", "/matomo.php?"+page, ""), 405, "application/json", "", "use GET or POST")

	got := sink.names()
	want := []string{"pageview", "pageview", "pageview", "Videos: Play", "engagement", "pageview"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got appended %q, want %q", got, want)
	}
	if ev := sink.events[1]; ev.Title != "Docs" || ev.Pathname != "/docs" || ev.Hostname != "example.com" || ev.SiteID != 1 {
		t.Errorf("got %+v, want title Docs on example.com/docs of site 1", ev)
	}
	if ev := sink.events[0]; ev.IP != "203.0.0.0" {
		t.Errorf("got stored IP %q, want it truncated to 203.0.0.0", ev.IP)
	}
}

func TestServeMatomoIgnoresClientIdentity(t *testing.T) {
	h, sink := newCompatCollector(t)
	q := "/matomo.php?idsite=7&rec=1&url=https://example.com/&cip=198.51.100.1&_id=0123456789abcdef&uid=alice&cid=fedcba9876543210&cdt=2001-01-01%2000:00:00&token_auth=x"
	before := time.Now().Add(-time.Minute)
	compatServe(h, "GET", q, "")
	compatServe(h, "GET", "/matomo.php?idsite=7&rec=1&url=https://example.com/", "")
	if len(sink.events) != 2 {
		t.Fatalf("got %d events, want 2", len(sink.events))
	}
	a, b := sink.events[0], sink.events[1]
	if a.IP != "203.0.0.0" {
		t.Errorf("got IP %q, want the peer's truncated address, not cip", a.IP)
	}
	if a.Timestamp.Before(before) {
		t.Errorf("got timestamp %v, want server time, not cdt", a.Timestamp)
	}
	if a.VisitorID != b.VisitorID || a.SessionID != b.SessionID {
		t.Errorf("_id/uid/cid changed the visitor: got %x/%x, want the same as without them (%x/%x)",
			a.VisitorID, a.SessionID, b.VisitorID, b.SessionID)
	}
}

func TestServeMatomoBulk(t *testing.T) {
	h, sink := newCompatCollector(t)
	body := `{"requests":[
		"?idsite=7&rec=1&url=https%3A%2F%2Fexample.com%2Fa&action_name=A",
		"?idsite=7&rec=1&url=https%3A%2F%2Fexample.com%2Fa&e_c=Form&e_a=Submit",
		"idsite=7&rec=1&url=https%3A%2F%2Fexample.com%2Fb",
		"?idsite=7&url=https%3A%2F%2Fexample.com%2Fnorec",
		"?idsite=8&rec=1&url=https%3A%2F%2Fexample.com%2Funknown",
		42,
		"?idsite=7&rec=1&url=https%3A%2F%2Fexample.com%2Fc&c_n=Banner"
	],"token_auth":"ignored"}`
	// matomo.js posts bulk JSON with the form content type.
	resp := compatServe(h, "POST", "/matomo.php", body, "Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
	if resp.StatusCode() != 200 {
		t.Fatalf("got status %d, want 200 (body %s)", resp.StatusCode(), resp.Body())
	}
	var got struct {
		Status         string `json:"status"`
		Tracked        int    `json:"tracked"`
		Invalid        int    `json:"invalid"`
		InvalidIndices []int  `json:"invalid_indices"`
	}
	if err := json.Unmarshal(resp.Body(), &got); err != nil {
		t.Fatalf("cannot decode %s: %v", resp.Body(), err)
	}
	if got.Status != "success" || got.Tracked != 4 || got.Invalid != 3 || !reflect.DeepEqual(got.InvalidIndices, []int{3, 4, 5}) {
		t.Errorf("got %+v, want success, 4 tracked, invalid 3, 4 and 5", got)
	}
	if names, want := sink.names(), []string{"pageview", "Form: Submit", "pageview"}; !reflect.DeepEqual(names, want) {
		t.Errorf("got appended %q, want %q", names, want)
	}

	for _, bad := range []string{`{"requests":"x"}`, `{"requests":[`, `{}`} {
		if resp := compatServe(h, "POST", "/matomo.php", bad); resp.StatusCode() != 400 {
			t.Errorf("%s: got status %d, want 400", bad, resp.StatusCode())
		}
	}
}

func TestServeMatomoBulkBackpressure(t *testing.T) {
	h, sink := newCompatCollector(t)
	sink.full = true
	resp := compatServe(h, "POST", "/matomo.php", `{"requests":["?idsite=7&rec=1&url=https://example.com/"]}`)
	if resp.StatusCode() != 503 || len(resp.Header.Peek("Retry-After")) == 0 {
		t.Errorf("got status %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode(), resp.Header.Peek("Retry-After"))
	}
	if !strings.Contains(string(resp.Body()), `"tracked":0`) {
		t.Errorf("got body %s, want it to say how many were tracked", resp.Body())
	}
	if resp := compatServe(h, "GET", "/matomo.php?idsite=7&rec=1&url=https://example.com/", ""); resp.StatusCode() != 503 {
		t.Errorf("single request: got status %d, want 503", resp.StatusCode())
	}
}

func FuzzDecodeMatomo(f *testing.F) {
	for _, q := range []string{
		"idsite=1&rec=1&url=https://example.com/&action_name=Home&res=1920x1080&lang=en-US",
		"idsite=1&rec=1&url=https://example.com/&e_c=A&e_a=B&e_n=C&e_v=1.5",
		"idsite=1&rec=1&url=https://example.com/&search=q&search_cat=c&search_count=3",
		"idsite=1&rec=1&url=https://example.com/&link=https://x.example/?a#b",
		"idsite=1&rec=1&url=https://example.com/&download=https://example.com/f.pdf",
		"idsite=1&rec=1&url=https://example.com/&ping=1&send_image=0",
		"idsite=1&rec=1&url=%ff%fe&action_name=%00%01&res=1e9x1",
	} {
		f.Add(q)
	}
	f.Fuzz(func(t *testing.T, q string) {
		m, err := decodeMatomo(matomoArgs(q))
		if err != nil {
			return
		}
		if m.drop != "" {
			return
		}
		if m.MatomoSiteID == 0 || m.URL == "" || m.Name == "" {
			t.Fatalf("accepted %q without site, URL or name: %+v", q, m.Hit)
		}
		if len(m.URL) > maxURLLen || len(m.Name) > maxNameLen || len(m.Title) > maxTitleLen ||
			len(m.Referrer) > maxURLLen || len(m.Language) > maxLanguageLen || len(m.PropKeys) > maxProps {
			t.Fatalf("field over its cap for %q: %+v", q, m.Hit)
		}
		if m.Width < 0 || m.Width > 100000 {
			t.Fatalf("width %d out of range for %q", m.Width, q)
		}
		for _, s := range append(append([]string{m.URL, m.Name, m.Title, m.Referrer, m.Language}, m.PropKeys...), m.PropValues...) {
			if clean(s, len(s)) != s {
				t.Fatalf("unclean field %q for %q", s, q)
			}
		}
	})
}

// TestMatomoStoredInClickHouse sends single, form and bulk Matomo requests
// through a collector backed by a real ClickHouse and reads the rows back.
func TestMatomoStoredInClickHouse(t *testing.T) {
	st := chtest.Store(t)
	ctx := context.Background()
	site := storage.NewSite("shop.example")
	site.MatomoID = 42
	if err := st.SaveSite(ctx, &site); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	set := metrics.NewSet()
	batcher := NewBatcher(logger, set, st, BatcherConfig{FlushInterval: 20 * time.Millisecond})
	var mu sync.Mutex
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	col, err := New(logger, set, st, batcher, Config{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	if err := col.Start(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := col.Handler(func(ctx *fasthttp.RequestCtx) { ctx.SetStatusCode(fasthttp.StatusNotFound) })
	if err != nil {
		t.Fatal(err)
	}
	const form = "application/x-www-form-urlencoded; charset=UTF-8"
	// 0 s pageview, 10 s event, 40 s bulk: a search and a heartbeat ping.
	for i, r := range []struct{ method, uri, body string }{
		{"GET", "/matomo.php?idsite=42&rec=1&url=https%3A%2F%2Fshop.example%2Fcart%3Fsession%3Dx&action_name=Cart&res=390x844&lang=de-DE&urlref=https%3A%2F%2Fwww.google.com%2F&_id=0123456789abcdef&cip=198.51.100.1", ""},
		{"POST", "/piwik.php", "idsite=42&rec=1&url=https%3A%2F%2Fshop.example%2Fcart&e_c=Checkout&e_a=Pay&e_v=19.9&send_image=0"},
		{"POST", "/matomo.php", `{"requests":["?idsite=42&rec=1&url=https%3A%2F%2Fshop.example%2Fsearch&search=boots&search_count=3","?idsite=42&rec=1&url=https%3A%2F%2Fshop.example%2Fcart&ping=1"]}`},
	} {
		mu.Lock()
		now = now.Add(time.Duration([]int{0, 10, 30}[i]) * time.Second)
		mu.Unlock()
		resp := compatServe(h, r.method, r.uri, r.body, "Content-Type", form)
		if s := resp.StatusCode(); s != 200 && s != 204 {
			t.Fatalf("%s %s: got status %d (%s)", r.method, r.uri, s, resp.Body())
		}
	}
	if err := batcher.Close(ctx); err != nil {
		t.Fatal(err)
	}
	rows, err := st.Conn().Query(ctx, `SELECT name, pathname, title, screen, language, referrer_source, ip, prop_keys, prop_values
		FROM events WHERE site_id = ? ORDER BY timestamp, name`, site.ID)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []string
	for rows.Next() {
		var name, path, title, screen, lang, source, ip string
		var keys, values []string
		if err := rows.Scan(&name, &path, &title, &screen, &lang, &source, &ip, &keys, &values); err != nil {
			t.Fatal(err)
		}
		if ip == "198.51.100.0" || ip == "198.51.100.1" {
			t.Errorf("stored the client-supplied cip %q", ip)
		}
		got = append(got, fmt.Sprintf("%s %s %q %s %s %s %v=%v", name, path, title, screen, lang, source, keys, values))
	}
	sort.Strings(got)
	want := []string{
		`Checkout: Pay /cart ""    [category action value]=[Checkout Pay 19.9]`,
		`Site Search /search ""    [query count]=[boots 3]`,
		`engagement /cart ""    []=[]`,
		`pageview /cart "Cart" Mobile de-DE Google []=[]`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("got rows\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	// The heartbeat keeps the visit going: one visit of 40 s.
	var visits, pageviews, duration int64
	if err := st.Conn().QueryRow(ctx, `SELECT toInt64(sum(sign)), toInt64(sum(pageviews * sign)), toInt64(sum(duration * sign))
		FROM sessions WHERE site_id = ?`, site.ID).Scan(&visits, &pageviews, &duration); err != nil {
		t.Fatal(err)
	}
	if visits != 1 || pageviews != 1 || duration != 40 {
		t.Errorf("got %d visits, %d pageviews, %d s; want 1 visit of 1 pageview lasting 40 s", visits, pageviews, duration)
	}
}
