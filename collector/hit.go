// Package collector receives tracking requests over HTTP, decodes them
// (Shade's own and Plausible's JSON, Matomo's parameters, the noscript pixel),
// applies the privacy gates, enriches and anonymises each event, keeps visits
// together in sessions and hands the result to a Sink that batches it into
// storage.
package collector

import (
	"bytes"
	"strings"

	"github.com/shade-analytics/shade/internal/safetext"
)

// Field caps: a hostile client cannot make a row larger than this.
const (
	maxNameLen     = 120
	maxURLLen      = 2048
	maxTitleLen    = 300
	maxDomainLen   = 253
	maxPropKeyLen  = 64
	maxPropValLen  = 256
	maxProps       = 30
	maxLanguageLen = 16
	// MaxBodyBytes is the largest request body accepted.
	MaxBodyBytes = 64 << 10
)

// Hit is one decoded tracking request before the privacy gates and
// enrichment. Its strings are copies: nothing refers to the request's buffers.
type Hit struct {
	Name         string // "pageview", "engagement" or a custom event name
	URL          string
	Domain       string // the site's domain as sent by the tracker
	MatomoSiteID uint32 // Matomo's idsite, when the hit came through matomo.php
	Referrer     string
	Title        string
	Width        int // viewport width in CSS pixels, 0 when unknown
	Language     string
	PropKeys     []string
	PropValues   []string
	EngagementMS uint32
	ScrollDepth  uint8 // 0..100
	Hash         bool  // hash-routed single-page app: keep the URL fragment
}

// Event names with a meaning of their own.
const (
	NamePageview   = "pageview"
	NameEngagement = "engagement"
)

// IsPageview reports whether the hit is a pageview.
func (h *Hit) IsPageview() bool { return h.Name == NamePageview }

// clean returns s as valid UTF-8 without control characters, trimmed and cut
// to at most max bytes on a rune boundary.
func clean(s string, max int) string {
	s = strings.TrimSpace(safetext.Clean(s))
	return strings.TrimSpace(safetext.Cut(s, max))
}

// cleanASCII is clean for printable ASCII, the text nearly every hit
// sends, without a copy: it returns a part of b, or false when b holds
// anything else and clean must decide.
func cleanASCII(b []byte, max int) ([]byte, bool) {
	if !safetext.PrintableASCII(b) {
		return nil, false
	}
	// The only white space left is ' ', and every byte starts a rune.
	b = bytes.Trim(b, " ")
	if len(b) > max {
		b = bytes.TrimRight(b[:max], " ")
	}
	return b, true
}

// addProp appends a custom property, dropping empty keys and any past maxProps.
func (h *Hit) addProp(key, value string) {
	key = clean(key, maxPropKeyLen)
	if key == "" || len(h.PropKeys) >= maxProps {
		return
	}
	h.PropKeys = append(h.PropKeys, key)
	h.PropValues = append(h.PropValues, clean(value, maxPropValLen))
}
