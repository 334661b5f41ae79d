package referrer

import (
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/shade-analytics/shade/internal/safetext"
)

// UTM holds the campaign parameters.
type UTM struct{ Source, Medium, Campaign, Content, Term string }

// Page is a tracked page URL reduced to what Shade stores.
type Page struct {
	Host string // lowercased hostname, no port, "www." kept as sent
	Path string // path (plus #fragment with hash routing) and only allowlisted query params, e.g. "/search?q=shoes"
	UTM  UTM    // from utm_*; ref and source fill UTM.Source when utm_source is absent
}

// maxUTMLen caps each campaign value; real ones are short labels.
const maxUTMLen = 128

// ParsePage parses an absolute http(s) page URL, keeping only the query
// parameters named in keep (exact names) and, when hash is set, the
// #fragment for hash-routed single-page apps.
//
// Campaign parameters (utm_*, ref, source) never stay in Path, even when
// allowlisted: they go to UTM. A fragment's own "?query" is filtered by the
// same allowlist, since hash routers put real parameters there.
func ParsePage(raw string, keep []string, hash bool) (Page, error) {
	if p, ok := parsePlain(strings.TrimSpace(raw), keep, hash); ok {
		return p, nil
	}
	return parsePageURL(raw, keep, hash)
}

// parsePageURL is ParsePage built on net/url. It takes what parsePlain
// declines, and it is the reference FuzzParsePagePlain holds parsePlain to.
func parsePageURL(raw string, keep []string, hash bool) (Page, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		return Page{}, fmt.Errorf("cannot parse page URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		if u.Scheme == "" {
			return Page{}, errors.New("cannot parse page URL: not absolute")
		}
		return Page{}, fmt.Errorf("cannot parse page URL: scheme %q is not http or https", clean(u.Scheme, 16))
	}
	host := strings.TrimSuffix(u.Hostname(), ".")
	if !validHost(host) {
		return Page{}, errors.New("cannot parse page URL: empty or invalid host")
	}

	var p Page
	p.Host = clean(lowerHost(host), MaxHostLen)

	var b strings.Builder
	path := pagePath(u)
	if !strings.HasPrefix(path, "/") {
		b.WriteByte('/')
	}
	b.WriteString(path)
	filterQuery(&b, u.RawQuery, keep, &p.UTM)
	if hash && u.Fragment != "" {
		appendFragment(&b, u.EscapedFragment(), keep, &p.UTM)
	}
	p.Path = cutPath(b.String())
	return p, nil
}

// appendFragment appends "#" and a hash-routed fragment, whose own "?query"
// goes through the same allowlist; its campaign tags fill in what the
// page's query left empty.
func appendFragment(b *strings.Builder, frag string, keep []string, utm *UTM) {
	frag, fragQuery, _ := strings.Cut(frag, "?")
	b.WriteByte('#')
	b.WriteString(frag)
	var fragUTM UTM
	filterQuery(b, fragQuery, keep, &fragUTM)
	fillUTM(utm, fragUTM)
}

// parsePlain is ParsePage without net/url for the common page URL: http or
// https, a host of letters, digits and "-._~" with an optional port, and
// printable ASCII after it. It declines (ok false) everything else, and
// everything ParsePage would reject, rather than re-create net/url's
// escaping rules; parsePageURL then decides. s is already trimmed.
func parsePlain(s string, keep []string, hash bool) (Page, bool) {
	rest, ok := cutHTTPScheme(s)
	if !ok {
		return Page{}, false
	}
	for i := 0; i < len(rest); i++ {
		// net/url rejects controls and escapes spaces and non-ASCII; a
		// backslash is a path separator to browsers but not to net/url.
		if c := rest[i]; c <= ' ' || c >= 0x7f || c == '\\' {
			return Page{}, false
		}
	}
	rest, frag, _ := strings.Cut(rest, "#")
	rest, query, _ := strings.Cut(rest, "?")
	authority, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		authority, path = rest[:i], rest[i:]
	}
	host, ok := plainHost(authority)
	if !ok {
		return Page{}, false
	}
	if strings.IndexByte(path, '%') >= 0 {
		dec, err := url.PathUnescape(path)
		if err != nil || strings.ContainsAny(dec, "?#") || safetext.HasControl(dec) {
			// An error, or a path pagePath keeps escaped.
			return Page{}, false
		}
		path = dec
	}
	withFrag := hash && frag != ""
	if withFrag && !plainFragment(frag) || !validEscapes(frag) {
		// EscapedFragment would re-encode it, or url.Parse would fail.
		return Page{}, false
	}
	if path == "" {
		path = "/"
	}
	var p Page
	p.Host = clean(lowerHost(host), MaxHostLen)
	if len(keep) == 0 && !withFrag {
		// Nothing can join the path, so no builder: the common case
		// allocates nothing.
		var none strings.Builder
		filterQuery(&none, query, nil, &p.UTM)
		p.Path = cutPath(path)
		return p, true
	}
	var b strings.Builder
	b.Grow(len(path) + 1 + len(query) + 1 + len(frag))
	b.WriteString(path)
	filterQuery(&b, query, keep, &p.UTM)
	if withFrag {
		appendFragment(&b, frag, keep, &p.UTM)
	}
	p.Path = cutPath(b.String())
	return p, true
}

