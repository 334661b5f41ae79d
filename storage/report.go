package storage

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"
)

// Report definitions (also in the README):
//   - A visit is one row of the sessions table once collapsed: sums weighted by
//     sign give exact counts whatever the state of background merges.
//   - Visitors are distinct visitor keys. They are counted exactly with
//     uniqExact while the report's range holds fewer than ExactVisitorsBelow
//     events, and with ClickHouse's adaptive-sampling uniq (error well under 1%)
//     above that, where exact counting would dominate the query time.
//   - Bounce rate is bounces / visits in percent; a bounce is a visit with one
//     pageview and no interactive event. Visit duration is the mean of the
//     visits' durations in seconds. Views per visit is pageviews / visits.
//   - Pageviews and events are counted from the events table, so a page filter
//     counts that page's views; "engagement" rows are never counted as events.
//   - Dates are calendar days in the site's timezone; a visit belongs to the
//     day its first event happened on.

// ExactVisitorsBelow is the number of events in a report's range under which
// unique visitors are counted exactly.
const ExactVisitorsBelow = 2_000_000

// Filter operators.
const (
	OpIs       = "is"
	OpIsNot    = "is_not"
	OpContains = "contains"
)

// Filter restricts a report to visits or events whose property matches one of
// Values (is, contains) or none of them (is_not). In an "is" or "is_not" value,
// "*" matches within one path segment and "**" matches anything.
type Filter struct {
	Property string // e.g. "visit:source", "event:page", "event:props:plan"
	Op       string
	Values   []string
}

// Interval is the bucket size of a time series.
type Interval string

// Time series intervals.
const (
	IntervalHour  Interval = "hour"
	IntervalDay   Interval = "day"
	IntervalWeek  Interval = "week"
	IntervalMonth Interval = "month"
)

// Query selects what a report counts: one site, an inclusive range of
// calendar days in the site's timezone, and filters that all apply.
type Query struct {
	SiteID   uint32
	Timezone string // IANA name; "" means UTC
	From, To Date   // inclusive
	Filters  []Filter
	Interval Interval // time series only; default day
	Limit    int      // breakdowns; default 100
	Page     int      // breakdowns, 1-based; default 1
	// Goal, when set, keeps only visits that converted on it (and, for
	// event counts, only the converting events).
	Goal *Goal
	// ExactBelow is the number of events in the range under which visitors
	// are counted exactly; 0 means ExactVisitorsBelow.
	ExactBelow uint64

	plan plan
}

// Date is a calendar day, written YYYY-MM-DD.
type Date string

// ParseDate checks a YYYY-MM-DD day.
func ParseDate(s string) (Date, error) {
	if _, err := time.Parse(time.DateOnly, s); err != nil {
		return "", fmt.Errorf("invalid date %q: use YYYY-MM-DD", s)
	}
	return Date(s), nil
}

// DateOf is the day t falls on in loc.
func DateOf(t time.Time, loc *time.Location) Date {
	return Date(t.In(loc).Format(time.DateOnly))
}

// Time is midnight of the day in loc.
func (d Date) Time(loc *time.Location) time.Time {
	t, _ := time.Parse(time.DateOnly, string(d))
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, loc)
}

// AddDays returns the day n days later (earlier when n < 0).
func (d Date) AddDays(n int) Date {
	t, _ := time.Parse(time.DateOnly, string(d))
	return Date(t.AddDate(0, 0, n).Format(time.DateOnly))
}

// Days is the number of days in the inclusive range from..to.
func Days(from, to Date) int {
	a, _ := time.Parse(time.DateOnly, string(from))
	b, _ := time.Parse(time.DateOnly, string(to))
	return int(b.Sub(a).Hours()/24) + 1
}

// ErrInvalidQuery wraps every error caused by the query itself rather than the
// database, so that callers can answer 400.
var ErrInvalidQuery = errors.New("invalid query")

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidQuery, fmt.Sprintf(format, args...))
}

// Location is the query's timezone.
func (q *Query) Location() (*time.Location, error) {
	if q.Timezone == "" {
		return time.UTC, nil
	}
	loc, err := time.LoadLocation(q.Timezone)
	if err != nil {
		return nil, invalid("unknown timezone %q", q.Timezone)
	}
	return loc, nil
}

