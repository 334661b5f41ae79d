package referrer

import (
	"fmt"
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

// plainSeeds are page URLs around the edges of parsePlain: what it takes,
// what it must leave to net/url, and what ParsePage rejects.
var plainSeeds = []string{
	"https://example.com/blog/post?utm_source=newsletter&utm_medium=email",
	"HTTPS://EXAMPLE.COM/PATH", "hTtP://x.y/", "httpſ://example.com/", "https:example.com", "http:/example.com",
	"https://Example.COM:8443/a?q=1", "https://example.com:/x", "https://example.com:0/", "http://example.com:99999999999/",
	"https://a.b:8080:90/", "https://a.b:80a/", "https://:80/", "https://example.com./", "https://./", "https://example.com../",
	"https://ex_ample.com/", "https://ex~ample.com/", "https://-.com/", "https://ex%41mple.com/", "https://ü.example/",
	"https://user:pw@example.com/", "https://@example.com/", "https://[::1]:80/", "https://example.com\\evil.example/",
	"https://example.com", "https://example.com?q=1", "https://example.com#/x?q=1", "https://example.com/?", "https://example.com/??q=1",
	"https://example.com//a//b", "https:////a", "https:///a", "https://example.com/a b", " https://example.com/ \n", "https://exa mple.com/",
	"https://example.com/p?q=a;b&utm_source=x;y", "https://example.com/p?q=a+b&q=a%20b&utm_campaign=a+b%20c",
	"https://example.com/p?&&q=&=x&q&%71=1&q%=2", "https://example.com/p?q=a/b?c:d@e&q=%E2%82%AC&q=%FF",
	"https://example.com/p?utm_source=%20a%20&ref=b&source=c&utm_source=d", "https://example.com/p?q=%zz&utm_source=%ZZ",
	"https://example.com/%zz", "https://example.com/%", "https://example.com/%4", "https://example.com/a%2Fb", "https://example.com/a%3fb",
	"https://example.com/a%00b", "https://example.com/%7f", "https://example.com/caf%C3%A9", "https://example.com/%FF", "https://example.com/ü",
	"https://example.com/#%", "https://example.com/#%4", "https://example.com/#%41", "https://example.com/#a#b", "https://example.com/#a\"b",
	"https://example.com/#a<b", "https://example.com/#", "https://example.com/#?", "https://example.com/x#/p?q=1&utm_medium=cpc&utm_source=z",
	"https://example.com/?utm_source=a#/?utm_source=b&utm_term=t", "https://example.com/a\x7fb", "https://example.com/\x00",
	"https://example.com/" + strings.Repeat("a/", 1200),
	"https://example.com/s?q=" + strings.Repeat("x", 1010) + "&q=y",
	"https://example.com/#/" + strings.Repeat("p", 1000) + "?q=1&q=2",
	"https://" + strings.Repeat("a", 250) + ".co/", "https://" + strings.Repeat("a", 251) + ".co/",
}

// plainKeeps are allowlists for the seeds, joined with commas.
var plainKeeps = []string{"", "q", "q,utm_source,ref,page"}

// FuzzParsePagePlain holds ParsePage, and so parsePlain, to the net/url
// implementation: the same Page and the same error for every input.
func FuzzParsePagePlain(f *testing.F) {
	for _, tt := range parsePageTests {
		f.Add(tt.raw, strings.Join(tt.keep, ","), tt.hash)
	}
	for _, raw := range plainSeeds {
		for _, keep := range plainKeeps {
			f.Add(raw, keep, false)
			f.Add(raw, keep, true)
		}
	}
	f.Fuzz(func(t *testing.T, raw, keepList string, hash bool) {
		var keep []string
		if keepList != "" {
			keep = strings.Split(keepList, ",")
		}
		got, gotErr := ParsePage(raw, keep, hash)
		want, wantErr := parsePageURL(raw, keep, hash)
		if got != want || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Errorf("ParsePage(%q, %q, %t):\ngot  %+v, %v\nwant %+v, %v (net/url)", raw, keep, hash, got, gotErr, want, wantErr)
		}
	})
}

