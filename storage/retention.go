package storage

import (
	"context"
	"fmt"
	"time"
)

// rollupTables are the materialized views' tables (migration 0101), each
// keyed by site_id and an hour or day t.
var rollupTables = []string{
	"rollup_events_hourly", "rollup_events_daily", "rollup_sessions_hourly", "rollup_dims_hourly",
	"rollup_dims_daily", "rollup_page_views_hourly", "rollup_page_views_daily", "rollup_pages_daily",
}

// DeleteExpiredEvents deletes a site's events, sessions and rollups older
// than its retention. ClickHouse applies each deletion as a mutation in the
// background; the collector runs this hourly.
func (s *Store) DeleteExpiredEvents(ctx context.Context, site Site, now time.Time) error {
	if site.RetentionDays == 0 {
		return nil
	}
	cutoff := now.Add(-time.Duration(site.RetentionDays) * 24 * time.Hour).UTC()
	type target struct{ table, column string }
	targets := []target{{"events", "timestamp"}, {"sessions", "start"}}
	for _, r := range rollupTables {
		// A materialized view without TO stores its rows in ".inner.<name>".
		targets = append(targets, target{"`.inner." + r + "`", "t"})
	}
	for _, t := range targets {
		q := fmt.Sprintf("ALTER TABLE %s DELETE WHERE site_id = ? AND %s < ?", t.table, t.column)
		if err := s.conn.Exec(ctx, q, site.ID, cutoff); err != nil {
			return fmt.Errorf("cannot delete expired rows of %s from %s: %w", site.Domain, t.table, err)
		}
	}
	return nil
}