// Validate checks the query and fills its defaults.
func (q *Query) Validate() error {
	if q.SiteID == 0 {
		return invalid("no site")
	}
	if _, err := q.Location(); err != nil {
		return err
	}
	if _, err := ParseDate(string(q.From)); err != nil {
		return invalid("%v", err)
	}
	if _, err := ParseDate(string(q.To)); err != nil {
		return invalid("%v", err)
	}
	if q.To < q.From {
		return invalid("the range ends (%s) before it starts (%s)", q.To, q.From)
	}
	if Days(q.From, q.To) > 3660 {
		return invalid("the range is longer than ten years")
	}
	switch q.Interval {
	case "":
		q.Interval = IntervalDay
	case IntervalHour, IntervalDay, IntervalWeek, IntervalMonth:
	default:
		return invalid("unknown interval %q: use hour, day, week or month", q.Interval)
	}
	if q.Interval == IntervalHour && Days(q.From, q.To) > 31 {
		return invalid("an hourly series covers at most 31 days")
	}
	if q.Limit <= 0 {
		q.Limit = 100
	}
	if q.Limit > 1000 {
		return invalid("limit is at most 1000")
	}
	if q.Page <= 0 {
		q.Page = 1
	}
	for _, f := range q.Filters {
		if _, err := f.column(); err != nil {
			return err
		}
		switch f.Op {
		case OpIs, OpIsNot, OpContains:
		default:
			return invalid("unknown filter operator %q", f.Op)
		}
		if len(f.Values) == 0 {
			return invalid("filter on %s has no value", f.Property)
		}
	}
	return nil
}

// Previous is the same query over the period of equal length just before.
func (q Query) Previous() Query {
	n := Days(q.From, q.To)
	p := q
	p.From, p.To = q.From.AddDays(-n), q.From.AddDays(-1)
	p.plan = plan{}
	return p
}

// bounds are the UTC instants of the range: [start, end).
func (q *Query) bounds() (time.Time, time.Time) {
	loc, _ := q.Location()
	return q.From.Time(loc).UTC(), q.To.AddDays(1).Time(loc).UTC()
}

// tz is the timezone name ClickHouse functions take.
func (q *Query) tz() string {
	if q.Timezone == "" {
		return "UTC"
	}
	return q.Timezone
}

// visitProperties are attributes of a visit, stored on every session row.
// Their SQL comes only from this map: a property name never reaches a query.
var visitProperties = map[string]string{
	"visit:source":          "referrer_source",
	"visit:referrer":        "concat(referrer_host, referrer_path)",
	"visit:channel":         "channel",
	"visit:utm_source":      "utm_source",
	"visit:utm_medium":      "utm_medium",
	"visit:utm_campaign":    "utm_campaign",
	"visit:utm_content":     "utm_content",
	"visit:utm_term":        "utm_term",
	"visit:country":         "country",
	"visit:device":          "device",
	"visit:browser":         "browser",
	"visit:browser_version": "browser_version",
	"visit:os":              "os",
	"visit:os_version":      "os_version",
	"visit:screen":          "screen",
	"visit:language":        "language",
	"visit:entry_page":      "entry_page",
	"visit:exit_page":       "exit_page",
	"visit:hostname":        "hostname",
}

// mutableProperties are visit attributes that change while the visit goes on,
// so a cancelled (-1) state can match a filter the final state does not: their
// visits must be collapsed before they are counted by visitor.
var mutableProperties = map[string]bool{"visit:exit_page": true}

// eventProperties are attributes of one event.
var eventProperties = map[string]string{
	"event:page":     "pathname",
	"event:name":     "name",
	"event:title":    "title",
	"event:hostname": "hostname",
}

const propPrefix = "event:props:"

// propValue is the SQL of a custom property's value; its key is bound.
const propValue = "prop_values[indexOf(prop_keys, ?)]"

// IsVisitProperty reports whether p is a visit attribute.
func IsVisitProperty(p string) bool { _, ok := visitProperties[p]; return ok }

// ValidProperty reports whether p can be filtered on or broken down by.
func ValidProperty(p string) bool {
	_, v := visitProperties[p]
	_, e := eventProperties[p]
	return v || e || (strings.HasPrefix(p, propPrefix) && len(p) > len(propPrefix))
}

// column is the filter's SQL expression and the arguments it binds.
func (f *Filter) column() (sqlArgs, error) {
	if c, ok := visitProperties[f.Property]; ok {
		return sqlArgs{sql: c}, nil
	}
	if c, ok := eventProperties[f.Property]; ok {
		return sqlArgs{sql: c}, nil
	}
	if key, ok := strings.CutPrefix(f.Property, propPrefix); ok && key != "" {
		return sqlArgs{sql: propValue, args: []any{key}}, nil
	}
	return sqlArgs{}, invalid("unknown property %q", f.Property)
}

type sqlArgs struct {
	sql  string
	args []any
}

