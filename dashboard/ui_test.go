package dashboard

import (
	"context"
	"encoding/csv"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/shade-analytics/shade/storage"
)

func TestSecurityHeaders(t *testing.T) {
	e := newEnv(t, Config{})
	resp, err := http.Get(e.srv.URL + "/login")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	csp := resp.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP %q allows inline code", csp)
	}
	if got := resp.Header.Get("X-Frame-Options"); got != "DENY" {
		t.Errorf("X-Frame-Options = %q, want DENY", got)
	}
}

func TestSignIn(t *testing.T) {
	for _, secure := range []bool{false, true} {
		e := newEnv(t, Config{Secure: secure, SignInAttempts: 3})
		c := e.client()
		if status, _ := e.get(c, "/sites/a.example/overview"); status != http.StatusSeeOther {
			t.Errorf("signed out: status %d, want a redirect to /login", status)
		}
		_, body := e.get(c, "/login")
		token := csrfField.FindStringSubmatch(body)[1]
		form := func(pw string) url.Values {
			return url.Values{"csrf": {token}, "email": {"Viewer@Example.com"}, "password": {pw}, "next": {"//evil.example/"}}
		}
		if resp := e.post(c, "/login", url.Values{"email": {viewerEmail}, "password": {password}}); resp.StatusCode != http.StatusForbidden {
			t.Errorf("sign-in without CSRF token: status %d, want 403", resp.StatusCode)
		}
		_, body = e.get(c, "/login")
		token = csrfField.FindStringSubmatch(body)[1]
		if resp := e.post(c, "/login", form("wrong password!")); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("wrong password: status %d, want 401", resp.StatusCode)
		}
		_, body = e.get(c, "/login")
		token = csrfField.FindStringSubmatch(body)[1]
		resp := e.post(c, "/login", form(password))
		if resp.StatusCode != http.StatusSeeOther || resp.Header.Get("Location") != "/" {
			t.Fatalf("sign-in: status %d to %q, want 303 to / (never to another site)", resp.StatusCode, resp.Header.Get("Location"))
		}
		var session *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == sessionCookie {
				session = ck
			}
		}
		if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteLaxMode || session.Secure != secure || len(session.Value) < 40 {
			t.Errorf("session cookie %+v: want HttpOnly, SameSite=Lax, Secure=%v, a long random value", session, secure)
		}
		if status, _ := e.get(c, "/sites/a.example/overview"); status != http.StatusOK {
			t.Errorf("signed in: status %d, want 200", status)
		}
		// Sign out ends the session on the server, not only in the browser.
		_, body = e.get(c, "/tokens")
		csrf := csrfField.FindStringSubmatch(body)[1]
		if resp := e.post(c, "/logout", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
			t.Errorf("sign out: status %d, want 303", resp.StatusCode)
		}
		if _, err := e.store.AuthSessionBySecret(context.Background(), session.Value); err == nil {
			t.Error("the session still works after signing out")
		}
	}
}

