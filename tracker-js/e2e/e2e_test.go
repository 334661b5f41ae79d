// Package e2e runs the tracking snippet in headless Chromium against a real
// collector backed by a real ClickHouse, and checks what was stored.
//
// browser.mjs drives Chromium with playwright-core from tracker-js/node_modules
// (never a downloaded browser: it uses Debian's /usr/bin/chromium). Without
// node, chromium or playwright-core the test skips, except when CI is set:
// then it fails, so a CI run cannot pass by skipping.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/VictoriaMetrics/metrics"
	"github.com/valyala/fasthttp"

	"github.com/shade-analytics/shade/collector"
	"github.com/shade-analytics/shade/internal/chtest"
	"github.com/shade-analytics/shade/storage"
)

func TestMain(m *testing.M) { os.Exit(chtest.Main(m)) }

const chromiumPath = "/usr/bin/chromium"

// siteDomain is the data-domain of the test pages; they are served from
// 127.0.0.1, so the snippet needs data-allow-localhost, and Chromium under
// playwright sets navigator.webdriver, so it needs data-allow-automation.
const siteDomain = "test.localhost"

// requireBrowser returns node's path, or skips (fails in CI) when node,
// Chromium or playwright-core is missing.
func requireBrowser(t *testing.T) (node, dir string) {
	t.Helper()
	missing := func(format string, args ...any) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("browser end-to-end tests are required in CI: "+format, args...)
		}
		t.Skipf("no browser end-to-end test: "+format, args...)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node not in PATH: %v", err)
	}
	if _, err := os.Stat(chromiumPath); err != nil {
		missing("%s missing (apt-get install chromium): %v", chromiumPath, err)
	}
	_, file, _, _ := runtime.Caller(0)
	dir = filepath.Dir(file)
	if _, err := os.Stat(filepath.Join(dir, "..", "node_modules", "playwright-core", "package.json")); err != nil {
		missing("playwright-core not installed (cd tracker-js && npm ci): %v", err)
	}
	return node, dir
}

// sent is one request the page made to /api/event and the collector's answer.
type sent struct {
	Path    string `json:"path"` // pathname of the event's page URL
	Name    string `json:"name"`
	Status  int    `json:"status"`
	Dropped string `json:"dropped"`
}

// recorder wraps the collector's handler to log what the snippet sent, so
// browser.mjs can wait for requests instead of sleeping, and can tell "not
// sent by the snippet" from "sent and dropped by the collector".
type recorder struct {
	mu   sync.Mutex
	sent []sent
}

func (rec *recorder) wrap(h fasthttp.RequestHandler) fasthttp.RequestHandler {
	return func(ctx *fasthttp.RequestCtx) {
		if string(ctx.Path()) == "/__e2e/log" {
			rec.mu.Lock()
			b, _ := json.Marshal(rec.sent)
			rec.mu.Unlock()
			ctx.SetContentType("application/json")
			ctx.SetBody(b)
			return
		}
		isEvent := string(ctx.Path()) == "/api/event" && ctx.IsPost()
		isMatomo := string(ctx.Path()) == "/matomo.php" && !ctx.IsOptions()
		var body struct {
			N string `json:"n"`
			U string `json:"u"`
		}
		if isEvent {
			_ = json.Unmarshal(ctx.PostBody(), &body)
		}
		h(ctx)
		if !isEvent && !isMatomo {
			return
		}
		s := sent{Name: body.N, Status: ctx.Response.StatusCode(), Dropped: string(ctx.Response.Header.Peek("Shade-Dropped"))}
		if isMatomo {
			s.Path = "/matomo.php"
		} else if u, err := url.Parse(body.U); err == nil {
			s.Path = u.Path
		}
		rec.mu.Lock()
		rec.sent = append(rec.sent, s)
		rec.mu.Unlock()
	}
}

// page is the HTML of a test page: the snippet, and a stub that queues
// calls made before the snippet loads.
func page(title, extra string) string {
	return `<!doctype html><html><head><meta charset="utf-8"><title>` + title + `</title>
<script>window.shade = window.shade || function () { (window.shade.q = window.shade.q || []).push(arguments) };</script>
` + extra + `
<script defer src="/shade.js" data-domain="` + siteDomain + `" data-allow-localhost data-allow-automation></script>
</head><body><h1>` + title + `</h1><div style="height:3000px"></div></body></html>`
}

