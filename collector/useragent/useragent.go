// Package useragent reduces a User-Agent header to the few coarse fields Shade
// stores (browser, major version, OS, device class, bot flag), so the raw
// string, which helps fingerprint visitors, never leaves the collector.
//
// Parsing is done by github.com/mssola/useragent plus Shade's own token
// checks for browsers and systems it reports under other names, and a
// substring list of bots. Results are cached by the exact header bytes
// because a site sees the same few hundred User-Agents over and over.
package useragent

import (
	"bytes"
	"strings"

	mssola "github.com/mssola/useragent"
)

// Info is what Shade keeps of a User-Agent (the raw string is never stored).
type Info struct {
	Browser        string // one name per browser family ("Chrome" for mobile Chrome too), "Other" when unknown
	BrowserVersion string // major version only, e.g. "120"; "" when unknown
	OS             string // "Windows", "macOS", "iOS", "Android", "Linux", "ChromeOS" or "Other"
	OSVersion      string // major.minor at most, e.g. "10", "14.2", "10.15"; "" when unknown
	Device         string // "desktop", "mobile" or "tablet"
	Bot            bool   // crawler, monitor, headless browser, HTTP library, or empty UA
}

// Device classes.
const (
	Desktop = "desktop"
	Mobile  = "mobile"
	Tablet  = "tablet"
)

// Other is the Browser or OS of anything Shade does not name.
const Other = "Other"

const (
	// maxParseLen bounds the work one header can cost: real User-Agents are
	// a few hundred bytes, and nothing useful hides after the first 1 KiB.
	maxParseLen = 1024
	// maxFieldLen caps every stored field so a hostile header cannot bloat
	// storage; versions are digits and dots only, so cutting is UTF-8 safe.
	maxFieldLen = 32
)

// browserNames maps mssola's browser names to Shade's; names missing here
// become Other so the set of stored values stays small and known.
var browserNames = map[string]string{
	"Chrome":            "Chrome",
	"Chromium":          "Chromium",
	"Firefox":           "Firefox",
	"Safari":            "Safari",
	"Edge":              "Edge",
	"Opera":             "Opera",
	"Internet Explorer": "Internet Explorer",
	"YaBrowser":         "Yandex Browser",
	"Coc Coc":           "Coc Coc",
	"DuckDuckGo":        "DuckDuckGo",
	"Android":           "Android Browser",
	"Google App":        "Google App",
	"Electron":          "Electron",
}

// browserTokens are product tokens that name a browser more precisely than
// mssola does (it reports Samsung Internet as Chrome, Edge on Android as
// Chrome, …). Order matters: the first token found wins, and browsers that
// also send "Chrome/" come before it.
var browserTokens = []struct{ token, name string }{
	{"SamsungBrowser/", "Samsung Internet"},
	{"EdgA/", "Edge"},
	{"EdgiOS/", "Edge"},
	{"Edg/", "Edge"},
	{"Edge/", "Edge"},
	{"OPR/", "Opera"},
	{"OPiOS/", "Opera"},
	{"OPT/", "Opera"},
	{"YaBrowser/", "Yandex Browser"},
	{"Vivaldi/", "Vivaldi"},
	{"Brave/", "Brave"},
	{"UCBrowser/", "UC Browser"},
	{"FxiOS/", "Firefox"},
	{"CriOS/", "Chrome"},
}

// botTokens are lowercase substrings that mark automated clients. Real
// browsers never send them, while crawlers, uptime monitors, link previewers
// and HTTP libraries usually do.
var botTokens = []string{
	"bot", "crawl", "spider", "slurp", "scrapy", "archiver",
	"headlesschrome", "phantomjs", "puppeteer", "playwright", "selenium", "webdriver",
	"lighthouse", "pagespeed", "gtmetrix", "pingdom", "uptimerobot", "statuscake", "site24x7",
	"monitor", "check_http", "nagios", "zabbix", "datadog", "newrelic",
	"curl/", "wget/", "httpie/", "python-requests", "python-urllib", "python-httpx", "aiohttp",
	"go-http-client", "java/", "okhttp", "apache-httpclient", "httpclient", "axios", "node-fetch",
	"undici", "got (", "libwww-perl", "lwp::", "guzzlehttp", "ruby", "faraday", "postman", "insomnia",
	"facebookexternalhit", "facebookcatalog", "whatsapp",
	"preview", "embedly", "outbrain", "quora link", "vkshare", "w3c_validator",
	"feedfetcher", "feedparser", "rss", "mediapartners", "adsbot", "google-read-aloud",
	"google-inspectiontool", "chrome-lighthouse", "yahoo! slurp", "ia_archiver", "httrack", "nutch",
}

