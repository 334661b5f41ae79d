package referrer

import (
	"strings"
	"testing"
	"unicode/utf8"
)

var classifyTests = []struct {
	name     string
	referrer string
	pageHost string
	utm      UTM
	want     Result
}{
	{"empty", "", "shop.example", UTM{}, Result{Channel: Direct}},
	{"blank", "  ", "shop.example", UTM{}, Result{Channel: Direct}},
	{"garbage", "%%%not a url", "shop.example", UTM{}, Result{Channel: Direct}},
	{"javascript URL", "javascript:alert(1)", "shop.example", UTM{}, Result{Channel: Direct}},
	{"data URL", "data:text/html,<script>alert(1)</script>", "shop.example", UTM{}, Result{Channel: Direct}},
	{"about blank", "about:blank", "shop.example", UTM{}, Result{Channel: Direct}},
	{"chrome extension", "chrome-extension://abcdef/popup.html", "shop.example", UTM{}, Result{Channel: Direct}},
	{
		"Google with query", "https://www.google.com/search?q=private+words#frag", "shop.example", UTM{},
		Result{"google.com", "/search", "Google", OrganicSearch},
	},
	{
		"Google country domain", "https://www.google.co.uk/", "shop.example", UTM{},
		Result{"google.co.uk", "/", "Google", OrganicSearch},
	},
	{
		"Google subdomain and ccTLD", "https://images.google.com.br/imgres?x=1", "shop.example", UTM{},
		Result{"images.google.com.br", "/imgres", "Google", OrganicSearch},
	},
	{
		"google as a subdomain of another site", "https://google.example.com/", "shop.example", UTM{},
		Result{"google.example.com", "/", "google.example.com", Referral},
	},
	{
		"Bing", "https://www.bing.com/search?q=x", "shop.example", UTM{},
		Result{"bing.com", "/search", "Bing", OrganicSearch},
	},
	{
		"DuckDuckGo no path", "https://duckduckgo.com", "shop.example", UTM{},
		Result{"duckduckgo.com", "/", "DuckDuckGo", OrganicSearch},
	},
	{
		"Yandex .ru", "https://yandex.ru/search/?text=x", "shop.example", UTM{},
		Result{"yandex.ru", "/search/", "Yandex", OrganicSearch},
	},
	{
		"Facebook link shim", "https://l.facebook.com/l.php?u=https%3A%2F%2Fshop.example", "shop.example", UTM{},
		Result{"l.facebook.com", "/l.php", "Facebook", OrganicSocial},
	},
	{
		"mobile Facebook", "https://m.facebook.com/", "shop.example", UTM{},
		Result{"m.facebook.com", "/", "Facebook", OrganicSocial},
	},
	{
		"t.co", "https://t.co/abc123", "shop.example", UTM{},
		Result{"t.co", "/abc123", "X", OrganicSocial},
	},
	{
		"lnkd.in", "https://lnkd.in/xyz", "shop.example", UTM{},
		Result{"lnkd.in", "/xyz", "LinkedIn", OrganicSocial},
	},
	{
		"Hacker News", "https://news.ycombinator.com/item?id=1", "shop.example", UTM{},
		Result{"news.ycombinator.com", "/item", "Hacker News", OrganicSocial},
	},
	{
		"YouTube", "https://www.youtube.com/watch?v=abc", "shop.example", UTM{},
		Result{"youtube.com", "/watch", "YouTube", OrganicVideo},
	},
	{
		"Gmail web", "https://mail.google.com/mail/u/0/", "shop.example", UTM{},
		Result{"mail.google.com", "/mail/u/0/", "Gmail", Email},
	},
	{
		"Gmail Android app", "android-app://com.google.android.gm/", "shop.example", UTM{},
		Result{"com.google.android.gm", "", "Gmail", Email},
	},
	{
		"GitHub", "https://github.com/shade-analytics/shade", "shop.example", UTM{},
		Result{"github.com", "/shade-analytics/shade", "GitHub", Referral},
	},
	{
		"unknown site", "https://blog.example.org/post/1?utm_source=x", "shop.example", UTM{},
		Result{"blog.example.org", "/post/1", "blog.example.org", Referral},
	},
	{
		"uppercase and port", "HTTPS://WWW.Example.ORG:8443/Path?Q=1", "shop.example", UTM{},
		Result{"example.org", "/Path", "example.org", Referral},
	},
	{
		"userinfo", "https://user:pass@example.org/p", "shop.example", UTM{},
		Result{"example.org", "/p", "example.org", Referral},
	},
	{
		"IPv6 host", "http://[2001:db8::1]:8080/x?y", "shop.example", UTM{},
		Result{"2001:db8::1", "/x", "2001:db8::1", Referral},
	},
	{
		"IPv4 host", "http://192.0.2.1/x", "shop.example", UTM{},
		Result{"192.0.2.1", "/x", "192.0.2.1", Referral},
	},
	{
		"IDN host", "https://Bücher.example/ß", "shop.example", UTM{},
		Result{"bücher.example", "/ß", "bücher.example", Referral},
	},
	{
		"punycode host", "https://xn--bcher-kva.example/", "shop.example", UTM{},
		Result{"xn--bcher-kva.example", "/", "xn--bcher-kva.example", Referral},
	},
	{
		"missing scheme", "news.ycombinator.com/item?id=1", "shop.example", UTM{},
		Result{"news.ycombinator.com", "/item", "Hacker News", OrganicSocial},
	},
	{
		"protocol-relative", "//example.org/a", "shop.example", UTM{},
		Result{"example.org", "/a", "example.org", Referral},
	},
	{"self-referral", "https://shop.example/cart?x=1", "shop.example", UTM{}, Result{Channel: Direct}},
	{"self-referral www and case", "https://WWW.Shop.Example/", "shop.example:443", UTM{}, Result{Channel: Direct}},
	{"self-referral page www", "https://shop.example/", "www.shop.example", UTM{}, Result{Channel: Direct}},
	{
		"self-referral with UTM", "https://shop.example/", "shop.example", UTM{Source: "newsletter", Medium: "email"},
		Result{"", "", "Newsletter", Email},
	},
	{
		"paid Google", "https://www.google.com/", "shop.example", UTM{Source: "google", Medium: "cpc"},
		Result{"google.com", "/", "Google", PaidSearch},
	},
	{
		"paid Facebook without referrer", "", "shop.example", UTM{Source: "fb", Medium: "paid"},
		Result{"", "", "Facebook", PaidSocial},
	},
	{
		"paid_social with unknown source", "", "shop.example", UTM{Source: "partner", Medium: "paid_social"},
		Result{"", "", "partner", PaidSocial},
	},
	{
		"paid unknown source", "", "shop.example", UTM{Source: "partner", Medium: "CPC"},
		Result{"", "", "partner", PaidOther},
	},
	{
		"paid medium, source from referrer", "https://www.bing.com/", "shop.example", UTM{Medium: "ppc"},
		Result{"bing.com", "/", "Bing", PaidSearch},
	},
	{
		"email medium", "", "shop.example", UTM{Source: "spring-sale", Medium: "E-Mail"},
		Result{"", "", "spring-sale", Email},
	},
	{
		"newsletter medium", "", "shop.example", UTM{Source: "weekly", Medium: "newsletter"},
		Result{"", "", "weekly", Email},
	},
	{
		"utm source only, search", "", "shop.example", UTM{Source: "Google"},
		Result{"", "", "Google", OrganicSearch},
	},
	{
		"utm source only, social", "", "shop.example", UTM{Source: "linkedin"},
		Result{"", "", "LinkedIn", OrganicSocial},
	},
	{
		"utm source only, domain", "", "shop.example", UTM{Source: "www.reddit.com"},
		Result{"", "", "Reddit", OrganicSocial},
	},
	{
		"utm source only, unknown", "", "shop.example", UTM{Source: "  podcast  "},
		Result{"", "", "podcast", Referral},
	},
	{
		"utm source overrides referrer kind", "https://www.google.com/", "shop.example", UTM{Source: "partner-blog"},
		Result{"google.com", "/", "partner-blog", Referral},
	},
	{
		"utm medium social", "https://example.org/", "shop.example", UTM{Medium: "social"},
		Result{"example.org", "/", "example.org", OrganicSocial},
	},
	{
		"campaign only", "", "shop.example", UTM{Campaign: "spring"},
		Result{Channel: Direct},
	},
	{
		"long utm source is capped", "", "shop.example", UTM{Source: strings.Repeat("ü", 200)},
		Result{"", "", strings.Repeat("ü", MaxSourceLen/2), Referral},
	},
	{
		"long path is capped", "https://example.org/" + strings.Repeat("a", 3000), "shop.example", UTM{},
		Result{"example.org", "/" + strings.Repeat("a", MaxPathLen-1), "example.org", Referral},
	},
	{"very long host", "https://" + strings.Repeat("a", 300) + ".com/", "shop.example", UTM{}, Result{Channel: Direct}},
	{"space in host", "https://exa mple.org/", "shop.example", UTM{}, Result{Channel: Direct}},
	{
		"invalid UTF-8 path", "https://example.org/\xff\xfe", "shop.example", UTM{},
		Result{"example.org", "/", "example.org", Referral},
	},
}

