package storage

import (
	"context"
	"fmt"
	"math"
	"strings"
)

// Conversion is a goal's result over a query.
type Conversion struct {
	Goal           Goal    `json:"-"`
	Name           string  `json:"goal"`
	Visitors       uint64  `json:"visitors"` // unique visitors who converted
	Events         uint64  `json:"events"`   // matching pageviews or events
	ConversionRate float64 `json:"conversion_rate"`
}

func conversionRate(conv, total uint64) float64 {
	return math.Round(ratio(float64(conv), float64(total))*1000) / 10
}

// Conversions counts each goal's converting visitors and events, and its
// conversion rate against all visitors matching the query.
func (s *Store) Conversions(ctx context.Context, q Query, goals []Goal) ([]Conversion, error) {
	q, err := s.Plan(ctx, q)
	if err != nil {
		return nil, err
	}
	total, err := s.Aggregate(ctx, q)
	if err != nil {
		return nil, err
	}
	uniq := q.plan.uniq
	start, end := q.bounds()
	ew, err := q.eventsWhere(start, end)
	if err != nil {
		return nil, err
	}
	out := make([]Conversion, 0, len(goals))
	for _, g := range goals {
		c := g.condition()
		c2 := Conversion{Goal: g, Name: g.Name()}
		if err := s.conn.QueryRow(ctx, "SELECT "+uniq+"(visitor_id), count() FROM events WHERE "+ew.String()+" AND "+c.sql,
			append(append([]any{}, ew.args...), c.args...)...).Scan(&c2.Visitors, &c2.Events); err != nil {
			return nil, fmt.Errorf("cannot count conversions of goal %s: %w", g.ID, err)
		}
		c2.ConversionRate = conversionRate(c2.Visitors, total.Visitors)
		out = append(out, c2)
	}
	return out, nil
}

// GoalBreakdown lists, per value of a visit property (a source or a
// campaign), the visitors who converted on the goal and the conversion rate
// against that value's visitors.
func (s *Store) GoalBreakdown(ctx context.Context, q Query, g Goal, property string) ([]Row, error) {
	if !IsVisitProperty(property) {
		return nil, invalid("goals break down by visit properties only, not %q", property)
	}
	conv := q
	conv.Goal = &g
	rows, err := s.Breakdown(ctx, conv, property)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return rows, nil
	}
	// The totals of exactly the converting values, whatever page they are on.
	all := q
	all.Page = 1
	all.Limit = 1000
	values := make([]string, 0, len(rows))
	for _, r := range rows {
		values = append(values, r.Value)
	}
	all.Filters = append(append([]Filter{}, q.Filters...), Filter{Property: property, Op: OpIs, Values: values})
	totals, err := s.Breakdown(ctx, all, property)
	if err != nil {
		return nil, err
	}
	byValue := map[[2]string]uint64{}
	for _, t := range totals {
		byValue[[2]string{t.Value, t.Group}] = t.Visitors
	}
	for i := range rows {
		rows[i].ConversionRate = conversionRate(rows[i].Visitors, byValue[[2]string{rows[i].Value, rows[i].Group}])
	}
	return rows, nil
}

// VisitConversions fills Conversions and ConversionRate of rows, a breakdown
// of q by a visit property (a campaign): the value's visits that started in
// the range and, within the range, viewed a page matching one of goals or
// sent one of their events, each visit counted once however many goals it
// reached; the rate is those visits / the row's visits, in percent to one
// decimal. Without goals the rows keep zero.
func (s *Store) VisitConversions(ctx context.Context, q Query, property string, goals []Goal, rows []Row) error {
	if !IsVisitProperty(property) {
		return invalid("conversions break down by visit properties only, not %q", property)
	}
	if len(goals) == 0 || len(rows) == 0 {
		return nil
	}
	if err := q.Validate(); err != nil {
		return err
	}
	start, end := q.bounds()
	sw, err := q.sessionsWhere(start, end)
	if err != nil {
		return err
	}
	col := visitProperties[property]
	group := "''"
	if g, ok := versionGroups[property]; ok {
		group = g
	}
	values := make([]string, 0, len(rows))
	for _, r := range rows {
		values = append(values, r.Value)
	}
	conv := &where{}
	conv.add("site_id = ? AND timestamp >= ? AND timestamp < ?"+dateKey("timestamp"), q.SiteID, start, end, utcDate(start), utcDate(end))
	var conds []string
	var anyArgs []any
	for _, g := range goals {
		c := g.condition()
		conds = append(conds, c.sql)
		anyArgs = append(anyArgs, c.args...)
	}
	conv.add("("+strings.Join(conds, " OR ")+")", anyArgs...)
	// Sums weighted by sign count each converted visit once, in its final state.
	args := append(append(append([]any{}, sw.args...), values), conv.args...)
	res, err := s.conn.Query(ctx, "SELECT "+col+" AS v, "+group+" AS g, sum(sign) AS n FROM sessions WHERE "+sw.String()+
		" AND has(?, "+col+") AND session_id IN (SELECT session_id FROM events WHERE "+conv.String()+")"+
		" GROUP BY v, g HAVING n > 0", args...)
	if err != nil {
		return fmt.Errorf("cannot query %s conversions: %w", property, err)
	}
	defer res.Close()
	byValue := map[[2]string]int64{}
	for res.Next() {
		var v, g string
		var n int64
		if err := res.Scan(&v, &g, &n); err != nil {
			return fmt.Errorf("cannot read %s conversions: %w", property, err)
		}
		byValue[[2]string{v, g}] = n
	}
	if err := res.Err(); err != nil {
		return fmt.Errorf("cannot read %s conversions: %w", property, err)
	}
	for i := range rows {
		rows[i].Conversions = byValue[[2]string{rows[i].Value, rows[i].Group}]
		rows[i].ConversionRate = conversionRate(uint64(max(rows[i].Conversions, 0)), uint64(max(rows[i].Visits, 0)))
	}
	return nil
}
