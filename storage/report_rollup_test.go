package storage_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/shade-analytics/shade/storage"
)

// TestRollupsMatchRawRows forces the approximate path (ExactBelow: 1), which
// reads the rollups for unfiltered queries, and checks it against the exact
// answers from raw rows: on a data set this small, HyperLogLog is exact.
func TestRollupsMatchRawRows(t *testing.T) {
	ctx := context.Background()
	st := loadFixture(t)
	queries := map[string]storage.Query{
		"three Paris days":                    pq("2024-03-09", "2024-03-11"),
		"one Paris day (edges of UTC days)":   pq("2024-03-10", "2024-03-10"),
		"UTC":                                 {SiteID: 1, Timezone: "UTC", From: "2024-03-09", To: "2024-03-11"},
		"New York":                            {SiteID: 1, Timezone: "America/New_York", From: "2024-03-09", To: "2024-03-11"},
		"half-hour offset falls back to rows": {SiteID: 1, Timezone: "Asia/Kolkata", From: "2024-03-09", To: "2024-03-11"},
		"a month":                             pq("2024-03-01", "2024-03-31"),
	}
	for name, exact := range queries {
		t.Run(name, func(t *testing.T) {
			approx := exact
			approx.ExactBelow = 1
			a, err1 := st.Aggregate(ctx, exact)
			b, err2 := st.Aggregate(ctx, approx)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			if totalsOf(a) != totalsOf(b) {
				t.Errorf("aggregate: rows %+v, rollups %+v", totalsOf(a), totalsOf(b))
			}
			for _, iv := range []storage.Interval{storage.IntervalHour, storage.IntervalDay, storage.IntervalWeek, storage.IntervalMonth} {
				e, a := exact, approx
				e.Interval, a.Interval = iv, iv
				s1, err1 := st.Timeseries(ctx, e)
				s2, err2 := st.Timeseries(ctx, a)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if !reflect.DeepEqual(s1, s2) {
					t.Errorf("%s series: rows %+v\nrollups %+v", iv, s1, s2)
				}
			}
			for _, p := range []string{"visit:source", "visit:channel", "visit:country", "visit:device", "visit:browser",
				"visit:os", "visit:screen", "visit:language"} {
				r1, err1 := st.Breakdown(ctx, exact, p)
				r2, err2 := st.Breakdown(ctx, approx, p)
				if err1 != nil || err2 != nil {
					t.Fatal(err1, err2)
				}
				if !reflect.DeepEqual(r1, r2) {
					t.Errorf("%s: rows %+v\nrollups %+v", p, r1, r2)
				}
			}
			// Top pages from the rollups have no visits per page.
			r1, err1 := st.TopPages(ctx, exact)
			r2, err2 := st.TopPages(ctx, approx)
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			page := func(rows []storage.Row) (out []string) {
				for _, r := range rows {
					out = append(out, fmt.Sprintf("%s:%d/%d/%vs", r.Value, r.Visitors, r.Pageviews, r.TimeOnPage))
				}
				return out
			}
			if !reflect.DeepEqual(page(r1), page(r2)) {
				t.Errorf("top pages: rows %q\nrollups %q", page(r1), page(r2))
			}
		})
	}
}

// TestPlannedQueryWithLaterFilters checks that a filter or goal added to a
// query planned for the rollups sends it back to raw rows.
func TestPlannedQueryWithLaterFilters(t *testing.T) {
	ctx := context.Background()
	st := loadFixture(t)
	q := pq("2024-03-09", "2024-03-11")
	q.ExactBelow = 1
	planned, err := st.Plan(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	filtered := planned
	filtered.Filters = []storage.Filter{is("visit:source", "Google")}
	rows, err := st.Breakdown(ctx, filtered, "visit:country")
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || visitRow(rows[0]) != "FR:2/2/3" {
		t.Errorf("countries of Google visits = %v, want FR:2/2/3 only", rows)
	}
	goal := storage.Goal{SiteID: 1, Kind: storage.GoalPage, Value: "/blog/**"}
	conv, err := st.GoalBreakdown(ctx, planned, goal, "visit:source")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range conv {
		got = append(got, fmt.Sprintf("%s:%d/%v%%", r.Value, r.Visitors, r.ConversionRate))
	}
	if want := []string{"Google:2/100%", "Twitter:1/100%"}; !reflect.DeepEqual(got, want) {
		t.Errorf("blog goal by source on a planned query: got %q, want %q", got, want)
	}
}
