package useragent

import (
	"strings"
	"sync"
	"testing"
	"unicode/utf8"
)

var parseTests = []struct {
	name string
	ua   string
	want Info
}{
	{
		"Chrome on Windows",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		Info{"Chrome", "120", "Windows", "10", Desktop, false},
	},
	{
		"Chrome on Windows 7",
		"Mozilla/5.0 (Windows NT 6.1; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/109.0.0.0 Safari/537.36",
		Info{"Chrome", "109", "Windows", "7", Desktop, false},
	},
	{
		"Chrome on macOS",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Safari/537.36",
		Info{"Chrome", "121", "macOS", "10.15", Desktop, false},
	},
	{
		"Safari on macOS",
		"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2_1) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
		Info{"Safari", "17", "macOS", "14.2", Desktop, false},
	},
	{
		"Safari on iPhone",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
		Info{"Safari", "17", "iOS", "17.2", Mobile, false},
	},
	{
		"Safari on iPad",
		"Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/16.6 Mobile/15E148 Safari/604.1",
		Info{"Safari", "16", "iOS", "16.6", Tablet, false},
	},
	{
		"Chrome on iPhone",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/120.0.6099.119 Mobile/15E148 Safari/604.1",
		Info{"Chrome", "120", "iOS", "17.1", Mobile, false},
	},
	{
		"Firefox on iPhone",
		"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/121.0 Mobile/15E148 Safari/605.1.15",
		Info{"Firefox", "121", "iOS", "17.2", Mobile, false},
	},
	{
		"Firefox on Linux",
		"Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
		Info{"Firefox", "121", "Linux", "", Desktop, false},
	},
	{
		"Firefox on Windows",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 Firefox/115.0",
		Info{"Firefox", "115", "Windows", "10", Desktop, false},
	},
	{
		"Firefox on Android phone",
		"Mozilla/5.0 (Android 14; Mobile; rv:121.0) Gecko/121.0 Firefox/121.0",
		Info{"Firefox", "121", "Android", "14", Mobile, false},
	},
	{
		"Firefox on Android tablet",
		"Mozilla/5.0 (Android 13; Tablet; rv:121.0) Gecko/121.0 Firefox/121.0",
		Info{"Firefox", "121", "Android", "13", Tablet, false},
	},
	{
		"Edge on Windows",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
		Info{"Edge", "120", "Windows", "10", Desktop, false},
	},
	{
		"Edge on Android",
		"Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Mobile Safari/537.36 EdgA/120.0.2210.115",
		Info{"Edge", "120", "Android", "10", Mobile, false},
	},
	{
		"Opera on Windows",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Safari/537.36 OPR/105.0.0.0",
		Info{"Opera", "105", "Windows", "10", Desktop, false},
	},
	{
		"Chrome on Android phone",
		"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
		Info{"Chrome", "120", "Android", "14", Mobile, false},
	},
	{
		"Samsung Internet on Android",
		"Mozilla/5.0 (Linux; Android 13; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/23.0 Chrome/115.0.0.0 Mobile Safari/537.36",
		Info{"Samsung Internet", "23", "Android", "13", Mobile, false},
	},
	{
		"Chrome on Android tablet",
		"Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		Info{"Chrome", "120", "Android", "13", Tablet, false},
	},
	{
		"Chrome on ChromeOS",
		"Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		Info{"Chrome", "120", "ChromeOS", "", Desktop, false},
	},
	{
		"Internet Explorer 11",
		"Mozilla/5.0 (Windows NT 6.3; Trident/7.0; rv:11.0) like Gecko",
		Info{"Internet Explorer", "11", "Windows", "8.1", Desktop, false},
	},
	{
		"Windows touch laptop is not a tablet",
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64; Tablet PC 2.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
		Info{"Chrome", "120", "Windows", "10", Desktop, false},
	},
	{
		"Googlebot",
		"Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		Info{Other, "", Other, "", Desktop, true},
	},
	{
		"Googlebot smartphone",
		"Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.71 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
		Info{Other, "", "Android", "6.0", Mobile, true},
	},
	{
		"bingbot",
		"Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
		Info{Other, "", Other, "", Desktop, true},
	},
	{
		"curl",
		"curl/8.4.0",
		Info{Other, "", Other, "", Desktop, true},
	},
	{
		"python-requests",
		"python-requests/2.31.0",
		Info{Other, "", Other, "", Desktop, true},
	},
	{
		"Go client",
		"Go-http-client/1.1",
		Info{Other, "", Other, "", Desktop, true},
	},
	{
		"HeadlessChrome",
		"Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.28 Safari/537.36",
		Info{Other, "", "Linux", "", Desktop, true},
	},
	{
		"Lighthouse",
		"Mozilla/5.0 (Linux; Android 11; moto g power (2022)) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0.0.0 Mobile Safari/537.36 Chrome-Lighthouse",
		Info{"Chrome", "119", "Android", "11", Mobile, true},
	},
	{
		"UptimeRobot",
		"Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)",
		Info{Other, "", Other, "", Desktop, true},
	},
	{
		"facebook preview",
		"facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
		Info{Other, "", Other, "", Desktop, true},
	},
	{"empty", "", Info{Other, "", Other, "", Desktop, true}},
	{"blank", "   ", Info{Other, "", Other, "", Desktop, true}},
}