// parse reduces ua to Info without caching; it is the slow path behind
// Parser.Parse and allocates freely.
func parse(ua []byte) Info {
	ua = bytes.TrimSpace(ua)
	if len(ua) == 0 {
		return Info{Browser: Other, OS: Other, Device: Desktop, Bot: true}
	}
	if len(ua) > maxParseLen {
		ua = ua[:maxParseLen]
	}
	s := string(ua)
	p := mssola.New(s)

	var info Info
	name, version := p.Browser()
	info.Browser, info.BrowserVersion = browserNames[name], version
	for _, bt := range browserTokens {
		if i := strings.Index(s, bt.token); i >= 0 {
			info.Browser, info.BrowserVersion = bt.name, s[i+len(bt.token):]
			break
		}
	}
	if info.Browser == "" {
		info.Browser, info.BrowserVersion = Other, ""
	}
	info.BrowserVersion = majorVersion(info.BrowserVersion)

	info.OS, info.OSVersion = parseOS(s)
	info.Device = device(s, p.Mobile(), info.OS)
	info.Bot = p.Bot() || isBot(ua)
	return info
}

// parseOS finds the operating system by its well-known tokens; mssola's OS
// strings vary by engine ("Windows 10", "Intel Mac OS X 10_15_7", "Linux
// x86_64"), so scanning the header directly is simpler and more predictable.
func parseOS(s string) (name, version string) {
	switch {
	case strings.Contains(s, "Windows Phone"):
		return Other, ""
	case strings.Contains(s, "Windows"):
		if i := strings.Index(s, "Windows NT "); i >= 0 {
			return "Windows", windowsVersions[numericVersion(s[i+len("Windows NT "):], 2)]
		}
		return "Windows", ""
	case strings.Contains(s, "iPhone") || strings.Contains(s, "iPad") || strings.Contains(s, "iPod"):
		// "CPU iPhone OS 17_2_1 like Mac OS X" and "CPU OS 16_6 like Mac OS X".
		if i := strings.Index(s, "OS "); i >= 0 {
			return "iOS", numericVersion(s[i+len("OS "):], 2)
		}
		return "iOS", ""
	case strings.Contains(s, "Android"):
		if i := strings.Index(s, "Android "); i >= 0 {
			return "Android", numericVersion(s[i+len("Android "):], 2)
		}
		return "Android", ""
	case strings.Contains(s, "CrOS"):
		// ChromeOS platform build numbers mean nothing to a marketer.
		return "ChromeOS", ""
	case strings.Contains(s, "Mac OS X") || strings.Contains(s, "Macintosh"):
		if i := strings.Index(s, "Mac OS X "); i >= 0 {
			return "macOS", numericVersion(s[i+len("Mac OS X "):], 2)
		}
		return "macOS", ""
	case strings.Contains(s, "Linux") || strings.Contains(s, "X11"):
		return "Linux", ""
	}
	return Other, ""
}

// windowsVersions turns the NT kernel version into the marketing name people
// recognise; Windows 11 still sends "10.0", so it reads as "10".
var windowsVersions = map[string]string{
	"10.0": "10",
	"6.3":  "8.1",
	"6.2":  "8",
	"6.1":  "7",
	"6.0":  "Vista",
	"5.2":  "XP",
	"5.1":  "XP",
	"5.0":  "2000",
}

// device classes the client; tablets are told apart by iPad, explicit
// "Tablet" tokens, and Android without "Mobile" (Google's own convention).
func device(s string, mobile bool, os string) string {
	switch {
	case strings.Contains(s, "iPad"), strings.Contains(s, "Kindle"), strings.Contains(s, "Silk/"),
		strings.Contains(s, "PlayBook"):
		return Tablet
	case os != "Windows" && strings.Contains(s, "Tablet"):
		// Windows sends "Tablet PC" for any touch-capable laptop.
		return Tablet
	case os == "Android" && !strings.Contains(s, "Mobile"):
		return Tablet
	case os == "iOS", os == "Android", strings.Contains(s, "Mobile"), strings.Contains(s, "Windows Phone"):
		return Mobile
	case mobile && os != "Windows" && os != "macOS" && os != "Linux" && os != "ChromeOS":
		return Mobile
	}
	return Desktop
}

// isBot reports whether ua contains any bot token, ignoring ASCII case.
func isBot(ua []byte) bool {
	lower := bytes.ToLower(ua)
	for _, t := range botTokens {
		if bytes.Contains(lower, []byte(t)) {
			return true
		}
	}
	return false
}

// majorVersion keeps the leading digits of v ("120.0.6099.71" → "120").
func majorVersion(v string) string {
	n := 0
	for n < len(v) && n < maxFieldLen && '0' <= v[n] && v[n] <= '9' {
		n++
	}
	return strings.Clone(v[:n])
}

// numericVersion reads a dotted or underscored version at the start of v and
// keeps at most parts components ("10_15_7" → "10.15"), cloned so the cached
// Info does not pin the whole header in memory.
func numericVersion(v string, parts int) string {
	var b []byte
	seen := 1
	for i := 0; i < len(v) && len(b) < maxFieldLen; i++ {
		c := v[i]
		switch {
		case '0' <= c && c <= '9':
			b = append(b, c)
		case (c == '.' || c == '_') && len(b) > 0 && b[len(b)-1] != '.' &&
			i+1 < len(v) && '0' <= v[i+1] && v[i+1] <= '9':
			if seen == parts {
				return string(b)
			}
			seen++
			b = append(b, '.')
		default:
			return string(b)
		}
	}
	return strings.TrimSuffix(string(b), ".")
}
