package storage

import (
	"context"
	"fmt"
	"math"
	"strings"
)

// Row is one line of a breakdown.
type Row struct {
	Value string `json:"value"`
	// Group is the browser or OS a version belongs to (visit:browser_version,
	// visit:os_version); empty otherwise.
	Group string `json:"group,omitempty"`
	Metrics
	// ExitRate is, for exit pages, the share of the page's views that ended
	// a visit, in percent.
	ExitRate float64 `json:"exit_rate,omitempty"`
	// TimeOnPage is, for pages and titles, the mean engagement time per
	// pageview in seconds.
	TimeOnPage float64 `json:"time_on_page,omitempty"`
	// ConversionRate is, for goal breakdowns, converting visitors / visitors
	// in percent; after VisitConversions, Conversions / Visits in percent.
	ConversionRate float64 `json:"conversion_rate,omitempty"`
	// Conversions is, after VisitConversions, the value's visits that
	// converted on any of the site's goals.
	Conversions int64 `json:"conversions,omitempty"`
}

// versionGroups are the columns a version breakdown is grouped with.
var versionGroups = map[string]string{
	"visit:browser_version": "browser",
	"visit:os_version":      "os",
}

// Breakdown lists the values of property with their metrics, most visitors
// first. Visit properties report visitors, visits, pageviews, bounce rate and
// visit duration; event:page and event:title report visitors, visits,
// pageviews and time on page; event:name and event:props:* report visitors
// and events. Outbound links, downloads and site search terms are breakdowns
// of event:props:url or event:props:query filtered by their event name.
func (s *Store) Breakdown(ctx context.Context, q Query, property string) ([]Row, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if !ValidProperty(property) {
		return nil, invalid("unknown property %q", property)
	}
	q, err := s.Plan(ctx, q)
	if err != nil {
		return nil, err
	}
	uniq := q.plan.uniq
	switch {
	case q.useRollups() && rollupDims[property]:
		return s.rollupDimBreakdown(ctx, &q, property)
	}
	if IsVisitProperty(property) {
		rows, err := s.visitBreakdown(ctx, &q, property, uniq)
		if err == nil && property == "visit:exit_page" {
			err = s.exitRates(ctx, &q, rows)
		}
		return rows, err
	}
	return s.eventBreakdown(ctx, &q, property, uniq)
}

func (s *Store) visitBreakdown(ctx context.Context, q *Query, property, uniq string) ([]Row, error) {
	start, end := q.bounds()
	sw, err := q.sessionsWhere(start, end)
	if err != nil {
		return nil, err
	}
	col := visitProperties[property]
	group := "''"
	if g, ok := versionGroups[property]; ok {
		group = g
	}
	from := "sessions WHERE " + sw.String()
	sums, sign := sessionSums, "sign"
	_, _, mutable, _ := q.splitMutable()
	if mutable || mutableProperties[property] {
		// Collapse each visit first, so that a cancelled state counts neither
		// as a visit nor as a visitor of its value.
		from = "(SELECT " + col + " AS v, " + group + " AS g, visitor_id, sum(sign) AS s, sum(sign * is_bounce) AS b," +
			" sum(sign * duration) AS d, sum(sign * pageviews) AS p FROM sessions WHERE " + sw.String() +
			" GROUP BY session_id, visitor_id, v, g HAVING s > 0)"
		col, group, sums, sign = "v", "g", "sum(s), sum(b), sum(d), sum(p)", "s"
	}
	query := "SELECT " + col + " AS v, " + group + " AS g, " + uniq + "(visitor_id) AS visitors, " + sums +
		" FROM " + from + " GROUP BY v, g HAVING sum(" + sign + ") > 0" +
		" ORDER BY visitors DESC, sum(" + sign + ") DESC, g, v LIMIT ? OFFSET ?"
	args := append(sw.args, q.Limit, (q.Page-1)*q.Limit)
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot query %s breakdown: %w", property, err)
	}
	defer rows.Close()
	out := []Row{}
	for rows.Next() {
		var r Row
		if err := rows.Scan(&r.Value, &r.Group, &r.Visitors, &r.Visits, &r.bounces, &r.duration, &r.sessionPageviews); err != nil {
			return nil, fmt.Errorf("cannot read %s breakdown: %w", property, err)
		}
		r.Pageviews = uint64(max(r.sessionPageviews, 0))
		r.finish()
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read %s breakdown: %w", property, err)
	}
	return out, nil
}