// cutHTTPScheme returns what follows "http://" or "https://", matched
// without regard to ASCII case as url.Parse does.
func cutHTTPScheme(s string) (string, bool) {
	for _, prefix := range [...]string{"http://", "https://"} {
		if len(s) >= len(prefix) && equalFoldASCII(s[:len(prefix)], prefix) {
			return s[len(prefix):], true
		}
	}
	return "", false
}

// equalFoldASCII reports whether s equals the lowercase ASCII lower,
// ignoring ASCII case only: strings.EqualFold would also match "ſ" to "s".
func equalFoldASCII(s, lower string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// plainHost returns the hostname of an authority made only of letters,
// digits, "-._~" and an optional numeric port, without a trailing dot;
// url.Parse keeps such an authority as it is, and validHost only needs to
// check the length.
func plainHost(authority string) (string, bool) {
	host, port, _ := strings.Cut(authority, ":")
	for i := 0; i < len(port); i++ {
		if port[i] < '0' || port[i] > '9' {
			return "", false
		}
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~') {
			return "", false
		}
	}
	host = strings.TrimSuffix(host, ".")
	return host, host != "" && len(host) <= MaxHostLen
}

// plainFragment reports whether EscapedFragment returns frag unchanged:
// printable ASCII without escapes or the bytes it would encode.
func plainFragment(frag string) bool {
	return !strings.ContainsAny(frag, "\"#%<>\\^`{|}")
}

// validEscapes reports whether every "%" in s starts a two-digit hex
// escape, the only way url.Parse can fail on a fragment.
func validEscapes(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// pagePath returns the decoded path when that is unambiguous and readable,
// else the escaped form: a decoded "?" or "#" would let path text pose as a
// query string or fragment.
func pagePath(u *url.URL) string {
	if strings.ContainsAny(u.Path, "?#") || safetext.HasControl(u.Path) {
		return u.EscapedPath()
	}
	return u.Path
}

// filterQuery appends the allowlisted parameters of rawQuery to b, in the
// order they were sent, and moves campaign parameters into utm.
func filterQuery(b *strings.Builder, rawQuery string, keep []string, utm *UTM) {
	var ref, src string
	sep := byte('?')
	for rawQuery != "" {
		var pair string
		pair, rawQuery, _ = strings.Cut(rawQuery, "&")
		rawName, rawValue, _ := strings.Cut(pair, "=")
		name, ok := queryUnescape(rawName)
		if !ok || name == "" {
			continue
		}
		campaign := isCampaign(name)
		if !campaign && !kept(name, keep) {
			// The value of a dropped parameter is never decoded: that
			// could only allocate.
			continue
		}
		value, ok := queryUnescape(rawValue)
		if !ok {
			continue
		}
		if !campaign {
			b.WriteByte(sep)
			sep = '&'
			b.WriteString(url.QueryEscape(name))
			b.WriteByte('=')
			b.WriteString(url.QueryEscape(value))
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

// queryUnescape is url.QueryUnescape reporting success, with a cheaper
// check for the usual name or value that has nothing to decode.
func queryUnescape(s string) (string, bool) {
	if strings.IndexByte(s, '%') < 0 && strings.IndexByte(s, '+') < 0 {
		return s, true
	}
	v, err := url.QueryUnescape(s)
	return v, err == nil
}

// setOnce keeps the first non-empty value, so a repeated parameter cannot
// override what the link was tagged with.
func setOnce(dst *string, v string) {
	if *dst == "" {
		*dst = v
	}
}

// fillUTM copies fields of from that are empty in to.
func fillUTM(to *UTM, from UTM) {
	setOnce(&to.Source, from.Source)
	setOnce(&to.Medium, from.Medium)
	setOnce(&to.Campaign, from.Campaign)
	setOnce(&to.Content, from.Content)
	setOnce(&to.Term, from.Term)
}

// isCampaign reports whether a parameter belongs to UTM rather than Path;
// unknown utm_* names (utm_id, …) are dropped rather than kept.
func isCampaign(name string) bool {
	return strings.HasPrefix(name, "utm_") || name == "ref" || name == "source"
}

func kept(name string, keep []string) bool {
	for _, k := range keep {
		if k == name {
			return true
		}
	}
	return false
}

// cutPath caps a page path; when the cut falls inside the query string it
// drops the partial parameter rather than storing half of one.
func cutPath(p string) string {
	if len(p) <= MaxPathLen {
		return clean(p, MaxPathLen)
	}
	p = clean(p, MaxPathLen)
	if q := strings.IndexAny(p, "?#"); q >= 0 {
		if amp := strings.LastIndexAny(p, "&?#"); amp >= q {
			p = p[:amp]
		}
	}
	return p
}
