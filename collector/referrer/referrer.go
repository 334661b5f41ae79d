// Package referrer reduces tracked page URLs and referrers to what Shade
// stores, and sorts each visit into one acquisition channel.
//
// Privacy: page URLs keep their host, path and only the query parameters a
// site allowlists; campaign parameters move to UTM. Referrers keep host and
// path only, never their query string or fragment, since those carry search
// terms, tokens and e-mail addresses.
//
// Channel rules, first match wins:
//
//  1. A self-referral (the referrer's host equals the page's host, ignoring
//     case and a leading "www.") counts as no referrer: internal navigation
//     and reloads must not look like traffic sources.
//  2. A paid utm_medium (cpc, ppc, paid, paidsearch, paid_social, display, …)
//     is Paid Search when the source is a search engine or the medium says
//     search, Paid Social when the source is a social network or the medium
//     says social, else Paid Other.
//  3. utm_medium email, e-mail, e_mail, newsletter or mail, or a webmail
//     source (Gmail, Outlook, …) is Email.
//  4. Other well-known mediums decide directly (organic → Organic Search,
//     social → Organic Social, video → Organic Video, referral → Referral).
//  5. The source's kind decides next: a search engine is Organic Search, a
//     social network Organic Social, a video site (YouTube, Vimeo, Twitch)
//     Organic Video. The source is utm_source when it names a known source,
//     else the referrer's host.
//  6. Anything else with a referrer, utm_source or utm_medium is Referral.
//  7. Nothing at all is Direct.
//
// Hosts are matched by registrable domain, so subdomains such as
// m.facebook.com or l.facebook.com find facebook.com, and engines with a
// domain per country (google.de, google.co.uk) match by brand. Android apps
// send android-app://<package>, which is matched by package name.
package referrer

import (
	"strings"
	"unicode/utf8"

	"github.com/shade-analytics/shade/internal/safetext"
)

// Channels, exactly one of which Classify returns.
const (
	Direct        = "Direct"
	OrganicSearch = "Organic Search"
	OrganicSocial = "Organic Social"
	OrganicVideo  = "Organic Video"
	Referral      = "Referral"
	Email         = "Email"
	PaidSearch    = "Paid Search"
	PaidSocial    = "Paid Social"
	PaidOther     = "Paid Other"
)

// Length caps for stored strings: a host can't be longer than DNS allows,
// and paths and sources are cut where a report would stop being readable
// anyway.
const (
	MaxHostLen   = 253
	MaxPathLen   = 1024
	MaxSourceLen = 128
)

// Result is a classified referrer.
type Result struct {
	Host    string // referrer host, lowercased, "www." stripped; "" for direct
	Path    string // referrer path only, never its query string or fragment
	Source  string // a known source's name (from utm_source or the referrer), else utm_source as sent, else the host; "" for direct
	Channel string // one of the channel constants
}

// Classify classifies a raw referrer URL (may be empty or garbage: then Direct unless UTM says otherwise) seen on a page of pageHost.
func Classify(rawReferrer, pageHost string, utm UTM) Result {
	var r Result
	host, path, app := splitReferrer(rawReferrer)
	if host != "" && !sameSite(host, pageHost) {
		r.Host = clean(host, MaxHostLen)
		if app {
			// An app id has no path worth keeping.
			r.Path = ""
		} else {
			r.Path = clean(path, MaxPathLen)
		}
	}

	refSource := lookupHost(r.Host)
	utmSource := clean(strings.TrimSpace(utm.Source), MaxSourceLen)
	src := refSource
	if utmSource != "" {
		if s := lookupName(utmSource); s.kind != kindNone {
			src = s
		} else if s := lookupHost(stripWWW(strings.ToLower(utmSource))); s.kind != kindNone {
			src = s
		} else {
			// An unknown utm_source overrides what the referrer says it is:
			// the site owner tagged the link on purpose.
			src = source{}
		}
	}

	switch {
	case utmSource != "" && src.name != "":
		// utm_source=google and a google.com referrer are one source.
		r.Source = src.name
	case utmSource != "":
		r.Source = utmSource
	case refSource.name != "":
		r.Source = refSource.name
	default:
		r.Source = clean(r.Host, MaxSourceLen)
	}

	medium := strings.TrimSpace(utm.Medium)
	r.Channel = channel(lowerASCII(medium), src.kind, r.Host != "" || utmSource != "" || medium != "")
	return r
}

// channel applies the package's rules 2 to 7 to an already lowercased medium.
func channel(medium string, k kind, any bool) string {
	if paidMediums[medium] {
		switch {
		case paidSearchMediums[medium], k == kindSearch && !paidSocialMediums[medium]:
			return PaidSearch
		case paidSocialMediums[medium], k == kindSocial:
			return PaidSocial
		}
		return PaidOther
	}
	if ch, ok := unpaidMediums[medium]; ok {
		return ch
	}
	switch k {
	case kindEmail:
		return Email
	case kindSearch:
		return OrganicSearch
	case kindSocial:
		return OrganicSocial
	case kindVideo:
		return OrganicVideo
	}
	if any {
		return Referral
	}
	return Direct
}

