package storage

import (
	"context"
	"fmt"
	"time"
)

const insertEvents = `INSERT INTO events (site_id, timestamp, name, visitor_id, session_id, hostname,
	pathname, title, referrer_host, referrer_path, referrer_source, channel, utm_source, utm_medium,
	utm_campaign, utm_content, utm_term, country, browser, browser_version, os, os_version, device,
	screen, language, ip, prop_keys, prop_values, engagement_ms, scroll_depth, batch_id)`

const insertSessions = `INSERT INTO sessions (site_id, session_id, visitor_id, sign, start, end, duration,
	pageviews, events, interactions, is_bounce, entry_page, exit_page, hostname, referrer_host,
	referrer_path, referrer_source, channel, utm_source, utm_medium, utm_campaign, utm_content,
	utm_term, country, browser, browser_version, os, os_version, device, screen, language, batch_id)`

func month(t time.Time) uint32 { return uint32(t.UTC().Year()*100 + int(t.UTC().Month())) }

// part is the rows of one table and one monthly partition: ClickHouse writes
// one INSERT block into one partition as a single part, all or nothing.
type part struct {
	table    string
	month    uint32
	events   []*Event
	sessions []*Session
}

func (b *Batch) parts() []*part {
	var out []*part
	idx := map[[2]uint32]*part{}
	get := func(table uint32, name string, m uint32) *part {
		k := [2]uint32{table, m}
		p := idx[k]
		if p == nil {
			p = &part{table: name, month: m}
			idx[k] = p
			out = append(out, p)
		}
		return p
	}
	for i := range b.Events {
		p := get(0, "events", month(b.Events[i].Timestamp))
		p.events = append(p.events, &b.Events[i])
	}
	for i := range b.Sessions {
		p := get(1, "sessions", month(b.Sessions[i].Start))
		p.sessions = append(p.sessions, &b.Sessions[i])
	}
	return out
}

// Insert writes a batch with one INSERT per table and month, each of which
// ClickHouse applies atomically. Every row carries the batch's ID.
func (s *Store) Insert(ctx context.Context, b *Batch) error {
	for _, p := range b.parts() {
		if err := s.insertPart(ctx, b.ID, p); err != nil {
			return err
		}
	}
	return nil
}

// Reinsert writes a batch that may have been partly written before a crash
// or a lost reply: each table-and-month part that already holds rows with
// the batch's ID is skipped, so a replay never duplicates. b.ID must not be 0.
func (s *Store) Reinsert(ctx context.Context, b *Batch) error {
	if b.ID == 0 {
		return fmt.Errorf("BUG: Reinsert needs a batch ID")
	}
	for _, p := range b.parts() {
		col := "timestamp"
		if p.table == "sessions" {
			col = "start"
		}
		var n uint64
		q := fmt.Sprintf("SELECT count() FROM %s WHERE batch_id = ? AND toYYYYMM(%s) = ?", p.table, col)
		if err := s.conn.QueryRow(ctx, q, b.ID, p.month).Scan(&n); err != nil {
			return fmt.Errorf("cannot check batch %d in %s: %w", b.ID, p.table, err)
		}
		if n > 0 {
			continue
		}
		if err := s.insertPart(ctx, b.ID, p); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) insertPart(ctx context.Context, id uint64, p *part) error {
	query := insertEvents
	if p.table == "sessions" {
		query = insertSessions
	}
	batch, err := s.conn.PrepareBatch(ctx, query)
	if err != nil {
		return fmt.Errorf("cannot prepare %s insert: %w", p.table, err)
	}
	for _, e := range p.events {
		keys, values := e.PropKeys, e.PropValues
		if keys == nil {
			keys, values = []string{}, []string{}
		}
		if err := batch.Append(e.SiteID, e.Timestamp, e.Name, e.VisitorID, e.SessionID, e.Hostname,
			e.Pathname, e.Title, e.ReferrerHost, e.ReferrerPath, e.ReferrerSource, e.Channel,
			e.UTMSource, e.UTMMedium, e.UTMCampaign, e.UTMContent, e.UTMTerm, e.Country,
			e.Browser, e.BrowserVersion, e.OS, e.OSVersion, e.Device, e.Screen, e.Language, e.IP,
			keys, values, e.EngagementMS, e.ScrollDepth, id); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("cannot append event: %w", err)
		}
	}
	for _, v := range p.sessions {
		bounce := uint8(0)
		if v.IsBounce() {
			bounce = 1
		}
		if err := batch.Append(v.SiteID, v.SessionID, v.VisitorID, v.Sign, v.Start, v.End, v.Duration,
			v.Pageviews, v.Events, v.Interactions, bounce, v.EntryPage, v.ExitPage, v.Hostname,
			v.ReferrerHost, v.ReferrerPath, v.ReferrerSource, v.Channel, v.UTMSource, v.UTMMedium,
			v.UTMCampaign, v.UTMContent, v.UTMTerm, v.Country, v.Browser, v.BrowserVersion, v.OS,
			v.OSVersion, v.Device, v.Screen, v.Language, id); err != nil {
			_ = batch.Abort()
			return fmt.Errorf("cannot append session: %w", err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("cannot insert %d rows into %s: %w", len(p.events)+len(p.sessions), p.table, err)
	}
	return nil
}
