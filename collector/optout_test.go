package collector

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/valyala/fasthttp"
)

func setCookies(resp *fasthttp.Response) []string {
	var out []string
	for _, v := range resp.Header.Cookies() {
		out = append(out, string(v))
	}
	return out
}

func TestOptOutPageLanguages(t *testing.T) {
	h, _ := newCompatCollector(t)
	f := func(uri, acceptLang, wantLang, wantText string) {
		t.Helper()
		resp := compatServe(h, "GET", uri, "", "Accept-Language", acceptLang)
		body := string(resp.Body())
		if resp.StatusCode() != 200 {
			t.Fatalf("%s (%s): got status %d, want 200", uri, acceptLang, resp.StatusCode())
		}
		if !strings.Contains(body, `<html lang="`+wantLang+`">`) || !strings.Contains(body, wantText) {
			t.Errorf("%s (%s): want lang %s and %q in\n%s", uri, acceptLang, wantLang, wantText, body)
		}
		if got := string(resp.Header.Peek("Content-Language")); got != wantLang {
			t.Errorf("%s (%s): got Content-Language %q, want %q", uri, acceptLang, got, wantLang)
		}
	}
	f("/optout", "", "en", "You are counted anonymously")
	f("/optout?lang=fr", "de", "fr", "Votre visite est comptée de façon anonyme")
	f("/optout?lang=DE", "", "de", "Ihr Besuch wird anonym gezählt")
	f("/optout", "de-CH,de;q=0.9,en;q=0.8", "de", "Nicht mehr zählen")
	f("/optout", "es-ES, fr;q=0.7, en;q=0.9", "en", "Opt out")
	f("/optout", "fr-FR;q=0.9,en;q=0.1", "fr", "Ne plus être compté")
	f("/optout", "en;q=0, fr;q=0", "en", "Opt out")
	f("/optout?lang=xx%22%3E%3Cscript%3E", "", "en", "Opt out")
}

func TestOptOutPageState(t *testing.T) {
	h, _ := newCompatCollector(t)
	f := func(name string, headers []string, want []string, notWant []string) {
		t.Helper()
		resp := compatServe(h, "GET", "/optout", "", headers...)
		body := string(resp.Body())
		for _, w := range want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: want %q in\n%s", name, w, body)
			}
		}
		for _, w := range notWant {
			if strings.Contains(body, w) {
				t.Errorf("%s: did not want %q in\n%s", name, w, body)
			}
		}
	}
	f("counted", nil, []string{"You are counted anonymously", `name="action" value="out"`},
		[]string{"Do Not Track", "Global Privacy Control", `value="in"`})
	f("opted out", []string{"Cookie", "shade_optout=1"},
		[]string{"you opted out in this browser", `name="action" value="in"`, "Count me again"}, []string{`value="out"`})
	f("matomo_ignore", []string{"Cookie", "matomo_ignore=*"}, []string{"you opted out in this browser"}, nil)
	f("DNT", []string{"DNT", "1"}, []string{"asks websites not to track you", "Your browser sends Do Not Track."},
		[]string{"Global Privacy Control."})
	f("GPC", []string{"Sec-GPC", "1"}, []string{"asks websites not to track you", "Your browser sends Global Privacy Control."}, nil)

	resp := compatServe(h, "GET", "/optout", "")
	if got := string(resp.Header.Peek("Content-Security-Policy")); got != optOutCSP {
		t.Errorf("got CSP %q, want %q", got, optOutCSP)
	}
	if got := resp.Header.Peek("X-Frame-Options"); got != nil {
		t.Errorf("got X-Frame-Options %q, want none: the page is embeddable", got)
	}
	if got := string(resp.Header.ContentType()); got != "text/html; charset=utf-8" {
		t.Errorf("got Content-Type %q", got)
	}
	if body := string(resp.Body()); strings.Contains(body, "<script") || !strings.Contains(body, `<form method="post" action="/optout">`) {
		t.Errorf("want a script-free page with a plain form, got\n%s", body)
	}
	if got := setCookies(resp); len(got) != 0 {
		t.Errorf("GET set cookies %q, want none", got)
	}
}