// exitRates fills the exit rate of exit-page rows: exits / the page's views.
func (s *Store) exitRates(ctx context.Context, q *Query, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	pages := make([]string, len(rows))
	for i, r := range rows {
		pages[i] = r.Value
	}
	start, end := q.bounds()
	ew, err := q.eventsWhere(start, end)
	if err != nil {
		return err
	}
	args := append(ew.args, pages)
	res, err := s.conn.Query(ctx, "SELECT pathname, count() FROM events WHERE "+ew.String()+
		" AND name = 'pageview' AND has(?, pathname) GROUP BY pathname", args...)
	if err != nil {
		return fmt.Errorf("cannot query exit page views: %w", err)
	}
	defer res.Close()
	views := map[string]uint64{}
	for res.Next() {
		var p string
		var n uint64
		if err := res.Scan(&p, &n); err != nil {
			return fmt.Errorf("cannot read exit page views: %w", err)
		}
		views[p] = n
	}
	for i := range rows {
		rows[i].ExitRate = math.Min(100, math.Round(ratio(float64(rows[i].Visits), float64(views[rows[i].Value]))*1000)/10)
	}
	return res.Err()
}

func (s *Store) eventBreakdown(ctx context.Context, q *Query, property, uniq string) ([]Row, error) {
	start, end := q.bounds()
	ew, err := q.eventsWhere(start, end)
	if err != nil {
		return nil, err
	}
	var col sqlArgs
	if c, ok := eventProperties[property]; ok {
		col = sqlArgs{sql: c}
	} else {
		col = sqlArgs{sql: propValue, args: []any{strings.TrimPrefix(property, propPrefix)}}
	}
	var query string
	var args []any
	pages := property == "event:page" || property == "event:title"
	if pages {
		// Engagement rows carry the page they measured, so one scan gives
		// views and time on page.
		query = "SELECT " + col.sql + " AS v, uniqIf(visitor_id, name = 'pageview') AS visitors, " +
			"uniqIf(session_id, name = 'pageview'), countIf(name = 'pageview') AS views, " +
			"sumIf(engagement_ms, name = 'engagement') FROM events WHERE " + ew.String() +
			" AND name IN ('pageview', 'engagement') GROUP BY v HAVING views > 0" +
			" ORDER BY visitors DESC, views DESC, v LIMIT ? OFFSET ?"
		query = strings.Replace(query, "uniqIf(visitor_id", uniq+"If(visitor_id", 1)
		args = append(append(col.args, ew.args...), q.Limit, (q.Page-1)*q.Limit)
	} else {
		cond := "name NOT IN ('pageview', 'engagement')"
		if property != "event:name" {
			cond = "name != 'engagement' AND has(prop_keys, ?)"
		}
		query = "SELECT " + col.sql + " AS v, " + uniq + "(visitor_id) AS visitors, count() AS n FROM events WHERE " +
			ew.String() + " AND " + cond + " GROUP BY v ORDER BY visitors DESC, n DESC, v LIMIT ? OFFSET ?"
		args = append(col.args, ew.args...)
		if property != "event:name" {
			args = append(args, col.args...)
		}
		args = append(args, q.Limit, (q.Page-1)*q.Limit)
	}
	rows, err := s.conn.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("cannot query %s breakdown: %w", property, err)
	}
	defer rows.Close()
	out := []Row{}
	for rows.Next() {
		var r Row
		if pages {
			var sessions, engagedMS uint64
			if err := rows.Scan(&r.Value, &r.Visitors, &sessions, &r.Pageviews, &engagedMS); err != nil {
				return nil, fmt.Errorf("cannot read %s breakdown: %w", property, err)
			}
			r.Visits = int64(sessions)
			r.Events = r.Pageviews
			r.TimeOnPage = math.Round(ratio(float64(engagedMS)/1000, float64(r.Pageviews)))
		} else {
			if err := rows.Scan(&r.Value, &r.Visitors, &r.Events); err != nil {
				return nil, fmt.Errorf("cannot read %s breakdown: %w", property, err)
			}
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read %s breakdown: %w", property, err)
	}
	return out, nil
}

// PropKeys lists the custom property keys of the query's events, most used first.
func (s *Store) PropKeys(ctx context.Context, q Query) ([]string, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	start, end := q.bounds()
	ew, err := q.eventsWhere(start, end)
	if err != nil {
		return nil, err
	}
	rows, err := s.conn.Query(ctx, "SELECT arrayJoin(prop_keys) AS k, count() AS n FROM events WHERE "+ew.String()+
		" AND name NOT IN ('pageview', 'engagement') GROUP BY k ORDER BY n DESC, k LIMIT 50", ew.args...)
	if err != nil {
		return nil, fmt.Errorf("cannot query property keys: %w", err)
	}
	defer rows.Close()
	out := []string{}
	for rows.Next() {
		var k string
		var n uint64
		if err := rows.Scan(&k, &n); err != nil {
			return nil, fmt.Errorf("cannot read property keys: %w", err)
		}
		out = append(out, k)
	}
	return out, rows.Err()
}
