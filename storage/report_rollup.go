package storage

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Rollups (migration 0101) answer unfiltered reports over ranges too large
// to count exactly: visitors come from HyperLogLog states (uniqHLL12, about
// 1.6% typical error), pageviews, visits and sums are exact. A range is read
// from per-UTC-day states where it covers whole UTC days and per-hour states
// at its edges, so any timezone whose offsets are whole hours is exact to
// the hour.

// plan is how a query's reports count, decided once per query.
type plan struct {
	done   bool
	uniq   string // uniqExact or uniq, for raw rows
	rollup bool
}

// Plan decides how the query's reports will count: exactly from raw rows
// while the range holds fewer than ExactBelow events, approximately above
// it, from the rollups when the query has no filter. Reports plan an
// unplanned query themselves; callers running several reports on one query
// plan it once and save a count per report.
func (s *Store) Plan(ctx context.Context, q Query) (Query, error) {
	if err := q.Validate(); err != nil {
		return q, err
	}
	if q.plan.done {
		return q, nil
	}
	start, end := q.bounds()
	threshold := q.ExactBelow
	if threshold == 0 {
		threshold = ExactVisitorsBelow
	}
	rollupable := len(q.Filters) == 0 && q.Goal == nil && q.wholeHourOffsets()
	var n uint64
	if rollupable {
		src, args := rollupSource("rollup_events", "events", q.SiteID, start, end, "")
		if err := s.conn.QueryRow(ctx, "SELECT toUInt64(sumMerge(events)) FROM "+src, args...).Scan(&n); err != nil {
			return q, fmt.Errorf("cannot count events in range: %w", err)
		}
	} else {
		if err := s.conn.QueryRow(ctx, "SELECT count() FROM events WHERE site_id = ? AND timestamp >= ? AND timestamp < ?"+dateKey("timestamp"),
			q.SiteID, start, end, utcDate(start), utcDate(end)).Scan(&n); err != nil {
			return q, fmt.Errorf("cannot count events in range: %w", err)
		}
	}
	q.plan = plan{done: true, uniq: "uniqExact"}
	if n >= threshold {
		q.plan.uniq, q.plan.rollup = "uniq", rollupable
	}
	return q, nil
}

// useRollups reports whether the planned query reads the rollups. A filter
// or goal added after planning keeps it on raw rows; a changed range needs
// a new plan.
func (q *Query) useRollups() bool {
	return q.plan.rollup && len(q.Filters) == 0 && q.Goal == nil
}

// dateKey is the condition on the tables' date key that lets ClickHouse skip
// granules; it takes the first and last UTC days as "YYYY-MM-DD" strings.
func dateKey(col string) string {
	return " AND toDate(" + col + ") >= toDate(?) AND toDate(" + col + ") <= toDate(?)"
}