func TestParse(t *testing.T) {
	p := New(100)
	for _, tt := range parseTests {
		t.Run(tt.name, func(t *testing.T) {
			// Twice: the first call parses, the second must hit the cache
			// and return the same answer.
			for range 2 {
				got := p.Parse([]byte(tt.ua))
				if got != tt.want {
					t.Errorf("Parse(%q):\ngot  %+v\nwant %+v", tt.ua, got, tt.want)
				}
			}
		})
	}
}

func TestNumericVersion(t *testing.T) {
	tests := []struct{ in, want string }{
		{"10_15_7) AppleWebKit", "10.15"},
		{"14.2.1", "14.2"},
		{"17", "17"},
		{"17_; x", "17"},
		{"17..2", "17"},
		{"abc", ""},
		{"", ""},
		{strings.Repeat("9", 100), strings.Repeat("9", maxFieldLen)},
	}
	for _, tt := range tests {
		if got := numericVersion(tt.in, 2); got != tt.want {
			t.Errorf("numericVersion(%q): got %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestCacheBounded(t *testing.T) {
	const size = 10
	p := New(size)
	for i := range 1000 {
		p.Parse([]byte("Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/" + strings.Repeat("1", i%300)))
		if n := len(p.current) + len(p.previous); n > size {
			t.Fatalf("after %d inserts: got %d cached entries, want at most %d", i+1, n, size)
		}
	}
}

func TestCacheDisabled(t *testing.T) {
	p := New(0)
	ua := []byte(parseTests[0].ua)
	if got := p.Parse(ua); got != parseTests[0].want {
		t.Errorf("got %+v, want %+v", got, parseTests[0].want)
	}
	if n := len(p.current) + len(p.previous); n != 0 {
		t.Errorf("got %d cached entries, want 0", n)
	}
}

func TestCacheDoesNotRetainInput(t *testing.T) {
	p := New(10)
	ua := []byte(parseTests[0].ua)
	want := p.Parse(ua)
	for i := range ua {
		ua[i] = 'x'
	}
	if got := p.Parse([]byte(parseTests[0].ua)); got != want {
		t.Errorf("after mutating the caller's buffer: got %+v, want %+v", got, want)
	}
}

func TestCacheHitDoesNotAllocate(t *testing.T) {
	p := New(100)
	ua := []byte(parseTests[0].ua)
	p.Parse(ua)
	if got := testing.AllocsPerRun(100, func() { p.Parse(ua) }); got != 0 {
		t.Errorf("got %v allocs per cached Parse, want 0", got)
	}
}

func TestParseConcurrent(t *testing.T) {
	p := New(8) // small, so goroutines race through rotations too
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2000 {
				tt := parseTests[(g+i)%len(parseTests)]
				if got := p.Parse([]byte(tt.ua)); got != tt.want {
					t.Errorf("Parse(%q): got %+v, want %+v", tt.ua, got, tt.want)
					return
				}
			}
		})
	}
	wg.Wait()
}

func checkInfo(t *testing.T, ua []byte, info Info) {
	t.Helper()
	for name, v := range map[string]string{
		"Browser": info.Browser, "BrowserVersion": info.BrowserVersion,
		"OS": info.OS, "OSVersion": info.OSVersion, "Device": info.Device,
	} {
		if len(v) > maxFieldLen {
			t.Errorf("Parse(%q).%s: got %d bytes, want at most %d", ua, name, len(v), maxFieldLen)
		}
		if !utf8.ValidString(v) {
			t.Errorf("Parse(%q).%s: got invalid UTF-8 %q", ua, name, v)
		}
	}
	if info.Browser == "" || info.OS == "" {
		t.Errorf("Parse(%q): got empty Browser or OS in %+v", ua, info)
	}
	switch info.Device {
	case Desktop, Mobile, Tablet:
	default:
		t.Errorf("Parse(%q).Device: got %q, want desktop, mobile or tablet", ua, info.Device)
	}
	if len(strings.TrimSpace(string(ua))) == 0 && !info.Bot {
		t.Errorf("Parse(%q).Bot: got false, want true for an empty UA", ua)
	}
}

func FuzzParse(f *testing.F) {
	for _, tt := range parseTests {
		f.Add([]byte(tt.ua))
	}
	f.Add([]byte("Mozilla/5.0 (\xff\xfe; Android \xc0; Windows NT 10.0\x00)"))
	p := New(64)
	f.Fuzz(func(t *testing.T, ua []byte) {
		info := p.Parse(ua)
		checkInfo(t, ua, info)
		if again := p.Parse(ua); again != info {
			t.Errorf("Parse(%q) twice: got %+v, then %+v", ua, info, again)
		}
	})
}

func BenchmarkParseCached(b *testing.B) {
	p := New(1000)
	uas := make([][]byte, len(parseTests))
	for i, tt := range parseTests {
		uas[i] = []byte(tt.ua)
		p.Parse(uas[i])
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p.Parse(uas[i%len(uas)])
		i++
	}
}

func BenchmarkParseCachedParallel(b *testing.B) {
	p := New(1000)
	uas := make([][]byte, len(parseTests))
	for i, tt := range parseTests {
		uas[i] = []byte(tt.ua)
		p.Parse(uas[i])
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			p.Parse(uas[i%len(uas)])
			i++
		}
	})
}

func BenchmarkParseUncached(b *testing.B) {
	p := New(0)
	ua := []byte(parseTests[0].ua)
	b.ReportAllocs()
	for b.Loop() {
		p.Parse(ua)
	}
}