func pages(ctx *fasthttp.RequestCtx) {
	var html string
	switch p := string(ctx.Path()); {
	case p == "/normal.html":
		html = page("Normal", `<script>shade('Signup', {props: {plan: 'pro', seats: 3}});</script>`)
	case p == "/matomo.html":
		ctx.SetContentType("text/html; charset=utf-8")
		ctx.SetBodyString(matomoPage)
		return
	case p == "/spa.html", strings.HasPrefix(p, "/spa/"):
		html = page("SPA", "")
	case strings.HasSuffix(p, ".html"):
		html = page(strings.TrimSuffix(strings.TrimPrefix(p, "/"), ".html"), "")
	case p == "/favicon.ico":
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	default:
		ctx.SetStatusCode(fasthttp.StatusNotFound)
		return
	}
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBodyString(html)
}

// matomoPage is opened at http://localhost:PORT and sends to the collector
// at http://127.0.0.1:PORT, a cross-origin tracker URL, the way matomo.js
// does: a form-encoded beacon, a bulk JSON XMLHttpRequest with credentials,
// and an image request. Matomo's own script is not in this repository (the
// repository holds only code written for it).
const matomoPage = `<!doctype html><html><head><meta charset="utf-8"><title>Matomo</title></head><body>
<script>
(async () => {
  const api = location.origin.replace('localhost', '127.0.0.1') + '/matomo.php';
  const q = (extra) => 'idsite=5&rec=1&url=' + encodeURIComponent(location.href) + extra;
  const form = 'application/x-www-form-urlencoded; charset=UTF-8';
  const beacon = navigator.sendBeacon(api, new Blob([q('&action_name=Matomo%20page&res=1280x800&_id=0123456789abcdef')], { type: form }));
  const bulk = await new Promise((resolve) => {
    const x = new XMLHttpRequest();
    x.open('POST', api);
    x.withCredentials = true;
    x.setRequestHeader('Content-Type', form);
    x.onload = () => resolve({ status: x.status, body: x.responseText });
    x.onerror = () => resolve({ status: -1 });
    x.send(JSON.stringify({ requests: ['?' + q('&e_c=Video&e_a=Play&ca=1'), '?' + q('&search=boots&search_count=3')] }));
  });
  const image = await new Promise((resolve) => {
    const i = new Image();
    i.onload = () => resolve(i.naturalWidth);
    i.onerror = () => resolve(-1);
    i.src = api + '?' + q('&link=' + encodeURIComponent('https://other.example/x?token=1'));
  });
  window.matomoResult = { beacon, bulk, image };
})();
</script></body></html>`

// browserReport is what browser.mjs prints.
type browserReport struct {
	Normal struct {
		Cookies        []string `json:"cookies"`
		LocalStorage   int      `json:"localStorage"`
		SessionStorage int      `json:"sessionStorage"`
	} `json:"normal"`
	DNT struct {
		SnippetSent []sent `json:"snippetSent"`
		ManualSent  []sent `json:"manualSent"`
	} `json:"dnt"`
	GPC struct {
		SnippetSent []sent `json:"snippetSent"`
		ManualSent  []sent `json:"manualSent"`
	} `json:"gpc"`
	OptOutStorage struct {
		Flag string `json:"flag"`
		Sent []sent `json:"sent"`
	} `json:"optOutStorage"`
	Matomo struct {
		Beacon bool `json:"beacon"`
		Bulk   struct {
			Status int    `json:"status"`
			Body   string `json:"body"`
		} `json:"bulk"`
		Image int `json:"image"`
	} `json:"matomo"`
	OptOutCookie struct {
		StateOut string `json:"stateOut"`
		Cookie   struct {
			Name     string  `json:"name"`
			Value    string  `json:"value"`
			HTTPOnly bool    `json:"httpOnly"`
			SameSite string  `json:"sameSite"`
			Expires  float64 `json:"expires"`
		} `json:"cookie"`
		Sent        []sent `json:"sent"`
		StateIn     string `json:"stateIn"`
		CookiesLeft int    `json:"cookiesLeft"`
	} `json:"optOutCookie"`
}

// stored is one row of the events table.
type stored struct {
	Name, Path, Title string
	Props             map[string]string
	EngagementMS      uint32
}

