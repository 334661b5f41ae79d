package storage

import (
	"context"
	"fmt"
	"math"
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
