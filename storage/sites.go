package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// ErrNotFound is returned when a site, user or token does not exist.
var ErrNotFound = errors.New("not found")

// Site is a tracked website and its privacy settings.
type Site struct {
	ID            uint32
	Domain        string
	Timezone      string
	MatomoID      uint32   // optional numeric id for Matomo's idsite; 0 when unset
	IPTruncation  uint8    // 1, 2 or 3 (IPv4 bytes zeroed; IPv6 64/80/104 bits)
	ExcludedIPs   []string // CIDRs or addresses whose traffic is dropped
	ExcludedPaths []string // path prefixes that are not tracked
	KeepParams    []string // query parameters kept besides the campaign ones
	HonorDNT      bool
	HonorGPC      bool
	RetentionDays uint32 // 0 keeps events forever
	Created       time.Time
}

// NewSite returns a site with the privacy-preserving defaults.
func NewSite(domain string) Site {
	return Site{Domain: domain, Timezone: "UTC", IPTruncation: 2, HonorDNT: true, HonorGPC: true,
		RetentionDays: 0}
}

// Validate checks a site before it is saved.
func (s *Site) Validate() error {
	d := strings.ToLower(strings.TrimSpace(s.Domain))
	if d == "" || strings.ContainsAny(d, "/ :?#@") || len(d) > 253 {
		return fmt.Errorf("invalid site domain %q: give a bare host name like example.com", s.Domain)
	}
	s.Domain = d
	if s.Timezone == "" {
		s.Timezone = "UTC"
	}
	if _, err := time.LoadLocation(s.Timezone); err != nil {
		return fmt.Errorf("invalid timezone %q: %w", s.Timezone, err)
	}
	if s.IPTruncation < 1 || s.IPTruncation > 3 {
		return fmt.Errorf("invalid IP truncation level %d: use 1, 2 or 3", s.IPTruncation)
	}
	return nil
}

const siteColumns = `id, domain, timezone, matomo_id, ip_truncation, excluded_ips, excluded_paths,
	keep_params, honor_dnt, honor_gpc, retention_days, created`

func b2u(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// nonNil keeps clickhouse-go from refusing nil slices for Array columns.
func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// SaveSite creates the site when its ID is 0 (allocating one) or replaces it.
// A domain can belong to one live site only.
func (s *Store) SaveSite(ctx context.Context, site *Site) error {
	if err := site.Validate(); err != nil {
		return err
	}
	if other, err := s.SiteByDomain(ctx, site.Domain); err == nil && other.ID != site.ID {
		return fmt.Errorf("a site with domain %s already exists", site.Domain)
	} else if err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if site.MatomoID != 0 {
		if other, err := s.SiteByMatomoID(ctx, site.MatomoID); err == nil && other.ID != site.ID {
			return fmt.Errorf("the Matomo id %d already belongs to %s", site.MatomoID, other.Domain)
		}
	}
	if site.ID == 0 {
		var max uint32
		if err := s.conn.QueryRow(ctx, "SELECT max(id) FROM sites").Scan(&max); err != nil {
			return fmt.Errorf("cannot allocate site id: %w", err)
		}
		site.ID = max + 1
		site.Created = time.Now().UTC().Truncate(time.Second)
	}
	return s.writeSite(ctx, site, false)
}

func (s *Store) writeSite(ctx context.Context, site *Site, deleted bool) error {
	err := s.insertRow(ctx, "INSERT INTO sites ("+siteColumns+", version, deleted)",
		site.ID, site.Domain, site.Timezone, site.MatomoID, site.IPTruncation, nonNil(site.ExcludedIPs),
		nonNil(site.ExcludedPaths), nonNil(site.KeepParams), b2u(site.HonorDNT), b2u(site.HonorGPC),
		site.RetentionDays, site.Created, uint64(time.Now().UnixNano()), b2u(deleted))
	if err != nil {
		return fmt.Errorf("cannot save site %s: %w", site.Domain, err)
	}
	return nil
}

// RemoveSite marks a site deleted; its events stay until retention removes them.
func (s *Store) RemoveSite(ctx context.Context, domain string) error {
	site, err := s.SiteByDomain(ctx, domain)
	if err != nil {
		return err
	}
	return s.writeSite(ctx, &site, true)
}

func (s *Store) querySites(ctx context.Context, where string, args ...any) ([]Site, error) {
	rows, err := s.conn.Query(ctx, "SELECT "+siteColumns+" FROM sites FINAL WHERE deleted = 0"+where+" ORDER BY id", args...)
	if err != nil {
		return nil, fmt.Errorf("cannot query sites: %w", err)
	}
	defer rows.Close()
	var out []Site
	for rows.Next() {
		var v Site
		var dnt, gpc uint8
		if err := rows.Scan(&v.ID, &v.Domain, &v.Timezone, &v.MatomoID, &v.IPTruncation, &v.ExcludedIPs,
			&v.ExcludedPaths, &v.KeepParams, &dnt, &gpc, &v.RetentionDays, &v.Created); err != nil {
			return nil, fmt.Errorf("cannot read site: %w", err)
		}
		v.HonorDNT, v.HonorGPC = dnt == 1, gpc == 1
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read sites: %w", err)
	}
	return out, nil
}

// Sites lists the live sites by id.
func (s *Store) Sites(ctx context.Context) ([]Site, error) { return s.querySites(ctx, "") }

func one(sites []Site, err error, what string) (Site, error) {
	if err != nil {
		return Site{}, err
	}
	if len(sites) == 0 {
		return Site{}, fmt.Errorf("site %s: %w", what, ErrNotFound)
	}
	return sites[0], nil
}

// SiteByDomain finds a live site by its domain.
func (s *Store) SiteByDomain(ctx context.Context, domain string) (Site, error) {
	d := strings.ToLower(strings.TrimSpace(domain))
	sites, err := s.querySites(ctx, " AND domain = ?", d)
	return one(sites, err, d)
}

// SiteByID finds a live site by its id.
func (s *Store) SiteByID(ctx context.Context, id uint32) (Site, error) {
	sites, err := s.querySites(ctx, " AND id = ?", id)
	return one(sites, err, fmt.Sprint(id))
}

// SiteByMatomoID finds a live site by its Matomo idsite.
func (s *Store) SiteByMatomoID(ctx context.Context, id uint32) (Site, error) {
	sites, err := s.querySites(ctx, " AND matomo_id = ?", id)
	return one(sites, err, fmt.Sprintf("with Matomo id %d", id))
}
