package storage

import (
	"testing"
	"time"
)

func TestCompactKeepsSums(t *testing.T) {
	t0 := time.Unix(1700000000, 0).UTC()
	state := func(pv uint32) Session {
		return Session{SiteID: 1, SessionID: 9, Start: t0, End: t0.Add(time.Duration(pv) * time.Minute), Pageviews: pv, EntryPage: "/"}
	}
	with := func(s Session, sign int8) Session { s.Sign = sign; return s }
	other := Session{SiteID: 1, SessionID: 10, Start: t0, End: t0, Pageviews: 1, Sign: 1}
	b := Batch{Sessions: []Session{
		with(state(1), -1), with(state(2), 1), // the visit existed before the batch
		with(state(2), -1), with(state(3), 1),
		other,
		with(state(4), 1), with(state(3), -1), // spooled out of order by concurrent requests
	}}
	sum := func(rows []Session) (visits, pageviews int) {
		for _, s := range rows {
			visits += int(s.Sign)
			pageviews += int(s.Sign) * int(s.Pageviews)
		}
		return
	}
	v0, p0 := sum(b.Sessions)
	b.Compact()
	v1, p1 := sum(b.Sessions)
	if v0 != v1 || p0 != p1 {
		t.Errorf("sums changed: visits %d→%d, pageviews %d→%d", v0, v1, p0, p1)
	}
	if len(b.Sessions) != 3 {
		t.Errorf("%d rows after Compact, want 3 (-state1, +state4, other): %+v", len(b.Sessions), b.Sessions)
	}
}
