package dashboard

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shade-analytics/shade/internal/chtest"
	"github.com/shade-analytics/shade/storage"
)

// Hostile strings a stranger can put in a page title and a referrer.
const (
	hostileTitle    = `<script>window.pwned=1</script>`
	hostileReferrer = `/<img src=x onerror="window.pwned=2">`
	formulaTitle    = `=HYPERLINK("http://evil.example","x")`
)

// env is a dashboard on a fresh database with two sites, an admin, a viewer
// of site A only, their API tokens and a small known data set.
type env struct {
	t            *testing.T
	store        *storage.Store
	h            *Handler
	srv          *httptest.Server
	siteA, siteB storage.Site
	adminToken   string
	viewerToken  string
}

const (
	adminEmail  = "admin@example.com"
	viewerEmail = "viewer@example.com"
	password    = "correct horse battery"
)

// now is the handler's clock in tests: 16:00 UTC on Sunday 10 March 2024.
var now = time.Date(2024, 3, 10, 16, 0, 0, 0, time.UTC)

type tv struct {
	session, visitor uint64
	at               string
	source, country  string
	refPath          string
	pages            []string // pathnames; an entry "!Name" is a custom event
	title            string
}

// data for site A (Europe/Paris). On 2024-03-10 (Paris): 3 visitors, 3 visits,
// 4 pageviews; on 2024-03-09: 1 visitor.
var dataA = []tv{
	{1, 1, "2024-03-10 09:00:00", "Google", "FR", "/", []string{"/", "/blog/a", "!Signup"}, formulaTitle},
	{2, 2, "2024-03-10 10:00:00", "", "DE", "", []string{"/"}, "Home"},
	{3, 3, "2024-03-10 15:58:00", "Twitter", "US", hostileReferrer, []string{"/blog/a"}, hostileTitle},
	{4, 4, "2024-03-09 12:00:00", "Google", "FR", "/", []string{"/pricing"}, "Pricing"},
}

func insertVisits(t testing.TB, st *storage.Store, site uint32, visits []tv) {
	t.Helper()
	var b storage.Batch
	for _, v := range visits {
		start, _ := time.Parse(time.DateTime, v.at)
		s := storage.Session{SiteID: site, SessionID: v.session, VisitorID: v.visitor, Sign: 1, Start: start,
			ReferrerSource: v.source, ReferrerHost: strings.ToLower(v.source) + ".example", ReferrerPath: v.refPath,
			Country: v.country, Device: "desktop", Browser: "Firefox", BrowserVersion: "123", OS: "Linux", Screen: "desktop"}
		at := start
		for _, p := range v.pages {
			e := storage.Event{SiteID: site, Timestamp: at, Name: "pageview", VisitorID: v.visitor, SessionID: v.session,
				Pathname: p, Title: v.title, ReferrerSource: v.source, ReferrerHost: s.ReferrerHost, ReferrerPath: v.refPath,
				Country: v.country, Device: "desktop", Browser: "Firefox", BrowserVersion: "123", OS: "Linux"}
			if name, ok := strings.CutPrefix(p, "!"); ok {
				e.Name, e.Pathname = name, s.ExitPage
				e.PropKeys, e.PropValues = []string{"plan"}, []string{"pro"}
				s.Interactions++
			} else {
				s.Pageviews++
				if s.EntryPage == "" {
					s.EntryPage = p
				}
				s.ExitPage = p
			}
			s.Events++
			b.Events = append(b.Events, e)
			s.End = at
			at = at.Add(time.Minute)
		}
		s.Duration = uint32(s.End.Sub(s.Start).Seconds())
		b.Sessions = append(b.Sessions, s)
	}
	if err := st.Insert(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
}

func newEnv(t *testing.T, cfg Config) *env {
	t.Helper()
	ctx := context.Background()
	st := chtest.Store(t)
	e := &env{t: t, store: st}
	e.siteA = storage.NewSite("a.example")
	e.siteA.Timezone = "Europe/Paris"
	e.siteB = storage.NewSite("b.example")
	for _, s := range []*storage.Site{&e.siteA, &e.siteB} {
		if err := st.SaveSite(ctx, s); err != nil {
			t.Fatal(err)
		}
	}
	for _, u := range []struct {
		email, role string
		sites       []uint32
	}{{adminEmail, storage.RoleAdmin, nil}, {viewerEmail, storage.RoleViewer, []uint32{e.siteA.ID}}} {
		user, err := storage.NewUser(u.email, password, u.role, u.sites)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.SaveUser(ctx, &user); err != nil {
			t.Fatal(err)
		}
	}
	var err error
	if e.adminToken, err = st.AddToken(ctx, adminEmail, "test"); err != nil {
		t.Fatal(err)
	}
	if e.viewerToken, err = st.AddToken(ctx, viewerEmail, "test"); err != nil {
		t.Fatal(err)
	}
	insertVisits(t, st, e.siteA.ID, dataA)
	insertVisits(t, st, e.siteB.ID, []tv{{9, 9, "2024-03-10 11:00:00", "Secret", "JP", "", []string{"/b-secret-page"}, "B secret"}})
	if cfg.CollectorURL == "" {
		cfg.CollectorURL = "https://stats.example"
	}
	e.h, err = New(slog.New(slog.NewTextHandler(io.Discard, nil)), st, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e.h.now = func() time.Time { return now }
	e.srv = httptest.NewServer(e.h)
	t.Cleanup(e.srv.Close)
	return e
}

// client is a browser-like client with its own cookie jar that does not
// follow redirects, so tests see them.
func (e *env) client() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get fetches a page and returns its status and body.
func (e *env) get(c *http.Client, path string) (int, string) {
	e.t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (e *env) post(c *http.Client, path string, form url.Values) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", e.srv.URL)
	resp, err := c.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

// signIn signs a new client in and returns it with its CSRF token.
func (e *env) signIn(email string) (*http.Client, string) {
	e.t.Helper()
	c := e.client()
	_, body := e.get(c, "/login")
	m := csrfField.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatal("no CSRF field on the sign-in page")
	}
	resp := e.post(c, "/login", url.Values{"csrf": {m[1]}, "email": {email}, "password": {password}, "next": {"/"}})
	if resp.StatusCode != http.StatusSeeOther {
		e.t.Fatalf("sign-in as %s: status %d, want 303", email, resp.StatusCode)
	}
	_, body = e.get(c, "/tokens")
	m = csrfField.FindStringSubmatch(body)
	if m == nil {
		e.t.Fatal("no CSRF field once signed in")
	}
	return c, m[1]
}
