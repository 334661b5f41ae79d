package referrer

import (
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

var parsePageTests = []struct {
	name string
	raw  string
	keep []string
	hash bool
	want Page
}{
	{"plain", "https://shop.example/shoes", nil, false, Page{Host: "shop.example", Path: "/shoes"}},
	{"no path", "https://shop.example", nil, false, Page{Host: "shop.example", Path: "/"}},
	{"uppercase host, port, www kept", "HTTP://WWW.Shop.Example:8080/A", nil, false, Page{Host: "www.shop.example", Path: "/A"}},
	{"query stripped", "https://shop.example/p?email=a@b.c&id=7", nil, false, Page{Host: "shop.example", Path: "/p"}},
	{"allowlisted query kept in order", "https://shop.example/search?page=2&sid=x&q=red+shoes", []string{"q", "page"}, false,
		Page{Host: "shop.example", Path: "/search?page=2&q=red+shoes"}},
	{"allowlist is exact", "https://shop.example/search?Q=1&qq=2", []string{"q"}, false, Page{Host: "shop.example", Path: "/search"}},
	{"UTM moved out", "https://shop.example/?utm_source=News&utm_medium=email&utm_campaign=spring&utm_content=hero&utm_term=shoes", []string{"utm_source"}, false,
		Page{Host: "shop.example", Path: "/", UTM: UTM{"News", "email", "spring", "hero", "shoes"}}},
	{"UTM decoded and trimmed", "https://shop.example/?utm_source=%20Hacker%20News%20&utm_campaign=a+b", nil, false,
		Page{Host: "shop.example", Path: "/", UTM: UTM{Source: "Hacker News", Campaign: "a b"}}},
	{"ref fills source", "https://shop.example/?ref=producthunt", []string{"ref"}, false,
		Page{Host: "shop.example", Path: "/", UTM: UTM{Source: "producthunt"}}},
	{"source fills source", "https://shop.example/?source=twitter", nil, false,
		Page{Host: "shop.example", Path: "/", UTM: UTM{Source: "twitter"}}},
	{"utm_source beats ref", "https://shop.example/?ref=a&utm_source=b", nil, false,
		Page{Host: "shop.example", Path: "/", UTM: UTM{Source: "b"}}},
	{"first value wins", "https://shop.example/?utm_source=a&utm_source=b", nil, false,
		Page{Host: "shop.example", Path: "/", UTM: UTM{Source: "a"}}},
	{"unknown utm param dropped", "https://shop.example/?utm_id=5&utm_x=1", []string{"utm_id"}, false, Page{Host: "shop.example", Path: "/"}},
	{"fragment dropped", "https://shop.example/app#/cart?token=secret", nil, false, Page{Host: "shop.example", Path: "/app"}},
	{"hash routing", "https://shop.example/#/products/7", nil, true, Page{Host: "shop.example", Path: "/#/products/7"}},
	{"hash routing filters fragment query", "https://shop.example/?q=1#/search?q=boots&token=secret&utm_source=x", []string{"q"}, true,
		Page{Host: "shop.example", Path: "/?q=1#/search?q=boots", UTM: UTM{Source: "x"}}},
	{"IPv6 host", "http://[2001:DB8::1]:8080/x", nil, false, Page{Host: "2001:db8::1", Path: "/x"}},
	{"IDN host", "https://Bücher.Example/straße", nil, false, Page{Host: "bücher.example", Path: "/straße"}},
	{"punycode host", "https://xn--bcher-kva.example/", nil, false, Page{Host: "xn--bcher-kva.example", Path: "/"}},
	{"encoded path stays unambiguous", "https://shop.example/a%3Fb%23c", nil, false, Page{Host: "shop.example", Path: "/a%3Fb%23c"}},
	{"encoded path decoded", "https://shop.example/caf%C3%A9", nil, false, Page{Host: "shop.example", Path: "/café"}},
	{"long path capped", "https://shop.example/" + strings.Repeat("a", 2000), nil, false,
		Page{Host: "shop.example", Path: "/" + strings.Repeat("a", MaxPathLen-1)}},
	{"long query drops partial param", "https://shop.example/s?q=" + strings.Repeat("b", 2000), []string{"q"}, false,
		Page{Host: "shop.example", Path: "/s"}},
}

func TestParsePage(t *testing.T) {
	for _, tt := range parsePageTests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePage(tt.raw, tt.keep, tt.hash)
			if err != nil {
				t.Fatalf("ParsePage(%q): got error %v, want nil", tt.raw, err)
			}
			if got != tt.want {
				t.Errorf("ParsePage(%q):\ngot  %+v\nwant %+v", tt.raw, got, tt.want)
			}
			checkPage(t, got, tt.keep)
		})
	}
}