// TestParsePlainTakesCommonURLs guards the fast path against declining
// everything, which FuzzParsePagePlain alone would not notice.
func TestParsePlainTakesCommonURLs(t *testing.T) {
	f := func(raw string, keep []string, hash bool) {
		t.Helper()
		got, ok := parsePlain(raw, keep, hash)
		if !ok {
			t.Fatalf("parsePlain(%q): declined, want it handled", raw)
		}
		want, err := parsePageURL(raw, keep, hash)
		if err != nil || got != want {
			t.Errorf("parsePlain(%q):\ngot  %+v\nwant %+v, %v (net/url)", raw, got, want, err)
		}
	}
	f("https://example.com/blog/post?utm_source=newsletter&utm_medium=email", nil, false)
	f("https://example.com", nil, false)
	f("HTTP://WWW.Example.COM.:8080/A/b/?ref=hn#top", nil, false)
	f("https://example.com/search?q=red+shoes&page=2&sid=x%2By", []string{"q", "page"}, false)
	f("https://example.com/caf%C3%A9/", nil, false)
	f("https://example.com/app/#/cart?step=2&utm_source=x", []string{"step"}, true)
	f("https://example.com/#%E2%80%A6", nil, false)
}

// FuzzFilterQuery holds filterQuery to filterQueryReference.
func FuzzFilterQuery(f *testing.F) {
	for _, raw := range plainSeeds {
		if _, q, ok := strings.Cut(raw, "?"); ok {
			f.Add(q, "q,utm_source")
		}
	}
	f.Add("q=%zz&q=%41+b&utm_source=%ZZ&ref=a&source=b&utm_medium=%20m%20&sid=%", "q,ref,sid")
	f.Fuzz(func(t *testing.T, rawQuery, keepList string) {
		keep := strings.Split(keepList, ",")
		var got, want strings.Builder
		var gotUTM, wantUTM UTM
		filterQuery(&got, rawQuery, keep, &gotUTM)
		filterQueryReference(&want, rawQuery, keep, &wantUTM)
		if got.String() != want.String() || gotUTM != wantUTM {
			t.Errorf("filterQuery(%q, %q):\ngot  %q %+v\nwant %q %+v", rawQuery, keep, got.String(), gotUTM, want.String(), wantUTM)
		}
	})
}

// filterQueryReference is filterQuery as it was before it skipped decoding
// the values of dropped parameters.
func filterQueryReference(b *strings.Builder, rawQuery string, keep []string, utm *UTM) {
	var ref, src string
	sep := byte('?')
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil || name == "" {
			continue
		}
		value, err := url.QueryUnescape(rawValue)
		if err != nil {
			continue
		}
		if !isCampaign(name) {
			if kept(name, keep) {
				b.WriteByte(sep)
				sep = '&'
				b.WriteString(url.QueryEscape(name))
				b.WriteByte('=')
				b.WriteString(url.QueryEscape(value))
			}
			continue
		}
		value = clean(strings.TrimSpace(value), maxUTMLen)
		switch name {
		case "utm_source":
			setOnce(&utm.Source, value)
		case "utm_medium":
			setOnce(&utm.Medium, value)
		case "utm_campaign":
			setOnce(&utm.Campaign, value)
		case "utm_content":
			setOnce(&utm.Content, value)
		case "utm_term":
			setOnce(&utm.Term, value)
		case "ref":
			setOnce(&ref, value)
		case "source":
			setOnce(&src, value)
		}
	}
	if utm.Source == "" {
		utm.Source = ref
	}
	if utm.Source == "" {
		utm.Source = src
	}
}

// BenchmarkParsePage runs each URL through ParsePage and, as "net-url",
// through the net/url implementation it falls back to.
func BenchmarkParsePage(b *testing.B) {
	for _, bc := range []struct {
		name, raw string
		keep      []string
		hash      bool
	}{
		{"typical", "https://example.com/blog/post?utm_source=newsletter&utm_medium=email", nil, false},
		{"keep", "https://shop.example/search?q=shoes&sid=123&utm_source=google&utm_medium=cpc", []string{"q"}, false},
		{"escaped", "https://shop.example/caf%C3%A9?gclid=Cj0KCQ%2Bx%2Fy&utm_campaign=spring+sale", nil, false},
		{"hash", "https://shop.example/app/#/cart?step=2&utm_source=x", []string{"step"}, true},
	} {
		for _, impl := range []struct {
			name  string
			parse func(string, []string, bool) (Page, error)
		}{{"", ParsePage}, {"net-url", parsePageURL}} {
			name := bc.name
			if impl.name != "" {
				name += "/" + impl.name
			}
			b.Run(name, func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := impl.parse(bc.raw, bc.keep, bc.hash); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