func utcDate(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// wholeHourOffsets reports whether the site's timezone is a whole number of
// hours from UTC throughout the range, so that hourly states add up to its days.
func (q *Query) wholeHourOffsets() bool {
	loc, err := q.Location()
	if err != nil {
		return false
	}
	start, end := q.bounds()
	for t := start; !t.After(end); t = t.Add(12 * time.Hour) {
		if _, off := t.In(loc).Zone(); off%3600 != 0 {
			return false
		}
	}
	return true
}

// rollupSource is a subquery that selects cols from the daily states of the
// whole UTC days in [start, end) and from the hourly states of the rest.
// where is an extra condition (with its own arguments appended by the caller).
func rollupSource(table, cols string, site uint32, start, end time.Time, where string, whereArgs ...any) (string, []any) {
	dayStart, dayEnd := utcDays(start, end)
	type part struct {
		table    string
		from, to time.Time
	}
	var parts []part
	if dayStart.Before(dayEnd) {
		parts = append(parts, part{table + "_daily", dayStart, dayEnd})
		if start.Before(dayStart) {
			parts = append(parts, part{table + "_hourly", start, dayStart})
		}
		if dayEnd.Before(end) {
			parts = append(parts, part{table + "_hourly", dayEnd, end})
		}
	} else {
		parts = append(parts, part{table + "_hourly", start, end})
	}
	var sqls []string
	var args []any
	for _, p := range parts {
		sqls = append(sqls, "SELECT "+cols+" FROM "+p.table+" WHERE site_id = ? AND t >= ? AND t < ?"+where)
		args = append(args, site, p.from.UTC(), p.to.UTC())
		args = append(args, whereArgs...)
	}
	return "(" + strings.Join(sqls, " UNION ALL ") + ")", args
}

// utcDays are the first and the end of the whole UTC days in [start, end);
// dayStart is not before dayEnd when there is none.
func utcDays(start, end time.Time) (dayStart, dayEnd time.Time) {
	dayStart = start.UTC().Truncate(24 * time.Hour)
	if dayStart.Before(start) {
		dayStart = dayStart.Add(24 * time.Hour)
	}
	return dayStart, end.UTC().Truncate(24 * time.Hour)
}

// rollupAggregate is Aggregate from the rollups.
func (s *Store) rollupAggregate(ctx context.Context, q *Query) (Metrics, error) {
	start, end := q.bounds()
	var m Metrics
	src, args := rollupSource("rollup_events", "visitors, pageviews, events", q.SiteID, start, end, "")
	if err := s.conn.QueryRow(ctx, "SELECT toUInt64(uniqHLL12Merge(visitors)), toUInt64(sumMerge(pageviews)), toUInt64(sumMerge(events)) FROM "+src, args...).
		Scan(&m.Visitors, &m.Pageviews, &m.Events); err != nil {
		return m, fmt.Errorf("cannot query event totals from rollups: %w", err)
	}
	if err := s.conn.QueryRow(ctx, "SELECT sumMerge(visits), sumMerge(bounces), sumMerge(duration), sumMerge(pageviews) FROM rollup_sessions_hourly"+
		" WHERE site_id = ? AND t >= ? AND t < ?", q.SiteID, start, end).Scan(&m.Visits, &m.bounces, &m.duration, &m.sessionPageviews); err != nil {
		return m, fmt.Errorf("cannot query visit totals from rollups: %w", err)
	}
	m.finish()
	return m, nil
}

// rollupDims are the visit properties the dimension rollups hold.
var rollupDims = map[string]bool{"visit:source": true, "visit:channel": true, "visit:country": true, "visit:device": true,
	"visit:browser": true, "visit:os": true, "visit:screen": true, "visit:language": true}

func (s *Store) rollupDimBreakdown(ctx context.Context, q *Query, property string) ([]Row, error) {
	start, end := q.bounds()
	src, args := rollupSource("rollup_dims", "value, visitors, visits, bounces, duration, pageviews", q.SiteID, start, end, " AND dim = ?", property)
	rows, err := s.conn.Query(ctx, "SELECT value, toUInt64(uniqHLL12Merge(visitors)) AS v, sumMerge(visits) AS n, sumMerge(bounces), sumMerge(duration), sumMerge(pageviews)"+
		" FROM "+src+" GROUP BY value HAVING n > 0 ORDER BY v DESC, n DESC, value LIMIT ? OFFSET ?", append(args, q.Limit, (q.Page-1)*q.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("cannot query %s breakdown from rollups: %w", property, err)
	}
	defer rows.Close()
	out := []Row{}
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.Value, &r.Visitors, &r.Visits, &r.bounces, &r.duration, &r.sessionPageviews); err != nil {
			return nil, fmt.Errorf("cannot read %s breakdown: %w", property, err)
		}
		r.Pageviews = uint64(max(r.sessionPageviews, 0))
		r.finish()
		out = append(out, r)
	}
	return out, rows.Err()
}

