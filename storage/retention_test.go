package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/shade-analytics/shade/internal/chtest"
	"github.com/shade-analytics/shade/storage"
)

// Privacy invariant 8: events older than the site's retention are deleted,
// from the raw tables and from the rollups.
func TestRetentionDeletesOldEvents(t *testing.T) {
	ctx := context.Background()
	st := chtest.Store(t)
	keep := storage.NewSite("keep.example")
	keep.RetentionDays = 30
	if err := st.SaveSite(ctx, &keep); err != nil {
		t.Fatal(err)
	}
	forever := storage.NewSite("forever.example")
	if err := st.SaveSite(ctx, &forever); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	var b storage.Batch
	for _, site := range []uint32{keep.ID, forever.ID} {
		for i, age := range []time.Duration{40 * 24 * time.Hour, 10 * 24 * time.Hour} {
			ts := now.Add(-age)
			b.Events = append(b.Events, storage.Event{SiteID: site, Timestamp: ts, Name: "pageview", Pathname: "/", SessionID: uint64(site*10) + uint64(i)})
			b.Sessions = append(b.Sessions, storage.Session{SiteID: site, SessionID: uint64(site*10) + uint64(i), Sign: 1, Start: ts, End: ts, Pageviews: 1, Events: 1})
		}
	}
	if err := st.Insert(ctx, &b); err != nil {
		t.Fatal(err)
	}
	for _, s := range []storage.Site{keep, forever} {
		if err := st.DeleteExpiredEvents(ctx, s, now); err != nil {
			t.Fatal(err)
		}
	}
	count := func(q string, args ...any) uint64 {
		var n uint64
		if err := st.Conn().QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	old := now.Add(-30 * 24 * time.Hour)
	deadline := time.Now().Add(60 * time.Second)
	for {
		left := count("SELECT count() FROM events WHERE site_id = ? AND timestamp < ?", keep.ID, old) +
			count("SELECT count() FROM sessions WHERE site_id = ? AND start < ?", keep.ID, old) +
			count("SELECT count() FROM `.inner.rollup_events_hourly` WHERE site_id = ? AND t < ?", keep.ID, old)
		if left == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d expired rows left after 60 s", left)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n := count("SELECT count() FROM events WHERE site_id = ?", keep.ID); n != 1 {
		t.Errorf("site with retention kept %d events, want the recent 1", n)
	}
	if n := count("SELECT count() FROM events WHERE site_id = ?", forever.ID); n != 2 {
		t.Errorf("site without retention kept %d events, want 2", n)
	}
}
