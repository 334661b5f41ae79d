package storage_test

import (
	"context"
	"testing"
	"time"

	"github.com/shade-analytics/shade/internal/chtest"
	"github.com/shade-analytics/shade/storage"
)

// step is one event of a hand-made visit.
type step struct {
	at       string // UTC "2006-01-02 15:04:05"
	name     string // "pageview", "engagement" or a custom event
	page     string
	title    string
	props    map[string]string
	engageMS uint32
}

// visit is a hand-made visit: its attributes and its events in order.
type visit struct {
	site                                 uint32
	session, visitor                     uint64
	source, channel, refHost, refPath    string
	utmSource, utmMedium, utmCampaign    string
	utmContent, utmTerm                  string
	country, device, browser, browserVer string
	os, osVer, screen, language          string
	steps                                []step
}

func utc(s string) time.Time {
	t, err := time.Parse(time.DateTime, s)
	if err != nil {
		panic(err)
	}
	return t
}

// rows turns a visit into its events and the session rows the collector
// would write: the state after the first event (+1), and for every later
// event the previous state cancelled (-1) and the new one (+1).
func (v *visit) rows() ([]storage.Event, []storage.Session) {
	var events []storage.Event
	var sessions []storage.Session
	var cur *storage.Session
	for _, s := range v.steps {
		e := storage.Event{SiteID: v.site, Timestamp: utc(s.at), Name: s.name, VisitorID: v.visitor, SessionID: v.session,
			Hostname: "example.com", Pathname: s.page, Title: s.title, ReferrerHost: v.refHost, ReferrerPath: v.refPath,
			ReferrerSource: v.source, Channel: v.channel, UTMSource: v.utmSource, UTMMedium: v.utmMedium,
			UTMCampaign: v.utmCampaign, UTMContent: v.utmContent, UTMTerm: v.utmTerm, Country: v.country,
			Browser: v.browser, BrowserVersion: v.browserVer, OS: v.os, OSVersion: v.osVer, Device: v.device,
			Screen: v.screen, Language: v.language, IP: "192.0.0.0", EngagementMS: s.engageMS}
		for k, val := range s.props {
			e.PropKeys = append(e.PropKeys, k)
			e.PropValues = append(e.PropValues, val)
		}
		events = append(events, e)
		next := storage.Session{SiteID: v.site, SessionID: v.session, VisitorID: v.visitor, Sign: 1,
			Start: utc(v.steps[0].at), End: e.Timestamp, Hostname: "example.com", ReferrerHost: v.refHost,
			ReferrerPath: v.refPath, ReferrerSource: v.source, Channel: v.channel, UTMSource: v.utmSource,
			UTMMedium: v.utmMedium, UTMCampaign: v.utmCampaign, UTMContent: v.utmContent, UTMTerm: v.utmTerm,
			Country: v.country, Browser: v.browser, BrowserVersion: v.browserVer, OS: v.os, OSVersion: v.osVer,
			Device: v.device, Screen: v.screen, Language: v.language}
		if cur != nil {
			next.Pageviews, next.Events, next.Interactions = cur.Pageviews, cur.Events, cur.Interactions
			next.EntryPage, next.ExitPage = cur.EntryPage, cur.ExitPage
			old := *cur
			old.Sign = -1
			sessions = append(sessions, old)
		}
		next.Events++
		switch s.name {
		case "pageview":
			next.Pageviews++
			if next.EntryPage == "" {
				next.EntryPage = s.page
			}
			next.ExitPage = s.page
		case "engagement":
		default:
			next.Interactions++
		}
		next.Duration = uint32(next.End.Sub(next.Start).Seconds())
		sessions = append(sessions, next)
		cur = &sessions[len(sessions)-1]
	}
	return events, sessions
}

// fixtureSite is the site of the hand-made data; its timezone is Paris
// (UTC+1 in March 2024, before the switch to summer time on the 31st).
const fixtureSite = 1