func TestSignInRateLimit(t *testing.T) {
	e := newEnv(t, Config{SignInAttempts: 3})
	attempt := func(c *http.Client, email, pw string) int {
		_, body := e.get(c, "/login")
		token := csrfField.FindStringSubmatch(body)[1]
		return e.post(c, "/login", url.Values{"csrf": {token}, "email": {email}, "password": {pw}}).StatusCode
	}
	c := e.client()
	for i := 0; i < 3; i++ {
		if got := attempt(c, viewerEmail, "wrong password!"); got != http.StatusUnauthorized {
			t.Fatalf("attempt %d: status %d, want 401", i+1, got)
		}
	}
	if got := attempt(c, viewerEmail, password); got != http.StatusTooManyRequests {
		t.Errorf("right password after 3 failures: status %d, want 429", got)
	}
	// The per-client limit holds across email addresses.
	if got := attempt(c, adminEmail, password); got != http.StatusTooManyRequests {
		t.Errorf("another account from the same client: status %d, want 429", got)
	}
	// Another client is limited for the attacked email, not for others.
	e.h.limiter.reset("client:127.0.0.1")
	if got := attempt(e.client(), viewerEmail, password); got != http.StatusTooManyRequests {
		t.Errorf("attacked email from a fresh client: status %d, want 429", got)
	}
	if got := attempt(e.client(), adminEmail, password); got != http.StatusSeeOther {
		t.Errorf("other email from a fresh client: status %d, want 303", got)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, Config{})
	c, csrf := e.signIn(adminEmail)
	if resp := e.post(c, "/tokens", url.Values{"name": {"x"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST without CSRF token: status %d, want 403", resp.StatusCode)
	}
	if resp := e.post(c, "/tokens", url.Values{"name": {"x"}, "csrf": {"forged"}}); resp.StatusCode != http.StatusForbidden {
		t.Errorf("POST with a wrong CSRF token: status %d, want 403", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/tokens", strings.NewReader(url.Values{"name": {"x"}, "csrf": {csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("cross-origin POST with the token: status %d, want 403", resp.StatusCode)
	}
	tokens, _ := e.store.Tokens(context.Background(), adminEmail)
	if len(tokens) != 1 {
		t.Errorf("%d tokens after refused posts, want only the fixture's 1", len(tokens))
	}
	if resp := e.post(c, "/tokens", url.Values{"name": {"laptop"}, "csrf": {csrf}}); resp.StatusCode != http.StatusOK {
		t.Errorf("POST with the token: status %d, want 200", resp.StatusCode)
	}
}

func TestRolesAndSiteIsolation(t *testing.T) {
	e := newEnv(t, Config{})
	viewer, _ := e.signIn(viewerEmail)
	for _, path := range []string{"/sites/b.example/overview", "/sites/b.example/visits", "/sites/b.example/settings",
		"/sites/b.example/overview/export.csv?table=pages", "/sites/a.example/settings", "/admin/users", "/admin/sites",
		"/sites/nope.example/overview"} {
		status, body := e.get(viewer, path)
		if status != http.StatusNotFound {
			t.Errorf("viewer GET %s: status %d, want 404", path, status)
		}
		if strings.Contains(body, "b-secret-page") || strings.Contains(body, "JP") && strings.Contains(path, "b.example") {
			t.Errorf("viewer GET %s shows site B's data", path)
		}
	}
	if status, _ := e.get(viewer, "/"); status != http.StatusSeeOther {
		t.Errorf("viewer of one site: / status %d, want a redirect to it", status)
	}
	admin, _ := e.signIn(adminEmail)
	for _, path := range []string{"/sites/b.example/overview", "/admin/users", "/admin/sites", "/sites/a.example/settings"} {
		if status, _ := e.get(admin, path); status != http.StatusOK {
			t.Errorf("admin GET %s: status %d, want 200", path, status)
		}
	}
}

var hrefs = regexp.MustCompile(`href="([^"]+)"`)

func TestReportPages(t *testing.T) {
	e := newEnv(t, Config{})
	c, _ := e.signIn(viewerEmail)
	const q = "?period=day&date=2024-03-10"
	for _, report := range []string{"overview", "behaviour", "acquisition", "audience", "goals", "visits"} {
		status, body := e.get(c, "/sites/a.example/"+report+q)
		if status != http.StatusOK {
			t.Fatalf("%s: status %d", report, status)
		}
		// Stored strings are escaped, never markup.
		if strings.Contains(body, "<script>window") || strings.Contains(body, "<img src=x") {
			t.Errorf("%s: a stored payload reached the page unescaped", report)
		}
		if strings.Contains(body, "<script>") || strings.Contains(body, " style=") || strings.Contains(body, " onclick=") {
			t.Errorf("%s: inline script or style in the page", report)
		}
	}
	_, body := e.get(c, "/sites/a.example/overview"+q)
	for _, want := range []string{">3<", "&#43;200%", "current visitors", "<polyline"} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	_, body = e.get(c, "/sites/a.example/behaviour"+q)
	if !strings.Contains(body, "&lt;script&gt;window.pwned=1&lt;/script&gt;") {
		t.Error("behaviour: the hostile title is not shown as text")
	}
	_, body = e.get(c, "/sites/a.example/acquisition"+q)
	if !strings.Contains(body, "&lt;img src=x onerror=&#34;window.pwned=2&#34;&gt;") {
		t.Error("acquisition: the hostile referrer is not shown as text")
	}
	// Without goals the campaign tables have no conversion columns; with one,
	// each campaign table shows its converted visits and rate: of the day's 3
	// visits (none with a campaign), visit 1 sent Signup.
	if strings.Contains(body, ">Conversions<") {
		t.Error("acquisition shows conversions although the site has no goals")
	}
	if err := e.store.SaveGoal(context.Background(), &storage.Goal{SiteID: e.siteA.ID, Kind: storage.GoalEvent, Value: "Signup"}); err != nil {
		t.Fatal(err)
	}
	_, body = e.get(c, "/sites/a.example/acquisition"+q)
	for _, id := range []string{"utm_source", "utm_medium", "utm_campaign", "utm_content", "utm_term"} {
		section, _, _ := strings.Cut(body[strings.Index(body, `id="t-`+id+`"`):], "</section>")
		for _, want := range []string{`<th scope="col" class="num">Conversions</th><th scope="col" class="num">Conversion rate</th>`,
			`<td class="num">1</td>`, `<td class="num">33.3%</td>`} {
			if !strings.Contains(section, want) {
				t.Errorf("acquisition table %s lacks %q", id, want)
			}
		}
	}
	if section, _, _ := strings.Cut(body[strings.Index(body, `id="t-sources"`):], "</section>"); strings.Contains(section, "Conversions") {
		t.Error("the sources table shows conversions: only campaign tables do")
	}
	// Clicking a row filters: the link keeps the period and adds the filter.
	_, body = e.get(c, "/sites/a.example/overview"+q)
	var link string
	for _, m := range hrefs.FindAllStringSubmatch(body, -1) {
		if strings.Contains(m[1], "filters=visit%3Asource%3D%3DGoogle") {
			link = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if link == "" || !strings.Contains(link, "period=day") || !strings.Contains(link, "date=2024-03-10") {
		t.Fatalf("no row link filtering by source Google with the period kept (got %q)", link)
	}
	_, body = e.get(c, link)
	if !strings.Contains(body, "Source is Google") {
		t.Error("the filtered page does not show the active filter")
	}
	// Google's one visitor viewed / and /blog/a: the page table shows both and nothing else.
	if !strings.Contains(body, `Filter by this value">/blog/a<`) || strings.Contains(body, `Filter by this value">Twitter<`) {
		t.Error("the filter did not apply to the other tables")
	}
	// A second click combines filters.
	for _, m := range hrefs.FindAllStringSubmatch(body, -1) {
		if strings.Contains(m[1], "event%3Apage%3D%3D%2Fblog%2Fa") {
			link = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	if !strings.Contains(link, "visit%3Asource%3D%3DGoogle") {
		t.Errorf("the second filter link %q dropped the first filter", link)
	}
	// The visits log shows steps, never identifiers.
	_, body = e.get(c, "/sites/a.example/visits"+q)
	if !strings.Contains(body, "/blog/a") || !strings.Contains(body, "<em>Signup</em>") {
		t.Error("visits log lacks the visit's steps")
	}
	// A custom range from the form's two date inputs.
	status, body := e.get(c, "/sites/a.example/overview?period=custom&from=2024-03-09&to=2024-03-10")
	if status != http.StatusOK || !strings.Contains(body, "2024-03-09 – 2024-03-10") {
		t.Errorf("custom range: status %d, range not shown", status)
	}
	if status, _ := e.get(c, "/sites/a.example/overview?period=custom&from=2024-03-10&to=2024-03-01"); status != http.StatusBadRequest {
		t.Errorf("reversed custom range: status %d, want 400", status)
	}
}

func TestCSVExport(t *testing.T) {
	e := newEnv(t, Config{})
	c, _ := e.signIn(viewerEmail)
	resp, err := c.Get(e.srv.URL + "/sites/a.example/behaviour/export.csv?period=day&date=2024-03-10&table=titles")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Errorf("Content-Type %q, want text/csv", ct)
	}
	records, err := csv.NewReader(resp.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, r := range records[1:] {
		got[r[0]] = true
	}
	if !got["'"+formulaTitle] || got[formulaTitle] {
		t.Errorf("formula title exported as %v, want it prefixed with '", records)
	}
	if !got[hostileTitle] {
		t.Errorf("titles export %v lacks the plain-text title", records)
	}
	for _, tc := range []struct{ in, want string }{{"=1+1", "'=1+1"}, {"+1", "'+1"}, {"-1", "'-1"}, {"@SUM(A1)", "'@SUM(A1)"},
		{"\tx", "'\tx"}, {"\rx", "'\rx"}, {"plain", "plain"}, {"", ""}} {
		if got := csvSafe(tc.in); got != tc.want {
			t.Errorf("csvSafe(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Campaign tables export their conversions once the site has a goal.
	if err := e.store.SaveGoal(context.Background(), &storage.Goal{SiteID: e.siteA.ID, Kind: storage.GoalEvent, Value: "Signup"}); err != nil {
		t.Fatal(err)
	}
	resp3, err := c.Get(e.srv.URL + "/sites/a.example/acquisition/export.csv?period=day&date=2024-03-10&table=utm_campaign")
	if err != nil {
		t.Fatal(err)
	}
	defer resp3.Body.Close()
	records, err = csv.NewReader(resp3.Body).ReadAll()
	want := [][]string{{"utm_campaign", "visitors", "visits", "bounce_rate", "visit_duration", "conversions", "conversion_rate"},
		{"", "3", "3", "67", "40", "1", "33.3"}}
	if err != nil || !reflect.DeepEqual(records, want) {
		t.Errorf("campaigns export: %q, %v; want %q", records, err, want)
	}
	resp2, err := c.Get(e.srv.URL + "/sites/a.example/visits/export.csv?period=day&date=2024-03-10&table=visits")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	records, err = csv.NewReader(resp2.Body).ReadAll()
	if err != nil || len(records) != 4 {
		t.Errorf("visits export: %d records, %v; want a header and 3 visits", len(records), err)
	}
}

func TestSharedLinks(t *testing.T) {
	e := newEnv(t, Config{})
	ctx := context.Background()
	open, err := e.store.AddSharedLink(ctx, e.siteA.ID, "board", "")
	if err != nil {
		t.Fatal(err)
	}
	c := e.client()
	status, body := e.get(c, "/share/"+open+"/overview?period=day&date=2024-03-10")
	if status != http.StatusOK || !strings.Contains(body, "a.example") {
		t.Fatalf("open shared link: status %d", status)
	}
	if strings.Contains(body, "/settings") || strings.Contains(body, "Sign out") {
		t.Error("a shared dashboard links to settings or shows an account")
	}
	if status, _ := e.get(c, "/share/not-a-real-secret/overview"); status != http.StatusNotFound {
		t.Errorf("unknown link: status %d, want 404", status)
	}
	locked, err := e.store.AddSharedLink(ctx, e.siteA.ID, "locked", "link password 123")
	if err != nil {
		t.Fatal(err)
	}
	status, body = e.get(c, "/share/"+locked+"/overview")
	if status != http.StatusOK || !strings.Contains(body, "needs a password") || strings.Contains(body, "current visitors") {
		t.Fatalf("locked link: status %d; want the password form and no data", status)
	}
	if status, _ := e.get(c, "/share/"+locked+"/overview/export.csv?table=pages"); status != http.StatusNotFound {
		t.Errorf("locked link's export: status %d, want 404", status)
	}
	token := csrfField.FindStringSubmatch(body)[1]
	if resp := e.post(c, "/share/"+locked, url.Values{"csrf": {token}, "password": {"wrong password"}}); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("wrong link password: status %d, want 401", resp.StatusCode)
	}
	_, body = e.get(c, "/share/"+locked+"/overview")
	token = csrfField.FindStringSubmatch(body)[1]
	if resp := e.post(c, "/share/"+locked, url.Values{"csrf": {token}, "password": {"link password 123"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("right link password: status %d, want 303", resp.StatusCode)
	}
	if status, body := e.get(c, "/share/"+locked+"/overview"); status != http.StatusOK || !strings.Contains(body, "current visitors") {
		t.Errorf("unlocked link: status %d", status)
	}
	// The unlock cookie of one link opens no other.
	other, _ := e.store.AddSharedLink(ctx, e.siteA.ID, "other", "other password 123")
	if _, body := e.get(c, "/share/"+other+"/overview"); !strings.Contains(body, "needs a password") {
		t.Error("one link's password opened another link")
	}
}

func TestAdminPages(t *testing.T) {
	e := newEnv(t, Config{CollectorURL: "https://stats.example/"})
	ctx := context.Background()
	c, csrf := e.signIn(adminEmail)
	_, body := e.get(c, "/sites/a.example/settings")
	if !strings.Contains(body, `data-domain=&#34;a.example&#34; src=&#34;https://stats.example/shade.js&#34;`) {
		t.Error("settings lack the tracking snippet")
	}
	form := url.Values{"csrf": {csrf}, "timezone": {"America/New_York"}, "ip_truncation": {"3"}, "excluded_ips": {"10.0.0.0/8\n192.0.2.1"},
		"excluded_paths": {"/admin"}, "keep_params": {"q"}, "honor_dnt": {"on"}, "retention_days": {"400"}}
	if resp := e.post(c, "/sites/a.example/settings", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("save settings: status %d", resp.StatusCode)
	}
	site, _ := e.store.SiteByDomain(ctx, "a.example")
	if site.Timezone != "America/New_York" || site.IPTruncation != 3 || len(site.ExcludedIPs) != 2 || !site.HonorDNT || site.HonorGPC || site.RetentionDays != 400 {
		t.Errorf("saved site %+v", site)
	}
	form.Set("excluded_ips", "not an ip")
	if resp := e.post(c, "/sites/a.example/settings", form); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("bad excluded IP: status %d, want 400", resp.StatusCode)
	}
	if resp := e.post(c, "/sites/a.example/goals", url.Values{"csrf": {csrf}, "kind": {"event"}, "value": {"Signup"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("add goal: status %d", resp.StatusCode)
	}
	goals, _ := e.store.Goals(ctx, e.siteA.ID)
	if len(goals) != 1 {
		t.Fatalf("%d goals, want 1", len(goals))
	}
	_, body = e.get(c, "/sites/a.example/goals?period=day&date=2024-03-10")
	if !strings.Contains(body, "Signup") || !strings.Contains(body, "33.3%") {
		t.Error("goals page lacks the Signup goal at 33.3% (1 of 3 visitors)")
	}
	if resp := e.post(c, "/admin/sites", url.Values{"csrf": {csrf}, "domain": {"c.example"}, "timezone": {"Asia/Tokyo"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("add site: status %d", resp.StatusCode)
	}
	if resp := e.post(c, "/admin/users", url.Values{"csrf": {csrf}, "email": {"new@example.com"}, "password": {"another long password"},
		"role": {"viewer"}, "site": {"1"}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("add user: status %d", resp.StatusCode)
	}
	if u, err := e.store.UserByEmail(ctx, "new@example.com"); err != nil || !u.CanView(1) || u.CanView(2) {
		t.Errorf("new user %+v, %v", u, err)
	}
	if resp := e.post(c, "/sites/a.example/shared", url.Values{"csrf": {csrf}, "name": {"x"}}); resp.StatusCode != http.StatusOK {
		t.Errorf("create shared link: status %d", resp.StatusCode)
	}
}
