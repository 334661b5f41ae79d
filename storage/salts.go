package storage

import (
	"context"
	"crypto/rand"
	"fmt"
	"time"
)

// SaltLength is the size of a daily salt in bytes.
const SaltLength = 32

// SaltRetention is how long a salt is kept after its day began. Once it is
// gone, no stored visitor hash can be linked to an IP and User-Agent again.
const SaltRetention = 48 * time.Hour

func utcDay(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Salt returns the salt of the UTC day containing t, creating it when no
// collector has yet. Concurrent collectors converge on the earliest salt
// written for the day, so all of them hash visitors alike.
func (s *Store) Salt(ctx context.Context, t time.Time) ([]byte, error) {
	day := utcDay(t)
	salt, err := s.readSalt(ctx, day)
	if err != nil || salt != nil {
		return salt, err
	}
	fresh := make([]byte, SaltLength)
	if _, err := rand.Read(fresh); err != nil {
		return nil, fmt.Errorf("cannot read random salt: %w", err)
	}
	if err := s.insertRow(ctx, "INSERT INTO salts (day, salt, created)",
		day, string(fresh), time.Now().UTC()); err != nil {
		return nil, fmt.Errorf("cannot save salt: %w", err)
	}
	salt, err = s.readSalt(ctx, day)
	if err == nil && salt == nil {
		err = fmt.Errorf("cannot read back the salt of %s", day.Format(time.DateOnly))
	}
	return salt, err
}

func (s *Store) readSalt(ctx context.Context, day time.Time) ([]byte, error) {
	rows, err := s.conn.Query(ctx, "SELECT salt FROM salts WHERE day = toDate(?) ORDER BY created, salt LIMIT 1", day.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("cannot read salt: %w", err)
	}
	defer rows.Close()
	if !rows.Next() {
		return nil, rows.Err()
	}
	var salt string
	if err := rows.Scan(&salt); err != nil {
		return nil, fmt.Errorf("cannot read salt: %w", err)
	}
	return []byte(salt), nil
}

// DeleteExpiredSalts drops the salts of every day that began SaltRetention or
// more before now. Each day is its own partition, so the drop is immediate and
// final rather than an asynchronous mutation.
func (s *Store) DeleteExpiredSalts(ctx context.Context, now time.Time) (int, error) {
	rows, err := s.conn.Query(ctx, `SELECT DISTINCT partition FROM system.parts
		WHERE database = ? AND table = 'salts' AND active`, s.database)
	if err != nil {
		return 0, fmt.Errorf("cannot list salt partitions: %w", err)
	}
	var days []time.Time
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			rows.Close()
			return 0, fmt.Errorf("cannot read salt partition: %w", err)
		}
		day, err := time.Parse(time.DateOnly, p)
		if err != nil {
			rows.Close()
			return 0, fmt.Errorf("unexpected salt partition %q: %w", p, err)
		}
		if !day.Add(SaltRetention).After(now) {
			days = append(days, day)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, fmt.Errorf("cannot list salt partitions: %w", err)
	}
	for _, day := range days {
		// The partition literal is a date we formatted ourselves.
		if err := s.conn.Exec(ctx, "ALTER TABLE salts DROP PARTITION '"+day.Format(time.DateOnly)+"'"); err != nil {
			return 0, fmt.Errorf("cannot drop salts of %s: %w", day.Format(time.DateOnly), err)
		}
	}
	return len(days), nil
}
