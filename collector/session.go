package collector

import (
	"math/rand/v2"
	"sync"
	"time"

	"github.com/shade-analytics/shade/storage"
)

// SessionTimeout is the inactivity that ends a visit.
const SessionTimeout = 30 * time.Minute

const sessionShards = 64

type sessionKey struct {
	site    uint32
	visitor uint64
}

type visit struct {
	row       storage.Session
	engagedMS uint64
}

type sessionShard struct {
	mu sync.Mutex
	m  map[sessionKey]*visit
}

// sessions keeps the open visits of this collector in memory, bounded by a
// maximum count, and turns each event into the session rows it changes.
type sessions struct {
	shards   [sessionShards]sessionShard
	perShard int
	timeout  time.Duration
}

func newSessions(max int, timeout time.Duration) *sessions {
	s := &sessions{perShard: max/sessionShards + 1, timeout: timeout}
	for i := range s.shards {
		s.shards[i].m = map[sessionKey]*visit{}
	}
	return s
}

func (s *sessions) shard(k sessionKey) *sessionShard {
	return &s.shards[(k.visitor^uint64(k.site))%sessionShards]
}

// find returns the open visit of key at time t, or nil.
func (s *sessions) find(k sessionKey, t time.Time) (*sessionShard, *visit) {
	sh := s.shard(k)
	sh.mu.Lock()
	v := sh.m[k]
	if v != nil && t.Sub(v.row.End) > s.timeout {
		delete(sh.m, k)
		v = nil
	}
	if v == nil {
		sh.mu.Unlock()
		return nil, nil
	}
	return sh, v // locked
}

// track applies ev to its visit and appends the resulting session rows to out:
// the visit's previous state with sign -1 (when it existed) and its new state
// with sign +1. previous, when not nil, computes the visitor key under
// yesterday's salt: a visit that began before midnight goes on after the salt
// rotation under its first key, so ev.VisitorID may be rewritten to it.
// It reports whether the visit is tracked (false when memory is full).
func (s *sessions) track(ev *storage.Event, previous func() uint64, out []storage.Session) ([]storage.Session, bool) {
	k := sessionKey{ev.SiteID, ev.VisitorID}
	sh, v := s.find(k, ev.Timestamp)
	if v == nil && previous != nil {
		pk := sessionKey{ev.SiteID, previous()}
		if pk.visitor != 0 {
			if sh, v = s.find(pk, ev.Timestamp); v != nil {
				ev.VisitorID = pk.visitor
			}
		}
	}
	tracked := true
	if v != nil {
		out = append(out, v.row)
		out[len(out)-1].Sign = -1
	} else {
		v = &visit{row: newSessionRow(ev)}
		sh = s.shard(k)
		sh.mu.Lock()
		if len(sh.m) >= s.perShard {
			s.expireShard(sh, ev.Timestamp)
		}
		if len(sh.m) < s.perShard {
			sh.m[k] = v
		} else {
			tracked = false
		}
	}
	applyEvent(v, ev)
	ev.SessionID = v.row.SessionID
	out = append(out, v.row)
	sh.mu.Unlock()
	return out, tracked
}

func newSessionRow(ev *storage.Event) storage.Session {
	id := rand.Uint64()
	for id == 0 {
		id = rand.Uint64()
	}
	return storage.Session{
		SiteID: ev.SiteID, SessionID: id, VisitorID: ev.VisitorID, Sign: 1,
		Start: ev.Timestamp, End: ev.Timestamp, Hostname: ev.Hostname,
		ReferrerHost: ev.ReferrerHost, ReferrerPath: ev.ReferrerPath, ReferrerSource: ev.ReferrerSource,
		Channel: ev.Channel, UTMSource: ev.UTMSource, UTMMedium: ev.UTMMedium, UTMCampaign: ev.UTMCampaign,
		UTMContent: ev.UTMContent, UTMTerm: ev.UTMTerm, Country: ev.Country, Browser: ev.Browser,
		BrowserVersion: ev.BrowserVersion, OS: ev.OS, OSVersion: ev.OSVersion, Device: ev.Device,
		Screen: ev.Screen, Language: ev.Language,
	}
}

// applyEvent folds one event into a visit's state.
func applyEvent(v *visit, ev *storage.Event) {
	r := &v.row
	r.Sign = 1
	if ev.Timestamp.After(r.End) {
		r.End = ev.Timestamp
	}
	r.Events++
	switch ev.Name {
	case NamePageview:
		r.Pageviews++
		if r.EntryPage == "" {
			r.EntryPage = ev.Pathname
		}
		r.ExitPage = ev.Pathname
	case NameEngagement:
		v.engagedMS += uint64(ev.EngagementMS)
	default:
		r.Interactions++
	}
	if r.EntryPage == "" {
		r.EntryPage = ev.Pathname
		r.ExitPage = ev.Pathname
	}
	d := uint32(r.End.Sub(r.Start) / time.Second)
	if e := uint32(v.engagedMS / 1000); e > d {
		d = e
	}
	r.Duration = d
}

// expire forgets visits idle for longer than the timeout.
func (s *sessions) expire(now time.Time) {
	for i := range s.shards {
		sh := &s.shards[i]
		sh.mu.Lock()
		s.expireShard(sh, now)
		sh.mu.Unlock()
	}
}

func (s *sessions) expireShard(sh *sessionShard, now time.Time) {
	for k, v := range sh.m {
		if now.Sub(v.row.End) > s.timeout {
			delete(sh.m, k)
		}
	}
}

// len counts the open visits.
func (s *sessions) len() int {
	n := 0
	for i := range s.shards {
		s.shards[i].mu.Lock()
		n += len(s.shards[i].m)
		s.shards[i].mu.Unlock()
	}
	return n
}