// TopPages lists the query's most viewed pages with their visitors,
// pageviews and time on page, for the overview. Over ranges too large to count
// exactly and without filters it reads the rollups: it ranks pages by
// pageviews, then merges the visitor states of those pages only, with the
// hours at the range's edges from raw rows; visits per page are not counted
// there. Otherwise it is Breakdown(q, "event:page").
func (s *Store) TopPages(ctx context.Context, q Query) ([]Row, error) {
	q, err := s.Plan(ctx, q)
	if err != nil {
		return nil, err
	}
	if !q.useRollups() {
		return s.Breakdown(ctx, q, "event:page")
	}
	start, end := q.bounds()
	src, args := rollupSource("rollup_page_views", "pathname, pageviews", q.SiteID, start, end, "")
	res, err := s.conn.Query(ctx, "SELECT pathname, sum(pageviews) AS p FROM "+src+" GROUP BY pathname HAVING p > 0 ORDER BY p DESC, pathname LIMIT ? OFFSET ?",
		append(args, q.Limit, (q.Page-1)*q.Limit)...)
	if err != nil {
		return nil, fmt.Errorf("cannot query top pages from rollups: %w", err)
	}
	var pages []any
	for res.Next() {
		var p string
		var n uint64
		if err := res.Scan(&p, &n); err != nil {
			res.Close()
			return nil, fmt.Errorf("cannot read top pages: %w", err)
		}
		pages = append(pages, p)
	}
	res.Close()
	if err := res.Err(); err != nil {
		return nil, fmt.Errorf("cannot read top pages: %w", err)
	}
	if len(pages) == 0 {
		return []Row{}, nil
	}
	// One bound placeholder per page: "pathname IN (...)" uses the key.
	in := " AND pathname IN (" + strings.TrimSuffix(strings.Repeat("?, ", len(pages)), ", ") + ")"
	dayStart, dayEnd := utcDays(start, end)
	var parts []string
	args = nil
	raw := func(from, to time.Time) {
		parts = append(parts, "SELECT pathname, uniqHLL12IfState(visitor_id, name = 'pageview') AS visitors,"+
			" sumState(toUInt64(name = 'pageview')) AS pageviews,"+
			" sumState(toUInt64(engagement_ms)) AS engagement_ms FROM events WHERE site_id = ? AND timestamp >= ? AND timestamp < ?"+
			dateKey("timestamp")+" AND name IN ('pageview', 'engagement')"+in+" GROUP BY pathname")
		args = append(append(args, q.SiteID, from, to, utcDate(from), utcDate(to)), pages...)
	}
	if dayStart.Before(dayEnd) {
		parts = append(parts, "SELECT pathname, visitors, pageviews, engagement_ms FROM rollup_pages_daily"+
			" WHERE site_id = ?"+in+" AND t >= ? AND t < ?")
		args = append(append(append(args, q.SiteID), pages...), dayStart, dayEnd)
		if start.Before(dayStart) {
			raw(start, dayStart)
		}
		if dayEnd.Before(end) {
			raw(dayEnd, end)
		}
	} else {
		raw(start, end)
	}
	rows, err := s.conn.Query(ctx, "SELECT pathname, toUInt64(uniqHLL12IfMerge(visitors)) AS v,"+
		" sumMerge(pageviews) AS p, sumMerge(engagement_ms) FROM ("+strings.Join(parts, " UNION ALL ")+")"+
		" GROUP BY pathname ORDER BY v DESC, p DESC, pathname", args...)
	if err != nil {
		return nil, fmt.Errorf("cannot query page visitors from rollups: %w", err)
	}
	defer rows.Close()
	out := []Row{}
	for rows.Next() {
		var r Row
		var engagedMS uint64
		if err := rows.Scan(&r.Value, &r.Visitors, &r.Pageviews, &engagedMS); err != nil {
			return nil, fmt.Errorf("cannot read page visitors: %w", err)
		}
		r.Events = r.Pageviews
		r.TimeOnPage = roundSeconds(ratio(float64(engagedMS)/1000, float64(r.Pageviews)))
		out = append(out, r)
	}
	return out, rows.Err()
}