// fixture is a small data set whose every report is known by hand:
//
//	visit  visitor  start (UTC)        Paris day  source      country  pages
//	V1     1        2024-03-10 09:00   03-10      Google      FR       /, /blog/a (+30 s engaged, site search "privacy")
//	V2     2        2024-03-10 10:00   03-10      (direct)    DE       /  (bounce)
//	V3     1        2024-03-10 23:30   03-11      Newsletter  FR       /pricing, Signup{plan=pro}, outbound click
//	V4     3        2024-03-09 22:30   03-09      Twitter     US       /blog/a (hostile title), file download
//	V6     5        2024-03-10 15:00   03-10      Google      FR       /blog/b  (bounce)
//	V5     4        site 2, must never show up in site 1's reports
var fixture = []visit{
	{site: 1, session: 11, visitor: 1, source: "Google", channel: "Organic Search", refHost: "www.google.com", refPath: "/",
		country: "FR", device: "desktop", browser: "Chrome", browserVer: "120", os: "Windows", osVer: "11",
		screen: "desktop", language: "fr",
		steps: []step{
			{at: "2024-03-10 09:00:00", name: "pageview", page: "/", title: "Home"},
			{at: "2024-03-10 09:01:00", name: "pageview", page: "/blog/a", title: "Blog A"},
			{at: "2024-03-10 09:01:30", name: "Site Search", page: "/blog/a", props: map[string]string{"query": "privacy"}},
			{at: "2024-03-10 09:02:00", name: "engagement", page: "/blog/a", engageMS: 30000},
		}},
	{site: 1, session: 21, visitor: 2, source: "", channel: "Direct", country: "DE", device: "mobile",
		browser: "Safari", browserVer: "17", os: "iOS", osVer: "17", screen: "mobile", language: "de",
		steps: []step{{at: "2024-03-10 10:00:00", name: "pageview", page: "/", title: "Home"}}},
	{site: 1, session: 12, visitor: 1, source: "Newsletter", channel: "Email", utmSource: "newsletter",
		utmMedium: "email", utmCampaign: "spring", country: "FR", device: "desktop", browser: "Firefox",
		browserVer: "123", os: "Linux", screen: "desktop", language: "fr",
		steps: []step{
			{at: "2024-03-10 23:30:00", name: "pageview", page: "/pricing", title: "Pricing"},
			{at: "2024-03-10 23:31:00", name: "Signup", page: "/pricing", props: map[string]string{"plan": "pro"}},
			{at: "2024-03-10 23:32:00", name: "Outbound Link: Click", page: "/pricing", props: map[string]string{"url": "https://github.com/x"}},
		}},
	{site: 1, session: 31, visitor: 3, source: "Twitter", channel: "Organic Social", refHost: "t.co", refPath: "/<img src=x onerror=alert(1)>",
		country: "US", device: "mobile", browser: "Chrome", browserVer: "121", os: "Android", osVer: "14",
		screen: "mobile", language: "en",
		steps: []step{
			{at: "2024-03-09 22:30:00", name: "pageview", page: "/blog/a", title: "<script>alert(1)</script>"},
			{at: "2024-03-09 22:30:10", name: "File Download", page: "/blog/a", props: map[string]string{"url": "https://example.com/files/x.pdf"}},
		}},
	{site: 1, session: 51, visitor: 5, source: "Google", channel: "Organic Search", refHost: "www.google.com", refPath: "/",
		country: "FR", device: "desktop", browser: "Chrome", browserVer: "121", os: "Windows", osVer: "10",
		screen: "desktop", language: "fr",
		steps: []step{{at: "2024-03-10 15:00:00", name: "pageview", page: "/blog/b", title: "Blog B"}}},
	{site: 2, session: 41, visitor: 4, source: "Google", channel: "Organic Search", country: "FR", device: "desktop",
		browser: "Chrome", browserVer: "120", os: "Windows", screen: "desktop",
		steps: []step{
			{at: "2024-03-10 15:01:00", name: "pageview", page: "/", title: "Other"},
			{at: "2024-03-10 15:02:00", name: "pageview", page: "/blog/a", title: "Other"},
		}},
}

// loadFixture inserts the fixture into a fresh store and returns it.
func loadFixture(t testing.TB) *storage.Store {
	t.Helper()
	st := chtest.Store(t)
	var b storage.Batch
	for i := range fixture {
		ev, ss := fixture[i].rows()
		b.Events = append(b.Events, ev...)
		b.Sessions = append(b.Sessions, ss...)
	}
	if err := st.Insert(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	return st
}

// pq is a query on the fixture site in Paris time.
func pq(from, to string, filters ...storage.Filter) storage.Query {
	return storage.Query{SiteID: fixtureSite, Timezone: "Europe/Paris", From: storage.Date(from), To: storage.Date(to), Filters: filters}
}

func is(prop string, values ...string) storage.Filter {
	return storage.Filter{Property: prop, Op: storage.OpIs, Values: values}
}
