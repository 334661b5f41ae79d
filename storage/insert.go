package storage

import (
	"context"
	"fmt"
)

const insertEvents = `INSERT INTO events (site_id, timestamp, name, visitor_id, session_id, hostname,
	pathname, title, referrer_host, referrer_path, referrer_source, channel, utm_source, utm_medium,
	utm_campaign, utm_content, utm_term, country, browser, browser_version, os, os_version, device,
	screen, language, ip, prop_keys, prop_values, engagement_ms, scroll_depth, batch_id)`

const insertSessions = `INSERT INTO sessions (site_id, session_id, visitor_id, sign, start, end, duration,
	pageviews, events, interactions, is_bounce, entry_page, exit_page, hostname, referrer_host,
	referrer_path, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_content,
	utm_term, country, browser, browser_version, os, os_version, device, screen, language, batch_id)`

// Insert writes a batch: its events in one INSERT, then its session rows in
// another. Every row carries the batch's ID so a replay can tell what landed.
func (s *Store) Insert(ctx context.Context, b *Batch) error {
	if len(b.Events) > 0 {
		batch, err := s.conn.PrepareBatch(ctx, insertEvents)
		if err != nil {
			return fmt.Errorf("cannot prepare events insert: %w", err)
		}
		for i := range b.Events {
			e := &b.Events[i]
			keys, values := e.PropKeys, e.PropValues
			if keys == nil {
				keys, values = []string{}, []string{}
			}
			if err := batch.Append(e.SiteID, e.Timestamp, e.Name, e.VisitorID, e.SessionID, e.Hostname,
				e.Pathname, e.Title, e.ReferrerHost, e.ReferrerPath, e.ReferrerSource, e.Channel,
				e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMContent, e.UTMTerm, e.Country,
				e.Browser, e.BrowserVersion, e.OS, e.OSVersion, e.Device, e.Screen, e.Language, e.IP,
				keys, values, e.EngagementMS, e.ScrollDepth, b.ID); err != nil {
				_ = batch.Abort()
				return fmt.Errorf("cannot append event: %w", err)
			}
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("cannot insert %d events: %w", len(b.Events), err)
		}
	}
	if len(b.Sessions) > 0 {
		batch, err := s.conn.PrepareBatch(ctx, insertSessions)
		if err != nil {
			return fmt.Errorf("cannot prepare sessions insert: %w", err)
		}
		for i := range b.Sessions {
			v := &b.Sessions[i]
			bounce := uint8(0)
			if v.IsBounce() {
				bounce = 1
			}
			if err := batch.Append(v.SiteID, v.SessionID, v.VisitorID, v.Sign, v.Start, v.End, v.Duration,
				v.Pageviews, v.Events, v.Interactions, bounce, v.EntryPage, v.ExitPage, v.Hostname,
				v.ReferrerHost, v.ReferrerPath, v.ReferrerSource, v.Channel, v.UTMSource, v.UTMMedium,
				v.UTMCampaign, v.UTMContent, v.UTMTerm, v.Country, v.Browser, v.BrowserVersion, v.OS,
				v.OSVersion, v.Device, v.Screen, v.Language, b.ID); err != nil {
				_ = batch.Abort()
				return fmt.Errorf("cannot append session: %w", err)
			}
		}
		if err := batch.Send(); err != nil {
			return fmt.Errorf("cannot insert %d session rows: %w", len(b.Sessions), err)
		}
	}
	return nil
}
