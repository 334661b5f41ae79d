package collector

import (
	"reflect"
	"testing"
	"time"

	"github.com/shade-analytics/shade/storage"
)

func sampleRecord() (storage.Event, []storage.Session) {
	t0 := time.Unix(1763800000, 0).UTC()
	ev := storage.Event{SiteID: 3, Timestamp: t0, Name: "Signup", VisitorID: 1 << 63, SessionID: 42,
		Hostname: "example.com", Pathname: "/p?q=1", Title: "Tïtle", ReferrerHost: "google.com", ReferrerSource: "Google",
		Channel: "Organic Search", UTMSource: "news", Country: "DE", Browser: "Firefox", BrowserVersion: "133",
		OS: "Linux", Device: "desktop", Screen: "Laptop", Language: "de-DE", IP: "203.0.0.0",
		PropKeys: []string{"plan"}, PropValues: []string{"pro"}, EngagementMS: 1500, ScrollDepth: 80}
	old := storage.Session{SiteID: 3, SessionID: 42, VisitorID: 1 << 63, Sign: -1, Start: t0, End: t0,
		Pageviews: 1, Events: 1, EntryPage: "/", ExitPage: "/", Country: "DE"}
	cur := old
	cur.Sign, cur.End, cur.Events, cur.Interactions, cur.Duration = 1, t0.Add(time.Minute), 2, 1, 60
	return ev, []storage.Session{old, cur}
}

func TestRecordRoundTrip(t *testing.T) {
	ev, sess := sampleRecord()
	var b storage.Batch
	if err := decodeRecord(encodeRecord(nil, &ev, sess), &b); err != nil {
		t.Fatal(err)
	}
	if len(b.Events) != 1 || !reflect.DeepEqual(b.Events[0], ev) {
		t.Errorf("event:\n got %+v\nwant %+v", b.Events, ev)
	}
	if !reflect.DeepEqual(b.Sessions, sess) {
		t.Errorf("sessions:\n got %+v\nwant %+v", b.Sessions, sess)
	}
	rec := encodeRecord(nil, &ev, sess)
	for cut := 0; cut < len(rec); cut++ {
		var b storage.Batch
		if err := decodeRecord(rec[:cut], &b); err == nil {
			t.Fatalf("a record cut at %d of %d bytes decoded", cut, len(rec))
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	ev, sess := sampleRecord()
	f.Add(encodeRecord(nil, &ev, sess))
	f.Add([]byte{recordVersion})
	f.Fuzz(func(t *testing.T, rec []byte) {
		var b storage.Batch
		if err := decodeRecord(rec, &b); err != nil {
			if len(b.Events) != 0 || len(b.Sessions) != 0 {
				t.Fatal("a failed decode appended rows")
			}
			return
		}
		if len(b.Events) != 1 || len(b.Events[0].PropKeys) != len(b.Events[0].PropValues) || b.Events[0].ScrollDepth > 100 {
			t.Fatalf("decoded an inconsistent record: %+v", b)
		}
		again := encodeRecord(nil, &b.Events[0], b.Sessions)
		var b2 storage.Batch
		if err := decodeRecord(again, &b2); err != nil || !reflect.DeepEqual(b, b2) {
			t.Fatalf("re-encoding does not round-trip: %v", err)
		}
	})
}
