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
		frag := u.EscapedFragment()
		fragQuery := ""
		if i := strings.IndexByte(frag, '?'); i >= 0 {
			frag, fragQuery = frag[:i], frag[i+1:]
		}
		b.WriteByte('#')
		b.WriteString(frag)
		var fragUTM UTM
		filterQuery(&b, fragQuery, keep, &fragUTM)
		fillUTM(&p.UTM, fragUTM)
	}
	p.Path = cutPath(b.String())
	return p, nil
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
