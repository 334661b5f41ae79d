package storage

import (
	"context"
	"fmt"
	"math"
)

// Metrics are the headline numbers of a period or of one time bucket.
type Metrics struct {
	Visitors      uint64  `json:"visitors"`
	Visits        int64   `json:"visits"`
	Pageviews     uint64  `json:"pageviews"`
	Events        uint64  `json:"events"`
	ViewsPerVisit float64 `json:"views_per_visit"` // rounded to 2 decimals
	BounceRate    float64 `json:"bounce_rate"`     // percent, rounded
	VisitDuration float64 `json:"visit_duration"`  // seconds, rounded

	bounces, duration, sessionPageviews int64
}

// finish derives the rates from the sums.
func (m *Metrics) finish() {
	v := float64(m.Visits)
	m.ViewsPerVisit = math.Round(ratio(float64(m.sessionPageviews), v)*100) / 100
	m.BounceRate = math.Round(ratio(float64(m.bounces), v) * 100)
	m.VisitDuration = math.Round(ratio(float64(m.duration), v))
}

// Change is the relative change from prev to cur in percent, rounded; a rise
// from zero counts as 100%.
func Change(cur, prev float64) float64 {
	if prev == 0 {
		if cur == 0 {
			return 0
		}
		return 100
	}
	return math.Round((cur - prev) / prev * 100)
}

const sessionSums = "sum(sign), sum(sign * is_bounce), sum(sign * duration), sum(sign * pageviews)"

// Aggregate computes the query's headline metrics.
func (s *Store) Aggregate(ctx context.Context, q Query) (Metrics, error) {
	q, err := s.Plan(ctx, q)
	if err != nil {
		return Metrics{}, err
	}
	if q.useRollups() {
		return s.rollupAggregate(ctx, &q)
	}
	uniq := q.plan.uniq
	start, end := q.bounds()
	var m Metrics
	ew, err := q.eventsWhere(start, end)
	if err != nil {
		return Metrics{}, err
	}
	if err := s.conn.QueryRow(ctx, "SELECT "+uniq+"(visitor_id), countIf(name = 'pageview'), countIf(name != 'engagement') FROM events WHERE "+
		ew.String(), ew.args...).Scan(&m.Visitors, &m.Pageviews, &m.Events); err != nil {
		return Metrics{}, fmt.Errorf("cannot query event totals: %w", err)
	}
	sw, err := q.sessionsWhere(start, end)
	if err != nil {
		return Metrics{}, err
	}
	if err := s.conn.QueryRow(ctx, "SELECT "+sessionSums+" FROM sessions WHERE "+sw.String(), sw.args...).
		Scan(&m.Visits, &m.bounces, &m.duration, &m.sessionPageviews); err != nil {
		return Metrics{}, fmt.Errorf("cannot query visit totals: %w", err)
	}
	m.finish()
	return m, nil
}