func TestSnippetInChromium(t *testing.T) {
	node, dir := requireBrowser(t)
	st := chtest.Store(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	site := storage.NewSite(siteDomain)
	if err := st.SaveSite(ctx, &site); err != nil {
		t.Fatal(err)
	}
	matomoSite := storage.NewSite("matomo.localhost")
	matomoSite.MatomoID = 5
	if err := st.SaveSite(ctx, &matomoSite); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	set := metrics.NewSet()
	batcher := collector.NewBatcher(logger, set, st, collector.BatcherConfig{FlushInterval: 100 * time.Millisecond})
	closed := false
	defer func() {
		if !closed {
			_ = batcher.Close(context.Background())
		}
	}()
	col, err := collector.New(logger, set, st, batcher, collector.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := col.Start(ctx); err != nil {
		t.Fatal(err)
	}
	handler, err := col.Handler(pages)
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	srv := &fasthttp.Server{Handler: rec.wrap(handler), Name: "shade-e2e"}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	defer func() {
		_ = srv.Shutdown()
		<-served
	}()
	base := "http://" + ln.Addr().String()

	cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "browser.mjs"), base, chromiumPath)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("browser.mjs failed: %v\nstderr:\n%s\nstdout:\n%s", err, stderr.String(), stdout.String())
	}
	var rep browserReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("cannot decode browser.mjs output: %v\n%s", err, stdout.String())
	}

	// Everything the collector accepted is inserted by Close.
	closed = true
	if err := batcher.Close(ctx); err != nil {
		t.Fatalf("cannot flush events: %v", err)
	}
	events := query(ctx, t, st, site.ID)
	count := func(path, name string) int {
		n := 0
		for _, e := range events {
			if e.Path == path && e.Name == name {
				n++
			}
		}
		return n
	}
	eq := func(what string, got, want any) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: got %v, want %v", what, got, want)
		}
	}

	t.Run("pageview stored", func(t *testing.T) {
		eq("pageviews of /normal.html", count("/normal.html", "pageview"), 1)
		for _, e := range events {
			if e.Path == "/normal.html" && e.Name == "pageview" {
				eq("title", e.Title, "Normal")
			}
		}
	})
	t.Run("custom event with props", func(t *testing.T) {
		eq("Signup events", count("/normal.html", "Signup"), 1)
		for _, e := range events {
			if e.Name == "Signup" {
				eq("props", e.Props, map[string]string{"plan": "pro", "seats": "3"})
			}
		}
	})
	t.Run("engagement recorded when the page is hidden", func(t *testing.T) {
		var ms uint32
		for _, e := range events {
			if e.Path == "/normal.html" && e.Name == "engagement" {
				ms += e.EngagementMS
			}
		}
		if ms == 0 {
			t.Errorf("got no engaged time for /normal.html, want > 0; events: %+v", events)
		}
	})
	t.Run("SPA navigations counted once each", func(t *testing.T) {
		// load, pushState /spa/one, pushState /spa/two, replaceState and
		// pushState within /spa/two (not new pages), back to /spa/two?tab=2
		// (same path), back to /spa/one (a navigation: counted again).
		eq("/spa.html", count("/spa.html", "pageview"), 1)
		eq("/spa/one", count("/spa/one", "pageview"), 2)
		eq("/spa/two", count("/spa/two", "pageview"), 1)
		if count("/spa.html", "engagement")+count("/spa/one", "engagement") == 0 {
			t.Errorf("want engagement sent before SPA navigations, got none")
		}
	})
	t.Run("no cookie and no storage on a normal visit", func(t *testing.T) {
		eq("cookies", rep.Normal.Cookies, []string{})
		eq("localStorage items", rep.Normal.LocalStorage, 0)
		eq("sessionStorage items", rep.Normal.SessionStorage, 0)
	})
	for _, c := range []struct {
		name, path, drop string
		snippet, manual  []sent
	}{
		{"DNT", "/dnt.html", collector.DropDNT, rep.DNT.SnippetSent, rep.DNT.ManualSent},
		{"GPC", "/gpc.html", collector.DropGPC, rep.GPC.SnippetSent, rep.GPC.ManualSent},
	} {
		t.Run(c.name+" honoured", func(t *testing.T) {
			eq("requests sent by the snippet", len(c.snippet), 0)
			// A request sent anyway (by other code on the page) is dropped by the collector.
			if len(c.manual) != 1 || c.manual[0].Dropped != c.drop || c.manual[0].Status != 202 {
				t.Errorf("got %+v for a hand-made request, want one 202 with Shade-Dropped %s", c.manual, c.drop)
			}
			eq("events stored for "+c.path, count(c.path, "pageview")+count(c.path, "Signup"), 0)
		})
	}
	t.Run("opt-out flag in localStorage honoured", func(t *testing.T) {
		eq("flag set by shade.optOut()", rep.OptOutStorage.Flag, "1")
		eq("requests sent after opting out", len(rep.OptOutStorage.Sent), 0)
		eq("pageviews before opting out", count("/optout-setup.html", "pageview"), 1)
		eq("events after opting out", count("/optout-ls.html", "pageview")+count("/optout-ls.html", "Signup"), 0)
	})
	t.Run("opt-out cookie from /optout honoured", func(t *testing.T) {
		oc := rep.OptOutCookie
		if !strings.Contains(oc.StateOut, "you opted out") {
			t.Errorf("got page state %q after opting out", oc.StateOut)
		}
		eq("cookie", fmt.Sprintf("%s=%s httpOnly=%v sameSite=%s", oc.Cookie.Name, oc.Cookie.Value, oc.Cookie.HTTPOnly, oc.Cookie.SameSite),
			"shade_optout=1 httpOnly=true sameSite=Lax")
		if days := (oc.Cookie.Expires - float64(time.Now().Unix())) / 86400; days < 390 || days > 400 {
			t.Errorf("got cookie expiring in %.0f days, want about 396 (13 months)", days)
		}
		if len(oc.Sent) == 0 {
			t.Errorf("want the snippet's requests (it cannot read the HttpOnly cookie), got none")
		}
		for _, s := range oc.Sent {
			if s.Dropped != collector.DropOptOut {
				t.Errorf("got %+v, want Shade-Dropped optout", s)
			}
		}
		eq("events stored for /optout-cookie.html", count("/optout-cookie.html", "pageview"), 0)
		if !strings.Contains(oc.StateIn, "You are counted") {
			t.Errorf("got page state %q after opting back in", oc.StateIn)
		}
		eq("cookies left after opting in", oc.CookiesLeft, 0)
	})
	t.Run("Matomo requests from another origin", func(t *testing.T) {
		m := rep.Matomo
		eq("sendBeacon queued", m.Beacon, true)
		eq("bulk reply readable with credentials", fmt.Sprint(m.Bulk.Status, " ", strings.TrimSpace(m.Bulk.Body)),
			`200 {"status":"success","tracked":2,"invalid":0,"invalid_indices":[]}`)
		eq("image width", m.Image, 1)
		var got []string
		for _, e := range query(ctx, t, st, matomoSite.ID) {
			got = append(got, fmt.Sprintf("%s %s %q %v", e.Name, e.Path, e.Title, e.Props))
		}
		sort.Strings(got)
		eq("stored", strings.Join(got, "; "), strings.Join([]string{
			`Outbound Link: Click /matomo.html "" map[url:https://other.example/x]`,
			`Site Search /matomo.html "" map[count:3 query:boots]`,
			`Video: Play /matomo.html "" map[action:Play category:Video]`,
			`pageview /matomo.html "Matomo page" map[]`,
		}, "; "))
	})
	if t.Failed() {
		t.Logf("browser report: %s", stdout.String())
		t.Logf("browser log: %s", stderr.String())
	}
}

func query(ctx context.Context, t *testing.T, st *storage.Store, siteID uint32) []stored {
	t.Helper()
	rows, err := st.Conn().Query(ctx,
		`SELECT name, pathname, title, prop_keys, prop_values, engagement_ms FROM events WHERE site_id = ? ORDER BY timestamp`, siteID)
	if err != nil {
		t.Fatalf("cannot query events: %v", err)
	}
	defer rows.Close()
	var out []stored
	for rows.Next() {
		var e stored
		var keys, values []string
		if err := rows.Scan(&e.Name, &e.Path, &e.Title, &keys, &values, &e.EngagementMS); err != nil {
			t.Fatalf("cannot scan event: %v", err)
		}
		if len(keys) > 0 {
			e.Props = map[string]string{}
			for i, k := range keys {
				e.Props[k] = values[i]
			}
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("cannot read events: %v", err)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out
}