func TestParsePageErrors(t *testing.T) {
	tests := []struct {
		name, raw, wantErr string
	}{
		{"empty", "", "not absolute"},
		{"relative", "/shoes?x=1", "not absolute"},
		{"missing scheme", "shop.example/shoes", "not absolute"},
		{"javascript", "javascript:alert(1)", `scheme "javascript" is not http or https`},
		{"data", "data:text/html,hi", `scheme "data"`},
		{"ftp", "ftp://shop.example/", `scheme "ftp"`},
		{"empty host", "https:///path", "empty or invalid host"},
		{"opaque", "https:shop.example", "empty or invalid host"},
		{"unparsable", "https://shop.example:port/", "cannot parse page URL"},
		{"control character", "https://shop.example/\x7f", "cannot parse page URL"},
		{"too long host", "https://" + strings.Repeat("a", 300) + ".example/", "empty or invalid host"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParsePage(tt.raw, nil, false)
			if err == nil {
				t.Fatalf("ParsePage(%q): got %+v, want an error containing %q", tt.raw, got, tt.wantErr)
			}
			if !strings.HasPrefix(err.Error(), "cannot parse page URL") || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("ParsePage(%q): got error %q, want one containing %q", tt.raw, err, tt.wantErr)
			}
		})
	}
}

// checkPage asserts the invariants every parsed page must hold.
func checkPage(t *testing.T, p Page, keep []string) {
	t.Helper()
	for _, f := range []struct {
		name, v string
		max     int
	}{
		{"Host", p.Host, MaxHostLen}, {"Path", p.Path, MaxPathLen},
		{"UTM.Source", p.UTM.Source, maxUTMLen}, {"UTM.Medium", p.UTM.Medium, maxUTMLen},
		{"UTM.Campaign", p.UTM.Campaign, maxUTMLen}, {"UTM.Content", p.UTM.Content, maxUTMLen},
		{"UTM.Term", p.UTM.Term, maxUTMLen},
	} {
		if len(f.v) > f.max {
			t.Errorf("%s: got %d bytes, want at most %d", f.name, len(f.v), f.max)
		}
		if !utf8.ValidString(f.v) {
			t.Errorf("%s: got invalid UTF-8 %q", f.name, f.v)
		}
	}
	if !strings.HasPrefix(p.Path, "/") {
		t.Errorf("Path: got %q, want a leading /", p.Path)
	}
	path, frag, _ := strings.Cut(p.Path, "#")
	_, query, _ := strings.Cut(path, "?")
	_, fragQuery, _ := strings.Cut(frag, "?")
	for _, q := range []string{query, fragQuery} {
		for pair := range strings.SplitSeq(q, "&") {
			if pair == "" {
				continue
			}
			name, _, _ := strings.Cut(pair, "=")
			if n, err := url.QueryUnescape(name); err == nil {
				name = n
			}
			if !kept(name, keep) || strings.HasPrefix(name, "utm_") || name == "ref" || name == "source" {
				t.Errorf("Path %q: got parameter %q, want only allowlisted non-campaign ones %q", p.Path, name, keep)
			}
		}
	}
}

func FuzzParsePage(f *testing.F) {
	for _, tt := range parsePageTests {
		f.Add(tt.raw, strings.Join(tt.keep, ","), tt.hash)
	}
	f.Add("https://a.example/?utm_source=\xff&q=%ZZ&q=1", "q", true)
	f.Fuzz(func(t *testing.T, raw, keepList string, hash bool) {
		var keep []string
		if keepList != "" {
			keep = strings.Split(keepList, ",")
		}
		p, err := ParsePage(raw, keep, hash)
		if err != nil {
			if p != (Page{}) {
				t.Errorf("ParsePage(%q): got %+v with error %v, want zero Page", raw, p, err)
			}
			return
		}
		if p.Host == "" {
			t.Errorf("ParsePage(%q): got empty Host without an error", raw)
		}
		checkPage(t, p, keep)
	})
}

func BenchmarkParsePage(b *testing.B) {
	keep := []string{"q"}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParsePage("https://shop.example/search?q=shoes&sid=123&utm_source=google&utm_medium=cpc", keep, false); err != nil {
			b.Fatal(err)
		}
	}
}
