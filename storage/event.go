package storage

import "time"

// Event is one stored pageview or custom event, already anonymised: it has no
// field that could hold a full IP address or a raw User-Agent, so neither can
// reach ClickHouse by construction.
type Event struct {
	SiteID         uint32
	Timestamp      time.Time
	Name           string // "pageview", "engagement" or a custom event name
	VisitorID      uint64 // keyed hash of (daily salt, site, IP, User-Agent)
	SessionID      uint64
	Hostname       string
	Pathname       string
	Title          string
	ReferrerHost   string
	ReferrerPath   string
	ReferrerSource string
	Channel        string
	UTMSource      string
	UTMMedium      string
	UTMCampaign    string
	UTMContent     string
	UTMTerm        string
	Country        string // ISO 3166-1 alpha-2, "" when unknown
	Browser        string
	BrowserVersion string // major version only
	OS             string
	OSVersion      string
	Device         string // desktop, mobile, tablet
	Screen         string // screen class from the viewport width
	Language       string
	IP             string // truncated IP, never the full address
	PropKeys       []string
	PropValues     []string
	EngagementMS   uint32
	ScrollDepth    uint8
	BatchID        uint64 // identifies the shipped batch, for replays without duplicates
}

// Session is one version of a visit's state in the sessions table, a
// CollapsingMergeTree: each change writes the old state with Sign -1 and the
// new state with Sign +1, so sums weighted by Sign give exact visit metrics.
type Session struct {
	SiteID         uint32
	SessionID      uint64
	VisitorID      uint64
	Sign           int8
	Start          time.Time
	End            time.Time
	Duration       uint32 // seconds, last event - first event, with engagement time
	Pageviews      uint32
	Events         uint32 // all events, pageviews included
	Interactions   uint32 // custom (interactive) events
	EntryPage      string
	ExitPage       string
	Hostname       string
	ReferrerHost   string
	ReferrerPath   string
	ReferrerSource string
	Channel        string
	UTMSource      string
	UTMMedium      string
	UTMCampaign    string
	UTMContent     string
	UTMTerm        string
	Country        string
	Browser        string
	BrowserVersion string
	OS             string
	OSVersion      string
	Device         string
	Screen         string
	Language       string
	BatchID        uint64
}

// IsBounce reports whether the visit had a single pageview and no interactive event.
func (s *Session) IsBounce() bool { return s.Pageviews <= 1 && s.Interactions == 0 }

// Batch is a unit of writing: the events accepted together and the session
// state changes they caused. A batch is inserted as a whole.
type Batch struct {
	ID       uint64
	Events   []Event
	Sessions []Session
}

// Len is the number of rows the batch writes.
func (b *Batch) Len() int { return len(b.Events) + len(b.Sessions) }

// Compact removes pairs of session rows that cancel: a state written with
// sign +1 and the same state written again with -1 by a later event of the
// visit. A visit with many events in one batch then costs at most its state
// before the batch (-1) and after it (+1), and every sum weighted by sign is
// unchanged.
func (b *Batch) Compact() {
	if len(b.Sessions) < 2 {
		return
	}
	net := make(map[Session]int, len(b.Sessions))
	for _, s := range b.Sessions {
		sign := int(s.Sign)
		s.Sign = 0
		net[s] += sign
	}
	out := b.Sessions[:0]
	for _, s := range b.Sessions {
		sign := s.Sign
		s.Sign = 0
		n := net[s]
		switch {
		case n > 0 && sign > 0, n < 0 && sign < 0:
			net[s] -= int(sign)
			s.Sign = sign
			out = append(out, s)
		}
	}
	b.Sessions = out
}