func TestClassify(t *testing.T) {
	for _, tt := range classifyTests {
		t.Run(tt.name, func(t *testing.T) {
			got := Classify(tt.referrer, tt.pageHost, tt.utm)
			if got != tt.want {
				t.Errorf("Classify(%q, %q, %+v):\ngot  %+v\nwant %+v", tt.referrer, tt.pageHost, tt.utm, got, tt.want)
			}
			checkResult(t, got)
		})
	}
}

var channels = map[string]bool{
	Direct: true, OrganicSearch: true, OrganicSocial: true, OrganicVideo: true, Referral: true,
	Email: true, PaidSearch: true, PaidSocial: true, PaidOther: true,
}

func checkResult(t *testing.T, r Result) {
	t.Helper()
	if !channels[r.Channel] {
		t.Errorf("Channel: got %q, want one of the constants", r.Channel)
	}
	for _, f := range []struct {
		name, v string
		max     int
	}{{"Host", r.Host, MaxHostLen}, {"Path", r.Path, MaxPathLen}, {"Source", r.Source, MaxSourceLen}} {
		if len(f.v) > f.max {
			t.Errorf("%s: got %d bytes, want at most %d", f.name, len(f.v), f.max)
		}
		if !utf8.ValidString(f.v) {
			t.Errorf("%s: got invalid UTF-8 %q", f.name, f.v)
		}
	}
	if strings.ContainsAny(r.Path, "?#") {
		t.Errorf("Path: got %q, want no query string or fragment", r.Path)
	}
	if r.Host == "" && r.Path != "" {
		t.Errorf("Path: got %q with an empty Host, want \"\"", r.Path)
	}
	if r.Channel == Direct && (r.Host != "" || r.Source != "") {
		t.Errorf("got Direct with Host %q and Source %q, want both empty", r.Host, r.Source)
	}
}

