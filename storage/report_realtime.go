package storage

import (
	"context"
	"fmt"
	"time"
)

// RealtimeWindow is how far back "current visitors" look.
const RealtimeWindow = 5 * time.Minute

// CurrentVisitors counts the distinct visitors with an event in the five
// minutes up to now.
func (s *Store) CurrentVisitors(ctx context.Context, siteID uint32, now time.Time) (uint64, error) {
	var n uint64
	from, to := now.UTC().Add(-RealtimeWindow), now.UTC()
	if err := s.conn.QueryRow(ctx, "SELECT uniqExact(visitor_id) FROM events WHERE site_id = ? AND timestamp >= ? AND timestamp <= ?"+dateKey("timestamp"),
		siteID, from, to, utcDate(from), utcDate(to)).Scan(&n); err != nil {
		return 0, fmt.Errorf("cannot count current visitors: %w", err)
	}
	return n, nil
}

// Visit is one visit of the visits log. It holds no identifier: neither the
// visitor's nor the session's.
type Visit struct {
	Start     time.Time `json:"start"`
	Duration  uint32    `json:"duration"` // seconds
	Country   string    `json:"country"`
	Device    string    `json:"device"`
	Browser   string    `json:"browser"`
	OS        string    `json:"os"`
	Source    string    `json:"source"`
	Pageviews uint32    `json:"pageviews"`
	Steps     []Step    `json:"steps"`
}

// Step is one pageview or custom event of a visit, in order.
type Step struct {
	Time time.Time `json:"time"`
	Name string    `json:"name"` // "pageview" or the event's name
	Page string    `json:"page"`
}

// VisitsLog lists the query's most recent visits, newest first, each with its
// pages and events in order.
func (s *Store) VisitsLog(ctx context.Context, q Query, limit int) ([]Visit, error) {
	if err := q.Validate(); err != nil {
		return nil, err
	}
	if limit <= 0 || limit > 500 {
		limit = 50
	}
	start, end := q.bounds()
	sw, err := q.sessionsWhere(start, end)
	if err != nil {
		return nil, err
	}
	// Duration and pageviews only grow as a visit goes on, so the newest
	// state holds their maximum.
	rows, err := s.conn.Query(ctx, "SELECT session_id, min(start) AS st, maxIf(duration, sign > 0), any(country), any(device), any(browser), any(os),"+
		" any(referrer_source), maxIf(pageviews, sign > 0) FROM sessions WHERE "+sw.String()+
		" GROUP BY session_id HAVING sum(sign) > 0 ORDER BY st DESC, session_id LIMIT ?", append(sw.args, limit)...)
	if err != nil {
		return nil, fmt.Errorf("cannot query visits log: %w", err)
	}
	var ids []uint64
	index := map[uint64]int{}
	var out []Visit
	for rows.Next() {
		var id uint64
		var v Visit
		if err := rows.Scan(&id, &v.Start, &v.Duration, &v.Country, &v.Device, &v.Browser, &v.OS, &v.Source, &v.Pageviews); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cannot read visits log: %w", err)
		}
		v.Start = v.Start.UTC()
		v.Steps = []Step{}
		index[id] = len(out)
		ids = append(ids, id)
		out = append(out, v)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read visits log: %w", err)
	}
	if len(ids) == 0 {
		return []Visit{}, nil
	}
	steps, err := s.conn.Query(ctx, "SELECT session_id, timestamp, name, pathname FROM events WHERE site_id = ? AND timestamp >= ?"+
		" AND toDate(timestamp) >= toDate(?) AND has(?, session_id) AND name != 'engagement' ORDER BY session_id, timestamp LIMIT 20000",
		q.SiteID, start, utcDate(start), ids)
	if err != nil {
		return nil, fmt.Errorf("cannot query visit steps: %w", err)
	}
	defer steps.Close()
	for steps.Next() {
		var id uint64
		var st Step
		if err := steps.Scan(&id, &st.Time, &st.Name, &st.Page); err != nil {
			return nil, fmt.Errorf("cannot read visit steps: %w", err)
		}
		st.Time = st.Time.UTC()
		v := &out[index[id]]
		v.Steps = append(v.Steps, st)
	}
	return out, steps.Err()
}
