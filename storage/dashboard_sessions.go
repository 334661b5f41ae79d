package storage

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"time"
)

// AuthSession is a signed-in dashboard session. Only the SHA-256 of its
// cookie secret is stored, so a read of the table signs no one in.
type AuthSession struct {
	Hash    string
	Email   string
	CSRF    string // per-session token every form posts back
	Expires time.Time
}

func randomSecret(n int) (string, error) {
	raw := make([]byte, n)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("cannot read random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// CreateAuthSession starts a session for a user and returns its cookie secret.
func (s *Store) CreateAuthSession(ctx context.Context, email string, ttl time.Duration) (string, AuthSession, error) {
	secret, err := randomSecret(32)
	if err != nil {
		return "", AuthSession{}, err
	}
	csrf, err := randomSecret(32)
	if err != nil {
		return "", AuthSession{}, err
	}
	a := AuthSession{Hash: HashToken(secret), Email: email, CSRF: csrf,
		Expires: time.Now().UTC().Add(ttl).Truncate(time.Second)}
	if err := s.writeAuthSession(ctx, &a, false); err != nil {
		return "", AuthSession{}, err
	}
	return secret, a, nil
}

func (s *Store) writeAuthSession(ctx context.Context, a *AuthSession, deleted bool) error {
	if err := s.insertRow(ctx, "INSERT INTO dashboard_sessions (id_hash, email, csrf, expires, version, deleted)",
		a.Hash, a.Email, a.CSRF, a.Expires, uint64(time.Now().UnixNano()), b2u(deleted)); err != nil {
		return fmt.Errorf("cannot save dashboard session: %w", err)
	}
	return nil
}

// AuthSessionBySecret finds a live, unexpired session by its cookie secret.
func (s *Store) AuthSessionBySecret(ctx context.Context, secret string) (AuthSession, error) {
	var a AuthSession
	err := s.conn.QueryRow(ctx, "SELECT id_hash, email, csrf, expires FROM dashboard_sessions FINAL WHERE id_hash = ? AND deleted = 0 AND expires > ?",
		HashToken(secret), time.Now().UTC()).Scan(&a.Hash, &a.Email, &a.CSRF, &a.Expires)
	if err != nil {
		if isNoRows(err) {
			return AuthSession{}, fmt.Errorf("dashboard session: %w", ErrNotFound)
		}
		return AuthSession{}, fmt.Errorf("cannot query dashboard session: %w", err)
	}
	return a, nil
}

// EndAuthSession signs a session out.
func (s *Store) EndAuthSession(ctx context.Context, a AuthSession) error {
	return s.writeAuthSession(ctx, &a, true)
}

// SharedLink is a read-only dashboard of one site for people without an
// account. Only the SHA-256 of its secret is stored.
type SharedLink struct {
	Hash         string
	SiteID       uint32
	Name         string
	PasswordHash string // argon2id; empty when the link needs no password
	Created      time.Time
}

// AddSharedLink creates a link and returns its secret, which is not stored.
func (s *Store) AddSharedLink(ctx context.Context, siteID uint32, name, password string) (string, error) {
	secret, err := randomSecret(24)
	if err != nil {
		return "", err
	}
	l := SharedLink{Hash: HashToken(secret), SiteID: siteID, Name: name, Created: time.Now().UTC().Truncate(time.Second)}
	if password != "" {
		if l.PasswordHash, err = HashPassword(password); err != nil {
			return "", err
		}
	}
	if err := s.writeSharedLink(ctx, &l, false); err != nil {
		return "", err
	}
	return secret, nil
}

func (s *Store) writeSharedLink(ctx context.Context, l *SharedLink, deleted bool) error {
	if err := s.insertRow(ctx, "INSERT INTO shared_links (id_hash, site_id, name, password_hash, created, version, deleted)",
		l.Hash, l.SiteID, l.Name, l.PasswordHash, l.Created, uint64(time.Now().UnixNano()), b2u(deleted)); err != nil {
		return fmt.Errorf("cannot save shared link: %w", err)
	}
	return nil
}

func (s *Store) querySharedLinks(ctx context.Context, where string, args ...any) ([]SharedLink, error) {
	rows, err := s.conn.Query(ctx, "SELECT id_hash, site_id, name, password_hash, created FROM shared_links FINAL WHERE deleted = 0"+where+" ORDER BY created", args...)
	if err != nil {
		return nil, fmt.Errorf("cannot query shared links: %w", err)
	}
	defer rows.Close()
	var out []SharedLink
	for rows.Next() {
		var l SharedLink
		if err := rows.Scan(&l.Hash, &l.SiteID, &l.Name, &l.PasswordHash, &l.Created); err != nil {
			return nil, fmt.Errorf("cannot read shared link: %w", err)
		}
		out = append(out, l)
	}
	return out, rows.Err()
}

// SharedLinkBySecret finds a live link by the secret in its URL.
func (s *Store) SharedLinkBySecret(ctx context.Context, secret string) (SharedLink, error) {
	links, err := s.querySharedLinks(ctx, " AND id_hash = ?", HashToken(secret))
	if err != nil {
		return SharedLink{}, err
	}
	if len(links) == 0 {
		return SharedLink{}, fmt.Errorf("shared link: %w", ErrNotFound)
	}
	return links[0], nil
}

// SharedLinks lists a site's links.
func (s *Store) SharedLinks(ctx context.Context, siteID uint32) ([]SharedLink, error) {
	return s.querySharedLinks(ctx, " AND site_id = ?", siteID)
}

// RemoveSharedLink deletes a site's link by its stored hash.
func (s *Store) RemoveSharedLink(ctx context.Context, siteID uint32, hash string) error {
	links, err := s.querySharedLinks(ctx, " AND site_id = ? AND id_hash = ?", siteID, hash)
	if err != nil {
		return err
	}
	if len(links) == 0 {
		return fmt.Errorf("shared link: %w", ErrNotFound)
	}
	return s.writeSharedLink(ctx, &links[0], true)
}

func isNoRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }
