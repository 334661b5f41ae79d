package storage

import (
	"context"
	"fmt"
	"time"
)

// Point is one bucket of a time series. Date is the bucket's start in the
// site's timezone: "YYYY-MM-DD HH:00:00" for hours, "YYYY-MM-DD" otherwise
// (the Monday for weeks, the first for months).
type Point struct {
	Date string `json:"date"`
	Metrics
}

// bucketSQL is the expression naming a bucket; its timezone is bound twice
// for hours and once otherwise.
func bucketSQL(iv Interval, col string) (string, int) {
	switch iv {
	case IntervalHour:
		return "toString(toStartOfHour(" + col + ", ?), ?)", 2
	case IntervalWeek:
		return "toString(toMonday(" + col + ", ?))", 1
	case IntervalMonth:
		return "toString(toStartOfMonth(" + col + ", ?))", 1
	default:
		return "toString(toDate(" + col + ", ?))", 1
	}
}

// Buckets lists the labels of every bucket of the query's range, in order.
func (q *Query) Buckets() []string {
	loc, _ := q.Location()
	start, end := q.bounds()
	var out []string
	switch q.Interval {
	case IntervalHour:
		seen := map[string]bool{}
		for t := start; t.Before(end); t = t.Add(time.Hour) {
			l := t.In(loc).Truncate(time.Hour).Format("2006-01-02 15:00:00")
			if !seen[l] {
				seen[l] = true
				out = append(out, l)
			}
		}
	case IntervalWeek:
		d := q.From.Time(time.UTC)
		d = d.AddDate(0, 0, -((int(d.Weekday()) + 6) % 7))
		for ; Date(d.Format(time.DateOnly)) <= q.To; d = d.AddDate(0, 0, 7) {
			out = append(out, d.Format(time.DateOnly))
		}
	case IntervalMonth:
		d := q.From.Time(time.UTC)
		d = time.Date(d.Year(), d.Month(), 1, 0, 0, 0, 0, time.UTC)
		for ; Date(d.Format(time.DateOnly)) <= q.To; d = d.AddDate(0, 1, 0) {
			out = append(out, d.Format(time.DateOnly))
		}
	default:
		for d := q.From; d <= q.To; d = d.AddDays(1) {
			out = append(out, string(d))
		}
	}
	return out
}

// Timeseries computes the metrics of every bucket of the query's interval,
// buckets without data included.
func (s *Store) Timeseries(ctx context.Context, q Query) ([]Point, error) {
	q, err := s.Plan(ctx, q)
	if err != nil {
		return nil, err
	}
	uniq := q.plan.uniq
	start, end := q.bounds()
	points := map[string]*Metrics{}
	labels := q.Buckets()
	for _, l := range labels {
		points[l] = &Metrics{}
	}
	get := func(l string) *Metrics {
		// A bucket outside the generated list can only come from a DST
		// oddity; it is still counted rather than dropped.
		if points[l] == nil {
			points[l] = &Metrics{}
			labels = append(labels, l)
		}
		return points[l]
	}
	tzArgs := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = q.tz()
		}
		return out
	}

	ew, err := q.eventsWhere(start, end)
	if err != nil {
		return nil, err
	}
	bucket, n := bucketSQL(q.Interval, "timestamp")
	query := "SELECT " + bucket + " AS b, " + uniq + "(visitor_id), countIf(name = 'pageview'), countIf(name != 'engagement') FROM events WHERE " +
		ew.String() + " GROUP BY b"
	args := append(tzArgs(n), ew.args...)
	if q.useRollups() {
		bucket, n = bucketSQL(q.Interval, "t")
		query = "SELECT " + bucket + " AS b, toUInt64(uniqHLL12Merge(visitors)), toUInt64(sumMerge(pageviews)), toUInt64(sumMerge(events))" +
			" FROM rollup_events_hourly WHERE site_id = ? AND t >= ? AND t < ? GROUP BY b"
		args = append(tzArgs(n), q.SiteID, start, end)
	}
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot query event series: %w", err)
	}
	for rows.Next() {
		var l string
		var m Metrics
		if err := rows.Scan(&l, &m.Visitors, &m.Pageviews, &m.Events); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cannot read event series: %w", err)
		}
		p := get(l)
		p.Visitors, p.Pageviews, p.Events = m.Visitors, m.Pageviews, m.Events
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read event series: %w", err)
	}

	sw, err := q.sessionsWhere(start, end)
	if err != nil {
		return nil, err
	}
	bucket, n = bucketSQL(q.Interval, "start")
	query = "SELECT " + bucket + " AS b, " + sessionSums + " FROM sessions WHERE " + sw.String() + " GROUP BY b"
	args = append(tzArgs(n), sw.args...)
	if q.useRollups() {
		bucket, n = bucketSQL(q.Interval, "t")
		query = "SELECT " + bucket + " AS b, sumMerge(visits), sumMerge(bounces), sumMerge(duration), sumMerge(pageviews)" +
			" FROM rollup_sessions_hourly WHERE site_id = ? AND t >= ? AND t < ? GROUP BY b"
		args = append(tzArgs(n), q.SiteID, start, end)
	}
	rows, err = s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot query visit series: %w", err)
	}
	for rows.Next() {
		var l string
		var m Metrics
		if err := rows.Scan(&l, &m.Visits, &m.bounces, &m.duration, &m.sessionPageviews); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cannot read visit series: %w", err)
		}
		p := get(l)
		p.Visits, p.bounces, p.duration, p.sessionPageviews = m.Visits, m.bounces, m.duration, m.sessionPageviews
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read visit series: %w", err)
	}
	out := make([]Point, 0, len(labels))
	for _, l := range labels {
		m := points[l]
		m.finish()
		out = append(out, Point{Date: l, Metrics: *m})
	}
	return out, nil
}