// globRegexp turns a value with * or ** wildcards into an anchored regexp.
func globRegexp(v string) string {
	var b strings.Builder
	b.WriteByte('^')
	for i := 0; i < len(v); {
		switch {
		case strings.HasPrefix(v[i:], "**"):
			b.WriteString(".*")
			i += 2
		case v[i] == '*':
			b.WriteString("[^/]*")
			i++
		default:
			j := i
			for j < len(v) && v[j] != '*' {
				j++
			}
			b.WriteString(regexp.QuoteMeta(v[i:j]))
			i = j
		}
	}
	b.WriteByte('$')
	return b.String()
}

// condition is the filter as a boolean SQL expression with bound values.
func (f *Filter) condition() (sqlArgs, error) {
	col, err := f.column()
	if err != nil {
		return sqlArgs{}, err
	}
	var parts []string
	var args []any
	for _, v := range f.Values {
		args = append(args, col.args...)
		switch {
		case f.Op == OpContains:
			parts = append(parts, "positionCaseInsensitiveUTF8("+col.sql+", ?) > 0")
			args = append(args, v)
		case strings.Contains(v, "*"):
			parts = append(parts, "match("+col.sql+", ?)")
			args = append(args, globRegexp(v))
		default:
			parts = append(parts, col.sql+" = ?")
			args = append(args, v)
		}
	}
	s := "(" + strings.Join(parts, " OR ") + ")"
	if f.Op == OpIsNot {
		s = "NOT " + s
	}
	return sqlArgs{sql: s, args: args}, nil
}

// where collects the conditions of one query.
type where struct {
	parts []string
	args  []any
}

func (w *where) add(sql string, args ...any) {
	w.parts = append(w.parts, sql)
	w.args = append(w.args, args...)
}

func (w *where) String() string { return strings.Join(w.parts, " AND ") }

// sessionPad is how long before the range a visit may have started and still
// have events in it; it bounds the sessions scanned for a visit filter.
const sessionPad = 24 * time.Hour

// split separates the query's filters into visit and event conditions.
func (q *Query) split() (visit, event []sqlArgs, err error) {
	visit, event, _, err = q.splitMutable()
	return visit, event, err
}

// splitMutable is split that also tells whether a visit filter is mutable.
func (q *Query) splitMutable() (visit, event []sqlArgs, mutable bool, err error) {
	for i := range q.Filters {
		f := &q.Filters[i]
		c, err := f.condition()
		if err != nil {
			return nil, nil, false, err
		}
		mutable = mutable || mutableProperties[f.Property]
		if IsVisitProperty(f.Property) {
			visit = append(visit, c)
		} else {
			event = append(event, c)
		}
	}
	if q.Goal != nil {
		event = append(event, q.Goal.condition())
	}
	return visit, event, mutable, nil
}

// eventsWhere is the WHERE clause for the events table in [start, end).
func (q *Query) eventsWhere(start, end time.Time) (*where, error) {
	visit, event, mutable, err := q.splitMutable()
	if err != nil {
		return nil, err
	}
	w := &where{}
	w.add("site_id = ? AND timestamp >= ? AND timestamp < ?"+dateKey("timestamp"), q.SiteID, start, end, utcDate(start), utcDate(end))
	for _, c := range event {
		w.add(c.sql, c.args...)
	}
	if len(visit) > 0 {
		sub := &where{}
		sub.add("site_id = ? AND start >= ? AND start < ?"+dateKey("start"), q.SiteID, start.Add(-sessionPad), end,
			utcDate(start.Add(-sessionPad)), utcDate(end))
		for _, c := range visit {
			sub.add(c.sql, c.args...)
		}
		having := ""
		if mutable {
			having = " GROUP BY session_id HAVING sum(sign) > 0"
		}
		w.add("session_id IN (SELECT session_id FROM sessions WHERE "+sub.String()+having+")", sub.args...)
	}
	return w, nil
}

// sessionsWhere is the WHERE clause for the sessions table: visits that
// started in [start, end).
func (q *Query) sessionsWhere(start, end time.Time) (*where, error) {
	visit, event, err := q.split()
	if err != nil {
		return nil, err
	}
	w := &where{}
	w.add("site_id = ? AND start >= ? AND start < ?"+dateKey("start"), q.SiteID, start, end, utcDate(start), utcDate(end))
	for _, c := range visit {
		w.add(c.sql, c.args...)
	}
	if len(event) > 0 {
		sub := &where{}
		sub.add("site_id = ? AND timestamp >= ? AND timestamp < ?"+dateKey("timestamp"), q.SiteID, start, end, utcDate(start), utcDate(end))
		for _, c := range event {
			sub.add(c.sql, c.args...)
		}
		w.add("session_id IN (SELECT session_id FROM events WHERE "+sub.String()+")", sub.args...)
	}
	return w, nil
}

func roundSeconds(v float64) float64 { return math.Round(v) }

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
