package dashboard

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/shade-analytics/shade/storage"
)

func TestResolvePeriod(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	// 23:30 UTC on 31 March is already 1 April in Paris.
	now := time.Date(2024, 3, 31, 23, 30, 0, 0, time.UTC)
	f := func(period, date, wantFrom, wantTo string) {
		t.Helper()
		from, to, err := resolvePeriod(period, date, paris, now)
		if err != nil || string(from) != wantFrom || string(to) != wantTo {
			t.Errorf("resolvePeriod(%q, %q) = %s..%s, %v; want %s..%s", period, date, from, to, err, wantFrom, wantTo)
		}
	}
	f("day", "", "2024-04-01", "2024-04-01")
	f("", "", "2024-03-03", "2024-04-01")
	f("7d", "2024-03-10", "2024-03-04", "2024-03-10")
	f("30d", "2024-03-10", "2024-02-10", "2024-03-10")
	f("month", "2024-02-10", "2024-02-01", "2024-02-29")
	f("6mo", "2024-03-10", "2023-10-01", "2024-03-31")
	f("12mo", "2024-03-10", "2023-04-01", "2024-03-31")
	f("custom", "2024-01-05,2024-01-07", "2024-01-05", "2024-01-07")
	for _, bad := range [][2]string{{"year", ""}, {"custom", "2024-01-05"}, {"custom", "2024-01-07,2024-01-05"}, {"day", "yesterday"}} {
		if _, _, err := resolvePeriod(bad[0], bad[1], paris, now); err == nil {
			t.Errorf("resolvePeriod(%q, %q) succeeded, want an error", bad[0], bad[1])
		}
	}
}

func TestParseFilters(t *testing.T) {
	got, err := parseFilters("visit:source==Google|Direct / None;event:page!=/blog/**;visit:country~fr;event:props:plan==pro")
	if err != nil {
		t.Fatal(err)
	}
	want := []storage.Filter{
		{Property: "visit:source", Op: storage.OpIs, Values: []string{"Google", ""}},
		{Property: "event:page", Op: storage.OpIsNot, Values: []string{"/blog/**"}},
		{Property: "visit:country", Op: storage.OpContains, Values: []string{"fr"}},
		{Property: "event:props:plan", Op: storage.OpIs, Values: []string{"pro"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	if s := formatFilters(got); s != "visit:source==Google|Direct / None;event:page!=/blog/**;visit:country~fr;event:props:plan==pro" {
		t.Errorf("formatFilters round trip = %q", s)
	}
	for _, bad := range []string{"visit:source", "visit:nope==x", "source==Google", "visit:source) OR 1=1 --==x"} {
		if _, err := parseFilters(bad); err == nil {
			t.Errorf("parseFilters(%q) succeeded, want an error", bad)
		}
	}
}

// FuzzParseFilters checks that any filter string either fails cleanly or
// yields known properties and operators that survive a round trip.
func FuzzParseFilters(f *testing.F) {
	f.Add("visit:source==Google;event:page==/blog/**")
	f.Add("event:props:a~b|c;visit:country!=FR")
	f.Fuzz(func(t *testing.T, s string) {
		fs, err := parseFilters(s)
		if err != nil {
			return
		}
		for _, flt := range fs {
			if !storage.ValidProperty(flt.Property) && flt.Property != "event:goal" {
				t.Fatalf("parsed unknown property %q", flt.Property)
			}
			if flt.Op != storage.OpIs && flt.Op != storage.OpIsNot && flt.Op != storage.OpContains {
				t.Fatalf("parsed unknown operator %q", flt.Op)
			}
		}
		again, err := parseFilters(formatFilters(fs))
		if err != nil {
			t.Fatalf("round trip of %q failed: %v", s, err)
		}
		if len(again) != len(fs) && !strings.Contains(s, ";;") {
			t.Fatalf("round trip of %q changed the filter count: %d → %d", s, len(fs), len(again))
		}
	})
}

func TestConfigValidate(t *testing.T) {
	c := Config{CollectorURL: "https://stats.example/"}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c.SessionTTL != 14*24*time.Hour || c.SignInAttempts != 10 || c.SignInWindow != 15*time.Minute || c.CollectorURL != "https://stats.example" {
		t.Errorf("defaults = %+v", c)
	}
	for _, bad := range []Config{{}, {CollectorURL: "stats.example"}, {CollectorURL: "ftp://x"}, {CollectorURL: "https://x", SessionTTL: time.Second}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) succeeded, want an error", bad)
		}
	}
}