// splitReferrer extracts the host (lowercased, without port, userinfo,
// trailing dot or "www.") and path from a referrer without allocating in the
// common case. Anything that isn't http(s), android-app or a bare
// "host/path" yields no host: javascript:, data:, about:blank and friends
// are not traffic sources.
func splitReferrer(raw string) (host, path string, app bool) {
	s := strings.TrimSpace(raw)
	if i := strings.Index(s, "://"); i >= 0 {
		switch lowerASCII(s[:i]) {
		case "http", "https":
		case "android-app":
			app = true
		default:
			return "", "", false
		}
		s = s[i+3:]
	} else if strings.HasPrefix(s, "//") {
		s = s[2:]
	} else {
		// No scheme: accept "example.com/page" but not "javascript:x" or
		// "mailto:x", which have a colon before any slash.
		slash := strings.IndexAny(s, "/?#")
		head := s
		if slash >= 0 {
			head = s[:slash]
		}
		if c := strings.IndexByte(head, ':'); c >= 0 && !isPort(head[c+1:]) {
			return "", "", false
		}
		if !strings.Contains(head, ".") {
			return "", "", false
		}
	}
	end := strings.IndexAny(s, "/?#\\")
	authority, rest := s, ""
	if end >= 0 {
		authority, rest = s[:end], s[end:]
	}
	if at := strings.LastIndexByte(authority, '@'); at >= 0 {
		authority = authority[at+1:]
	}
	host = hostname(authority)
	if !validHost(host) {
		return "", "", false
	}
	if q := strings.IndexAny(rest, "?#"); q >= 0 {
		rest = rest[:q]
	}
	if rest == "" || rest[0] != '/' {
		rest = "/" + rest
	}
	return stripWWW(lowerHost(host)), rest, app
}

// hostname drops the port from an authority, keeping IPv6 literals without
// their brackets.
func hostname(authority string) string {
	if strings.HasPrefix(authority, "[") {
		if i := strings.IndexByte(authority, ']'); i > 0 {
			return authority[1:i]
		}
		return ""
	}
	if i := strings.LastIndexByte(authority, ':'); i >= 0 && isPort(authority[i+1:]) {
		authority = authority[:i]
	}
	return strings.TrimSuffix(authority, ".")
}

// isPort reports whether s is empty or all digits, the forms a port takes.
func isPort(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// validHost rejects hosts no browser would send, so garbage becomes Direct
// instead of a junk row in the sources report.
func validHost(h string) bool {
	if h == "" || len(h) > MaxHostLen {
		return false
	}
	ascii := true
	for i := 0; i < len(h); i++ {
		c := h[i]
		if badHostByte[c] {
			return false
		}
		if c >= utf8.RuneSelf {
			ascii = false
		}
	}
	return ascii || utf8.ValidString(h)
}

// badHostByte marks the bytes validHost rejects: spaces, controls and the
// characters no browser sends unescaped in a host. A table instead of a
// search through the list for every byte of every referrer.
var badHostByte = func() (t [256]bool) {
	for c := 0; c <= ' '; c++ {
		t[c] = true
	}
	t[0x7f] = true
	for _, c := range []byte(`"<>\^` + "`{|}%") {
		t[c] = true
	}
	return t
}()

// sameSite reports whether a referrer host (already normalised) belongs to
// the page's own site.
func sameSite(refHost, pageHost string) bool {
	if pageHost == "" {
		return false
	}
	return refHost == stripWWW(lowerHost(hostname(strings.TrimSpace(pageHost))))
}

// lookupHost finds the source of a normalised host: exact entries and
// parent domains first, then brands under country domains.
func lookupHost(host string) source {
	if host == "" {
		return source{}
	}
	for h := host; ; {
		if s, ok := hostSources[h]; ok {
			return s
		}
		dot := strings.IndexByte(h, '.')
		if dot < 0 {
			break
		}
		h = h[dot+1:]
	}
	// "images.google.co.uk": find a brand label followed by one TLD label,
	// or by a known second level and a two-letter country code.
	for h := host; ; {
		dot := strings.IndexByte(h, '.')
		if dot < 0 {
			break
		}
		label, rest := h[:dot], h[dot+1:]
		if s, ok := brandSources[label]; ok && isPublicSuffix(rest) {
			return s
		}
		h = rest
	}
	return source{}
}

// isPublicSuffix reports whether s looks like a country or generic TLD
// ("de", "com") or a country second level ("co.uk", "com.br").
func isPublicSuffix(s string) bool {
	dot := strings.IndexByte(s, '.')
	if dot < 0 {
		return len(s) >= 2 && len(s) <= 3 && isLetters(s)
	}
	return secondLevels[s[:dot]] && len(s)-dot-1 == 2 && isLetters(s[dot+1:])
}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return s != ""
}

// lookupName finds a source by a utm_source value, ignoring case.
func lookupName(name string) source {
	if len(name) > 32 {
		return source{}
	}
	return nameSources[lowerASCII(name)]
}

func stripWWW(h string) string {
	return strings.TrimPrefix(h, "www.")
}

// lowerHost lowercases a host, including non-ASCII IDN labels; it allocates
// only when something changes.
func lowerHost(h string) string {
	for i := 0; i < len(h); i++ {
		c := h[i]
		if c >= utf8.RuneSelf {
			return strings.ToLower(h)
		}
		if 'A' <= c && c <= 'Z' {
			return strings.ToLower(h)
		}
	}
	return h
}

// lowerASCII lowercases ASCII letters only; mediums and source names are
// compared against ASCII tables.
func lowerASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if 'A' <= s[i] && s[i] <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// clean makes s valid UTF-8 without control characters and cuts it to at
// most max bytes on a rune boundary, so stored strings are always safe to
// render and bounded in size.
func clean(s string, max int) string { return safetext.Cut(safetext.Clean(s), max) }