func FuzzClassify(f *testing.F) {
	for _, tt := range classifyTests {
		f.Add(tt.referrer, tt.pageHost, tt.utm.Source, tt.utm.Medium)
	}
	f.Fuzz(func(t *testing.T, ref, pageHost, source, medium string) {
		r := Classify(ref, pageHost, UTM{Source: source, Medium: medium})
		checkResult(t, r)
		if strings.TrimSpace(ref) == "" && strings.TrimSpace(source) == "" && strings.TrimSpace(medium) == "" && r.Channel != Direct {
			t.Errorf("Classify(%q, %q, no UTM): got %q, want Direct", ref, pageHost, r.Channel)
		}
	})
}

func BenchmarkClassify(b *testing.B) {
	refs := []string{
		"https://www.google.com/search?q=shoes",
		"https://l.facebook.com/l.php?u=x",
		"https://blog.example.org/post/1",
		"",
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		Classify(refs[i%len(refs)], "shop.example", UTM{})
		i++
	}
}

func BenchmarkClassifyUTM(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		Classify("https://www.google.de/", "shop.example", UTM{Source: "google", Medium: "cpc"})
	}
}

// validHostRef is validHost before its lookup table, kept as the reference
// FuzzValidHost holds validHost to.
func validHostRef(h string) bool {
	if h == "" || len(h) > MaxHostLen {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c <= ' ' || c == 0x7f || strings.IndexByte(`"<>\^`+"`{|}%", c) >= 0 {
			return false
		}
	}
	return utf8.ValidString(h)
}

func FuzzValidHost(f *testing.F) {
	for _, h := range []string{"example.com", "ex ample.com", "a%20b", "b\xfcch.de", "bücher.de", "x\x7f", "a\\b", "a`b", "[::1]", "", strings.Repeat("a", MaxHostLen+1)} {
		f.Add(h)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if got, want := validHost(h), validHostRef(h); got != want {
			t.Fatalf("validHost(%q) = %t, want %t", h, got, want)
		}
	})
}
