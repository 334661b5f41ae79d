package storage_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"

	"github.com/shade-analytics/shade/internal/chtest"
	"github.com/shade-analytics/shade/storage"
)

// totals are the metrics compared by the aggregate tests.
type totals struct {
	visitors, visits, pageviews, events uint64
	bounceRate, duration, viewsPerVisit float64
}

func totalsOf(m storage.Metrics) totals {
	return totals{m.Visitors, uint64(m.Visits), m.Pageviews, m.Events, m.BounceRate, m.VisitDuration, m.ViewsPerVisit}
}

func TestAggregate(t *testing.T) {
	ctx := context.Background()
	st := loadFixture(t)
	tests := []struct {
		name string
		q    storage.Query
		want totals
	}{
		// V1, V2, V6: V2 and V6 bounce; 120 s over 3 visits; 4 pageviews and
		// one site search; the engagement row is not an event.
		{"one Paris day", pq("2024-03-10", "2024-03-10"), totals{3, 3, 4, 5, 67, 40, 1.33}},
		// V3 began at 23:30 UTC on the 10th: the 11th in Paris.
		{"next Paris day", pq("2024-03-11", "2024-03-11"), totals{1, 1, 1, 3, 0, 120, 1}},
		{"UTC day holds V3", storage.Query{SiteID: 1, Timezone: "UTC", From: "2024-03-10", To: "2024-03-10"},
			totals{3, 4, 5, 8, 50, 60, 1.25}},
		{"three days, visitor 1 counted once", pq("2024-03-09", "2024-03-11"), totals{4, 5, 6, 10, 40, 50, 1.2}},
		{"empty range", pq("2024-03-01", "2024-03-02"), totals{}},
		{"source is Google", pq("2024-03-09", "2024-03-11", is("visit:source", "Google")), totals{2, 2, 3, 4, 50, 60, 1.5}},
		{"source contains goo", pq("2024-03-09", "2024-03-11", storage.Filter{Property: "visit:source", Op: storage.OpContains, Values: []string{"goo"}}),
			totals{2, 2, 3, 4, 50, 60, 1.5}},
		{"country is not FR", pq("2024-03-09", "2024-03-11", storage.Filter{Property: "visit:country", Op: storage.OpIs, Values: []string{"DE", "US"}}),
			totals{2, 2, 2, 3, 50, 5, 1}},
		{"country is_not FR", pq("2024-03-09", "2024-03-11", storage.Filter{Property: "visit:country", Op: storage.OpIsNot, Values: []string{"FR"}}),
			totals{2, 2, 2, 3, 50, 5, 1}},
		// Page filters count that page's views, but whole visits.
		{"page glob /blog/**", pq("2024-03-09", "2024-03-11", is("event:page", "/blog/**")), totals{3, 3, 3, 5, 33, 43, 1.33}},
		{"page glob /blog/*", pq("2024-03-09", "2024-03-11", is("event:page", "/blog/*")), totals{3, 3, 3, 5, 33, 43, 1.33}},
		{"page glob /b* does not cross /", pq("2024-03-09", "2024-03-11", is("event:page", "/b*")), totals{}},
		{"source and page combine", pq("2024-03-09", "2024-03-11", is("visit:source", "Google"), is("event:page", "/blog/b")),
			totals{1, 1, 1, 1, 100, 0, 1}},
		{"event prop", pq("2024-03-09", "2024-03-11", is("event:props:plan", "pro")), totals{1, 1, 0, 1, 0, 120, 1}},
		{"event name", pq("2024-03-09", "2024-03-11", is("event:name", "File Download")), totals{1, 1, 0, 1, 0, 10, 1}},
		// V1's first state had exit page "/" and was cancelled: only V2 exits on "/".
		{"exit page of a cancelled state", pq("2024-03-09", "2024-03-11", is("visit:exit_page", "/")), totals{1, 1, 1, 1, 100, 0, 1}},
		{"entry page", pq("2024-03-09", "2024-03-11", is("visit:entry_page", "/")), totals{2, 2, 3, 4, 50, 60, 1.5}},
		{"quotes are data, not SQL", pq("2024-03-09", "2024-03-11", is("visit:source", "' OR 1=1 --")), totals{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, err := st.Aggregate(ctx, tc.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := totalsOf(m); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPreviousPeriodAndChange(t *testing.T) {
	ctx := context.Background()
	st := loadFixture(t)
	q := pq("2024-03-10", "2024-03-10")
	prev := q.Previous()
	if prev.From != "2024-03-09" || prev.To != "2024-03-09" {
		t.Fatalf("previous of %s..%s = %s..%s, want 2024-03-09..2024-03-09", q.From, q.To, prev.From, prev.To)
	}
	if p := pq("2024-03-01", "2024-03-31").Previous(); p.From != "2024-01-30" || p.To != "2024-02-29" {
		t.Errorf("previous of March (31 days) = %s..%s, want 2024-01-30..2024-02-29", p.From, p.To)
	}
	cur, err := st.Aggregate(ctx, q)
	if err != nil {
		t.Fatal(err)
	}
	old, err := st.Aggregate(ctx, prev)
	if err != nil {
		t.Fatal(err)
	}
	if old.Visitors != 1 || old.Visits != 1 || old.Pageviews != 1 {
		t.Errorf("previous day: got %+v, want 1 visitor, 1 visit, 1 pageview (V4)", old)
	}
	if got := storage.Change(float64(cur.Visitors), float64(old.Visitors)); got != 200 {
		t.Errorf("visitors change = %v, want 200", got)
	}
	for _, c := range []struct{ cur, prev, want float64 }{{0, 0, 0}, {5, 0, 100}, {1, 4, -75}} {
		if got := storage.Change(c.cur, c.prev); got != c.want {
			t.Errorf("Change(%v, %v) = %v, want %v", c.cur, c.prev, got, c.want)
		}
	}
}

func TestTimeseries(t *testing.T) {
	ctx := context.Background()
	st := loadFixture(t)
	type pt struct {
		date                string
		visitors, pageviews uint64
		visits              int64
	}
	series := func(t *testing.T, q storage.Query) []pt {
		t.Helper()
		points, err := st.Timeseries(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		var out []pt
		for _, p := range points {
			out = append(out, pt{p.Date, p.Visitors, p.Pageviews, p.Visits})
		}
		return out
	}
	check := func(t *testing.T, got, want []pt) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("got %v\nwant %v", got, want)
		}
	}
	t.Run("days with gaps", func(t *testing.T) {
		check(t, series(t, pq("2024-03-08", "2024-03-12")), []pt{
			{"2024-03-08", 0, 0, 0}, {"2024-03-09", 1, 1, 1}, {"2024-03-10", 3, 4, 3}, {"2024-03-11", 1, 1, 1}, {"2024-03-12", 0, 0, 0}})
	})
	t.Run("days in UTC", func(t *testing.T) {
		q := pq("2024-03-09", "2024-03-11")
		q.Timezone = "UTC"
		check(t, series(t, q), []pt{{"2024-03-09", 1, 1, 1}, {"2024-03-10", 3, 5, 4}, {"2024-03-11", 0, 0, 0}})
	})
	t.Run("weeks start on Monday", func(t *testing.T) {
		q := pq("2024-03-09", "2024-03-11")
		q.Interval = storage.IntervalWeek
		check(t, series(t, q), []pt{{"2024-03-04", 4, 5, 4}, {"2024-03-11", 1, 1, 1}})
	})
	t.Run("months", func(t *testing.T) {
		q := pq("2024-02-20", "2024-03-11")
		q.Interval = storage.IntervalMonth
		check(t, series(t, q), []pt{{"2024-02-01", 0, 0, 0}, {"2024-03-01", 4, 6, 5}})
	})
	t.Run("hours in Paris", func(t *testing.T) {
		q := pq("2024-03-10", "2024-03-10")
		q.Interval = storage.IntervalHour
		got := series(t, q)
		if len(got) != 24 {
			t.Fatalf("got %d hours, want 24", len(got))
		}
		var nonEmpty []pt
		for _, p := range got {
			if p.visitors > 0 {
				nonEmpty = append(nonEmpty, p)
			}
		}
		check(t, nonEmpty, []pt{{"2024-03-10 10:00:00", 1, 2, 1}, {"2024-03-10 11:00:00", 1, 1, 1}, {"2024-03-10 16:00:00", 1, 1, 1}})
		if got[0].date != "2024-03-10 00:00:00" || got[23].date != "2024-03-10 23:00:00" {
			t.Errorf("hours run %s..%s, want 00:00..23:00", got[0].date, got[23].date)
		}
	})
	t.Run("hours across the spring DST change", func(t *testing.T) {
		q := pq("2024-03-31", "2024-03-31")
		q.Interval = storage.IntervalHour
		if got := len(series(t, q)); got != 23 {
			t.Errorf("got %d hours on the day clocks go forward, want 23", got)
		}
	})
	t.Run("filtered", func(t *testing.T) {
		check(t, series(t, pq("2024-03-09", "2024-03-11", is("visit:source", "Google"))),
			[]pt{{"2024-03-09", 0, 0, 0}, {"2024-03-10", 2, 3, 2}, {"2024-03-11", 0, 0, 0}})
	})
}

func TestBreakdown(t *testing.T) {
	ctx := context.Background()
	st := loadFixture(t)
	all := func(filters ...storage.Filter) storage.Query { return pq("2024-03-09", "2024-03-11", filters...) }
	// Each row is "value:visitors/visits/pageviews-or-events[/extra]".
	tests := []struct {
		name, property string
		q              storage.Query
		row            func(storage.Row) string
		want           []string
	}{
		{"sources", "visit:source", all(), visitRow, []string{"Google:2/2/3", ":1/1/1", "Newsletter:1/1/1", "Twitter:1/1/1"}},
		{"channels", "visit:channel", all(), visitRow, []string{"Organic Search:2/2/3", "Direct:1/1/1", "Email:1/1/1", "Organic Social:1/1/1"}},
		{"referrers", "visit:referrer", all(), visitRow, []string{":2/2/2", "www.google.com/:2/2/3", "t.co/<img src=x onerror=alert(1)>:1/1/1"}},
		{"campaigns", "visit:utm_campaign", all(), visitRow, []string{":4/4/5", "spring:1/1/1"}},
		{"utm_medium", "visit:utm_medium", all(), visitRow, []string{":4/4/5", "email:1/1/1"}},
		{"utm_source", "visit:utm_source", all(), visitRow, []string{":4/4/5", "newsletter:1/1/1"}},
		{"countries", "visit:country", all(), visitRow, []string{"FR:2/3/4", "DE:1/1/1", "US:1/1/1"}},
		{"devices", "visit:device", all(), visitRow, []string{"desktop:2/3/4", "mobile:2/2/2"}},
		{"screens", "visit:screen", all(), visitRow, []string{"desktop:2/3/4", "mobile:2/2/2"}},
		{"languages", "visit:language", all(), visitRow, []string{"fr:2/3/4", "de:1/1/1", "en:1/1/1"}},
		{"browsers", "visit:browser", all(), visitRow, []string{"Chrome:3/3/4", "Firefox:1/1/1", "Safari:1/1/1"}},
		{"browser versions", "visit:browser_version", all(), func(r storage.Row) string { return r.Group + " " + visitRow(r) },
			[]string{"Chrome 121:2/2/2", "Chrome 120:1/1/2", "Firefox 123:1/1/1", "Safari 17:1/1/1"}},
		{"os", "visit:os", all(), visitRow, []string{"Windows:2/2/3", "Android:1/1/1", "Linux:1/1/1", "iOS:1/1/1"}},
		{"os versions", "visit:os_version", all(), func(r storage.Row) string { return r.Group + " " + visitRow(r) },
			[]string{"Android 14:1/1/1", "Linux :1/1/1", "Windows 10:1/1/1", "Windows 11:1/1/2", "iOS 17:1/1/1"}},
		{"entry pages", "visit:entry_page", all(), visitRow, []string{"/:2/2/3", "/blog/a:1/1/1", "/blog/b:1/1/1", "/pricing:1/1/1"}},
		// V1's cancelled first state exited on "/": only V2 is an exit there,
		// out of 2 views of "/".
		{"exit pages", "visit:exit_page", all(), func(r storage.Row) string { return fmt.Sprintf("%s/%v%%", visitRow(r), r.ExitRate) },
			[]string{"/blog/a:2/2/3/100%", "/:1/1/1/50%", "/blog/b:1/1/1/100%", "/pricing:1/1/1/100%"}},
		{"pages", "event:page", all(), func(r storage.Row) string {
			return fmt.Sprintf("%s:%d/%d/%d/%vs", r.Value, r.Visitors, r.Visits, r.Pageviews, r.TimeOnPage)
		},
			[]string{"/:2/2/2/0s", "/blog/a:2/2/2/15s", "/blog/b:1/1/1/0s", "/pricing:1/1/1/0s"}},
		{"titles", "event:title", all(), func(r storage.Row) string { return fmt.Sprintf("%s:%d/%d", r.Value, r.Visitors, r.Pageviews) },
			[]string{"Home:2/2", "<script>alert(1)</script>:1/1", "Blog A:1/1", "Blog B:1/1", "Pricing:1/1"}},
		{"event names", "event:name", all(), eventRow,
			[]string{"File Download:1/1", "Outbound Link: Click:1/1", "Signup:1/1", "Site Search:1/1"}},
		{"event props", "event:props:plan", all(), eventRow, []string{"pro:1/1"}},
		{"outbound links", "event:props:url", all(is("event:name", "Outbound Link: Click")), eventRow, []string{"https://github.com/x:1/1"}},
		{"downloads", "event:props:url", all(is("event:name", "File Download")), eventRow, []string{"https://example.com/files/x.pdf:1/1"}},
		{"site search", "event:props:query", all(is("event:name", "Site Search")), eventRow, []string{"privacy:1/1"}},
		{"pages filtered by source", "event:page", all(is("visit:source", "Google")), eventRow, []string{"/:1/1", "/blog/a:1/1", "/blog/b:1/1"}},
		{"sources filtered by page", "visit:source", all(is("event:page", "/blog/a")), visitRow, []string{"Google:1/1/2", "Twitter:1/1/1"}},
		{"sources on one Paris day", "visit:source", pq("2024-03-11", "2024-03-11"), visitRow, []string{"Newsletter:1/1/1"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := st.Breakdown(ctx, tc.q, tc.property)
			if err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, r := range rows {
				got = append(got, tc.row(r))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	t.Run("pagination", func(t *testing.T) {
		q := all()
		q.Limit, q.Page = 2, 2
		rows, err := st.Breakdown(ctx, q, "visit:source")
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].Value != "Newsletter" || rows[1].Value != "Twitter" {
			t.Errorf("page 2 of 2 = %+v, want Newsletter, Twitter", rows)
		}
	})
	t.Run("bounce rate and duration per source", func(t *testing.T) {
		rows, err := st.Breakdown(ctx, all(), "visit:source")
		if err != nil {
			t.Fatal(err)
		}
		if rows[0].Value != "Google" || rows[0].BounceRate != 50 || rows[0].VisitDuration != 60 {
			t.Errorf("Google: got bounce %v%% duration %vs, want 50%% and 60s", rows[0].BounceRate, rows[0].VisitDuration)
		}
	})
}

func visitRow(r storage.Row) string {
	return fmt.Sprintf("%s:%d/%d/%d", r.Value, r.Visitors, r.Visits, r.Pageviews)
}

func eventRow(r storage.Row) string { return fmt.Sprintf("%s:%d/%d", r.Value, r.Visitors, r.Events) }

func TestConversions(t *testing.T) {
	ctx := context.Background()
	st := loadFixture(t)
	goals := []storage.Goal{
		{SiteID: 1, Kind: storage.GoalEvent, Value: "Signup"},
		{SiteID: 1, Kind: storage.GoalPage, Value: "/blog/**"},
		{SiteID: 1, Kind: storage.GoalPage, Value: "/pricing"},
	}
	for i := range goals {
		if err := st.SaveGoal(ctx, &goals[i]); err != nil {
			t.Fatal(err)
		}
	}
	saved, err := st.Goals(ctx, 1)
	if err != nil || len(saved) != 3 {
		t.Fatalf("Goals = %v, %v; want 3 goals", saved, err)
	}
	if other, _ := st.Goals(ctx, 2); len(other) != 0 {
		t.Errorf("site 2 has goals %v, want none", other)
	}
	conv, err := st.Conversions(ctx, pq("2024-03-09", "2024-03-11"), goals)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range conv {
		got = append(got, fmt.Sprintf("%s:%d/%d/%v%%", c.Name, c.Visitors, c.Events, c.ConversionRate))
	}
	want := []string{"Signup:1/1/25%", "Visit /blog/**:3/3/75%", "Visit /pricing:1/1/25%"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("conversions: got %q, want %q", got, want)
	}
	byRow := func(rows []storage.Row) []string {
		out := []string{}
		for _, r := range rows {
			out = append(out, fmt.Sprintf("%s:%d/%v%%", r.Value, r.Visitors, r.ConversionRate))
		}
		return out
	}
	rows, err := st.GoalBreakdown(ctx, pq("2024-03-09", "2024-03-11"), goals[1], "visit:source")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := byRow(rows), []string{"Google:2/100%", "Twitter:1/100%"}; !reflect.DeepEqual(got, want) {
		t.Errorf("blog goal by source: got %q, want %q", got, want)
	}
	rows, err = st.GoalBreakdown(ctx, pq("2024-03-09", "2024-03-11"), goals[0], "visit:utm_campaign")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := byRow(rows), []string{"spring:1/100%"}; !reflect.DeepEqual(got, want) {
		t.Errorf("signup by campaign: got %q, want %q", got, want)
	}
	rows, err = st.GoalBreakdown(ctx, pq("2024-03-09", "2024-03-11"), goals[1], "visit:country")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := byRow(rows), []string{"FR:2/100%", "US:1/100%"}; !reflect.DeepEqual(got, want) {
		t.Errorf("blog goal by country: got %q, want %q", got, want)
	}
	if err := st.RemoveGoal(ctx, 1, goals[0].ID); err != nil {
		t.Fatal(err)
	}
	if saved, _ := st.Goals(ctx, 1); len(saved) != 2 {
		t.Errorf("after removing one, %d goals remain, want 2", len(saved))
	}
}

// campaignVisits are hand-made visits on site 3 (UTC) for the campaign
// conversions, with the goals Signup (event), /thanks and /blog/** (pages):
//
//	visit  visitor  start (UTC)        source/medium/campaign/content/term      converts
//	301    1        2024-04-01 08:00   news/email/spring/banner/privacy         yes: /thanks and Signup, once
//	302    2        2024-04-01 09:00   news/email/spring/banner/-               no
//	303    1        2024-04-01 12:00   news/email/spring/text/privacy           yes: /blog/a
//	304    3        2024-04-01 23:50   ads/cpc/winter/banner/analytics          no: its Signup is on the 2nd
//	305    4        2024-04-01 14:00   ads/cpc/winter/text/analytics            yes: /thanks
//	306    5        2024-04-01 15:00   -                                        yes: Signup
//	307    6        2024-04-01 16:00   -                                        no: an outbound click is no goal
//	308    8        2024-03-31 23:00   ads/cpc/winter/text/analytics            before the range
//	309    7        site 4, news/email/spring, Signup: never in site 3's reports
var campaignVisits = []visit{
	{site: 3, session: 301, visitor: 1, utmSource: "news", utmMedium: "email", utmCampaign: "spring", utmContent: "banner", utmTerm: "privacy",
		steps: []step{{at: "2024-04-01 08:00:00", name: "pageview", page: "/pricing"}, {at: "2024-04-01 08:01:00", name: "pageview", page: "/thanks"},
			{at: "2024-04-01 08:02:00", name: "Signup", page: "/thanks"}}},
	{site: 3, session: 302, visitor: 2, utmSource: "news", utmMedium: "email", utmCampaign: "spring", utmContent: "banner",
		steps: []step{{at: "2024-04-01 09:00:00", name: "pageview", page: "/"}}},
	{site: 3, session: 303, visitor: 1, utmSource: "news", utmMedium: "email", utmCampaign: "spring", utmContent: "text", utmTerm: "privacy",
		steps: []step{{at: "2024-04-01 12:00:00", name: "pageview", page: "/blog/a"}}},
	{site: 3, session: 304, visitor: 3, utmSource: "ads", utmMedium: "cpc", utmCampaign: "winter", utmContent: "banner", utmTerm: "analytics",
		steps: []step{{at: "2024-04-01 23:50:00", name: "pageview", page: "/"}, {at: "2024-04-02 00:05:00", name: "Signup", page: "/"}}},
	{site: 3, session: 305, visitor: 4, utmSource: "ads", utmMedium: "cpc", utmCampaign: "winter", utmContent: "text", utmTerm: "analytics",
		steps: []step{{at: "2024-04-01 14:00:00", name: "pageview", page: "/thanks"}}},
	{site: 3, session: 306, visitor: 5, steps: []step{{at: "2024-04-01 15:00:00", name: "pageview", page: "/"},
		{at: "2024-04-01 15:01:00", name: "Signup", page: "/"}}},
	{site: 3, session: 307, visitor: 6, steps: []step{{at: "2024-04-01 16:00:00", name: "pageview", page: "/about"},
		{at: "2024-04-01 16:01:00", name: "Outbound Link: Click", page: "/about", props: map[string]string{"url": "https://x.org/"}}}},
	{site: 3, session: 308, visitor: 8, utmSource: "ads", utmMedium: "cpc", utmCampaign: "winter", utmContent: "text", utmTerm: "analytics",
		steps: []step{{at: "2024-03-31 23:00:00", name: "pageview", page: "/thanks"}}},
	{site: 4, session: 309, visitor: 7, utmSource: "news", utmMedium: "email", utmCampaign: "spring",
		steps: []step{{at: "2024-04-01 10:00:00", name: "pageview", page: "/"}, {at: "2024-04-01 10:01:00", name: "Signup", page: "/"}}},
}

func TestVisitConversions(t *testing.T) {
	ctx := context.Background()
	st := chtest.Store(t)
	var b storage.Batch
	for i := range campaignVisits {
		ev, ss := campaignVisits[i].rows()
		b.Events = append(b.Events, ev...)
		b.Sessions = append(b.Sessions, ss...)
	}
	if err := st.Insert(ctx, &b); err != nil {
		t.Fatal(err)
	}
	goals := []storage.Goal{
		{SiteID: 3, Kind: storage.GoalEvent, Value: "Signup"},
		{SiteID: 3, Kind: storage.GoalPage, Value: "/thanks"},
		{SiteID: 3, Kind: storage.GoalPage, Value: "/blog/**"},
	}
	day := func(filters ...storage.Filter) storage.Query {
		return storage.Query{SiteID: 3, Timezone: "UTC", From: "2024-04-01", To: "2024-04-01", Filters: filters}
	}
	// Each row is "value:visits/converted visits/conversion rate".
	tests := []struct {
		name, property string
		q              storage.Query
		goals          []storage.Goal
		want           []string
	}{
		{"utm_source", "visit:utm_source", day(), goals, []string{"news:3/2/66.7%", ":2/1/50%", "ads:2/1/50%"}},
		{"utm_medium", "visit:utm_medium", day(), goals, []string{"email:3/2/66.7%", ":2/1/50%", "cpc:2/1/50%"}},
		{"utm_campaign", "visit:utm_campaign", day(), goals, []string{"spring:3/2/66.7%", ":2/1/50%", "winter:2/1/50%"}},
		{"utm_content", "visit:utm_content", day(), goals, []string{"banner:3/1/33.3%", ":2/1/50%", "text:2/2/100%"}},
		{"utm_term", "visit:utm_term", day(), goals, []string{":3/1/33.3%", "analytics:2/1/50%", "privacy:2/2/100%"}},
		{"filtered by campaign source", "visit:utm_campaign", day(is("visit:utm_source", "ads")), goals, []string{"winter:2/1/50%"}},
		{"filtered by page", "visit:utm_campaign", day(is("event:page", "/thanks")), goals, []string{"spring:1/1/100%", "winter:1/1/100%"}},
		{"one goal", "visit:utm_campaign", day(), goals[2:], []string{"spring:3/1/33.3%", ":2/0/0%", "winter:2/0/0%"}},
		{"no goals", "visit:utm_campaign", day(), nil, []string{"spring:3/0/0%", ":2/0/0%", "winter:2/0/0%"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rows, err := st.Breakdown(ctx, tc.q, tc.property)
			if err != nil {
				t.Fatal(err)
			}
			if err := st.VisitConversions(ctx, tc.q, tc.property, tc.goals, rows); err != nil {
				t.Fatal(err)
			}
			got := []string{}
			for _, r := range rows {
				got = append(got, fmt.Sprintf("%s:%d/%d/%v%%", r.Value, r.Visits, r.Conversions, r.ConversionRate))
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %q\nwant %q", got, tc.want)
			}
		})
	}
	if err := st.VisitConversions(ctx, day(), "event:page", goals, []storage.Row{{Value: "/"}}); !errors.Is(err, storage.ErrInvalidQuery) {
		t.Errorf("conversions by event:page: err = %v, want ErrInvalidQuery", err)
	}
}

func TestRealtimeAndVisitsLog(t *testing.T) {
	ctx := context.Background()
	st := loadFixture(t)
	// V6 at 15:00 and site 2's visitor at 15:01-15:02 are the only events near 15:03.
	n, err := st.CurrentVisitors(ctx, 1, utc("2024-03-10 15:03:00"))
	if err != nil || n != 1 {
		t.Errorf("current visitors at 15:03 = %d, %v; want 1", n, err)
	}
	if n, _ := st.CurrentVisitors(ctx, 1, utc("2024-03-10 15:06:00")); n != 0 {
		t.Errorf("current visitors at 15:06 = %d, want 0", n)
	}
	visits, err := st.VisitsLog(ctx, pq("2024-03-10", "2024-03-10"), 10)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, v := range visits {
		s := fmt.Sprintf("%s %s %s %q %ds:", v.Start.Format("15:04"), v.Country, v.Device, v.Source, v.Duration)
		for _, st := range v.Steps {
			s += " " + st.Name + " " + st.Page + ","
		}
		got = append(got, s)
	}
	want := []string{
		`15:00 FR desktop "Google" 0s: pageview /blog/b,`,
		`10:00 DE mobile "" 0s: pageview /,`,
		`09:00 FR desktop "Google" 120s: pageview /, pageview /blog/a, Site Search /blog/a,`,
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("visits log:\ngot  %q\nwant %q", got, want)
	}
	if visits[2].Pageviews != 2 {
		t.Errorf("V1 pageviews = %d, want 2", visits[2].Pageviews)
	}
}

func TestQueryValidation(t *testing.T) {
	ctx := context.Background()
	st := loadFixture(t)
	bad := []storage.Query{
		{SiteID: 1, From: "2024-03-10", To: "2024-03-09"},
		{SiteID: 1, From: "2024-3-10", To: "2024-03-09"},
		{SiteID: 1, From: "2024-03-01", To: "2024-03-09", Timezone: "Mars/Olympus"},
		{SiteID: 1, From: "2024-01-01", To: "2024-03-09", Interval: storage.IntervalHour},
		{SiteID: 1, From: "2024-03-01", To: "2024-03-09", Interval: "fortnight"},
		pq("2024-03-01", "2024-03-09", storage.Filter{Property: "visit:source) OR (1", Op: storage.OpIs, Values: []string{"x"}}),
		pq("2024-03-01", "2024-03-09", storage.Filter{Property: "visit:source", Op: "like", Values: []string{"x"}}),
		pq("2024-03-01", "2024-03-09", storage.Filter{Property: "visit:source", Op: storage.OpIs}),
	}
	for i, q := range bad {
		if _, err := st.Aggregate(ctx, q); !errors.Is(err, storage.ErrInvalidQuery) {
			t.Errorf("query %d: got %v, want ErrInvalidQuery", i, err)
		}
	}
	if _, err := st.Breakdown(ctx, pq("2024-03-01", "2024-03-09"), "visit:nope"); !errors.Is(err, storage.ErrInvalidQuery) {
		t.Errorf("unknown breakdown property: got %v, want ErrInvalidQuery", err)
	}
}