func TestOptOutPost(t *testing.T) {
	h, _ := newCompatCollector(t)
	form := "application/x-www-form-urlencoded"
	f := func(name, body string, headers []string, wantLocation string, wantCookies ...string) {
		t.Helper()
		resp := compatServe(h, "POST", "/optout", body, append([]string{"Content-Type", form}, headers...)...)
		if resp.StatusCode() != 303 {
			t.Fatalf("%s: got status %d, want 303 (body %s)", name, resp.StatusCode(), resp.Body())
		}
		if got := string(resp.Header.Peek("Location")); got != wantLocation {
			t.Errorf("%s: got Location %q, want %q", name, got, wantLocation)
		}
		got := setCookies(resp)
		if strings.Join(got, "\n") != strings.Join(wantCookies, "\n") {
			t.Errorf("%s: got Set-Cookie\n%s\nwant\n%s", name, strings.Join(got, "\n"), strings.Join(wantCookies, "\n"))
		}
	}
	const (
		outLax    = "shade_optout=1; max-age=34214400; path=/; HttpOnly; SameSite=Lax"
		outSecure = "shade_optout=1; max-age=34214400; path=/; HttpOnly; secure; SameSite=None"
		inLax     = "shade_optout=; expires=Tue, 10 Nov 2009 23:00:00 GMT; path=/; HttpOnly; SameSite=Lax"
		matomoIn  = "matomo_ignore=; expires=Tue, 10 Nov 2009 23:00:00 GMT; path=/; HttpOnly; SameSite=Lax"
	)
	f("out over http", "action=out&lang=fr", nil, "/optout?lang=fr", outLax)
	f("in over http", "action=in&lang=de", []string{"Cookie", "shade_optout=1"}, "/optout?lang=de", inLax)
	f("in clears matomo_ignore", "action=in", []string{"Cookie", "matomo_ignore=*"}, "/optout?lang=en", inLax, matomoIn)
	f("lang from Accept-Language", "action=out&lang=<x>", []string{"Accept-Language", "de"}, "/optout?lang=de", outLax)
	// X-Forwarded-Proto is believed only from a trusted proxy; newCompatCollector trusts none.
	f("untrusted X-Forwarded-Proto", "action=out", []string{"X-Forwarded-Proto", "https"}, "/optout?lang=en", outLax)

	if resp := compatServe(h, "POST", "/optout", "action=maybe", "Content-Type", form); resp.StatusCode() != 400 {
		t.Errorf("unknown action: got status %d, want 400", resp.StatusCode())
	}
	if resp := compatServe(h, "DELETE", "/optout", ""); resp.StatusCode() != 405 {
		t.Errorf("DELETE: got status %d, want 405", resp.StatusCode())
	}

	// Behind a trusted proxy that terminated TLS the cookie must work in a
	// third-party iframe: Secure; SameSite=None.
	hs, _ := newCompatCollectorWith(t, Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}})
	for _, hdr := range [][]string{{"X-Forwarded-Proto", "https"}, {"Forwarded", "for=192.0.2.1;proto=https"}} {
		resp := compatServe(hs, "POST", "/optout", "action=out", "Content-Type", form, hdr[0], hdr[1])
		if got := strings.Join(setCookies(resp), "\n"); got != outSecure {
			t.Errorf("%s: got Set-Cookie %q, want %q", hdr[0], got, outSecure)
		}
	}
}

// TestOptOutCookieDropsEvents checks the cookie the page sets stops counting
// on every endpoint.
func TestOptOutCookieDropsEvents(t *testing.T) {
	h, sink := newCompatCollector(t)
	resp := compatServe(h, "POST", "/optout", "action=out", "Content-Type", "application/x-www-form-urlencoded")
	cookie, _, _ := strings.Cut(strings.Join(setCookies(resp), "\n"), ";")
	if cookie != "shade_optout=1" {
		t.Fatalf("got cookie %q, want shade_optout=1", cookie)
	}
	check := func(name string, status int, dropped []byte) {
		t.Helper()
		if string(dropped) != DropOptOut {
			t.Errorf("%s: got status %d, Shade-Dropped %q; want %q", name, status, dropped, DropOptOut)
		}
	}
	r := compatServe(h, "POST", "/api/event", `{"n":"pageview","u":"https://example.com/","d":"example.com"}`, "Cookie", cookie)
	check("/api/event", r.StatusCode(), r.Header.Peek("Shade-Dropped"))
	if r.StatusCode() != 202 {
		t.Errorf("/api/event: got status %d, want 202", r.StatusCode())
	}
	r = compatServe(h, "GET", "/matomo.php?idsite=7&rec=1&url=https://example.com/", "", "Cookie", cookie)
	check("/matomo.php", r.StatusCode(), r.Header.Peek("Shade-Dropped"))
	r = compatServe(h, "GET", "/t.gif?d=example.com&u=https://example.com/", "", "Cookie", cookie)
	check("/t.gif", r.StatusCode(), r.Header.Peek("Shade-Dropped"))
	if n := len(sink.names()); n != 0 {
		t.Errorf("got %d events stored, want none", n)
	}
}
