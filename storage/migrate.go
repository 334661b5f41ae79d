package storage

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version uint32
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("cannot list migrations: %w", err)
	}
	var out []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil {
			return nil, fmt.Errorf("BUG: migration %q must be named NNNN_name.sql", name)
		}
		body, err := migrationFiles.ReadFile("migrations/" + name)
		if err != nil {
			return nil, fmt.Errorf("cannot read migration %s: %w", name, err)
		}
		out = append(out, migration{version: uint32(v), name: name, sql: string(body)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i := 1; i < len(out); i++ {
		if out[i].version == out[i-1].version {
			return nil, fmt.Errorf("BUG: two migrations numbered %d", out[i].version)
		}
	}
	return out, nil
}

// Migrate applies the embedded migrations that the database has not recorded
// yet, in order, and returns the names of those it applied. Every statement is
// idempotent (IF NOT EXISTS), so a migration interrupted half-way is safe to rerun.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	if err := s.conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version UInt32, name String, applied DateTime
	) ENGINE = MergeTree() ORDER BY version`); err != nil {
		return nil, fmt.Errorf("cannot create schema_migrations: %w", err)
	}
	done := map[uint32]bool{}
	rows, err := s.conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("cannot read schema_migrations: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, fmt.Errorf("cannot read schema_migrations: %w", err)
		}
		done[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cannot read schema_migrations: %w", err)
	}
	all, err := loadMigrations()
	if err != nil {
		return nil, err
	}
	var applied []string
	for _, m := range all {
		if done[m.version] {
			continue
		}
		for _, stmt := range splitStatements(m.sql) {
			if err := s.conn.Exec(ctx, stmt); err != nil {
				return applied, fmt.Errorf("cannot apply migration %s: %w", m.name, err)
			}
		}
		if err := s.insertRow(ctx, "INSERT INTO schema_migrations (version, name, applied)",
			m.version, m.name, time.Now().UTC()); err != nil {
			return applied, fmt.Errorf("cannot record migration %s: %w", m.name, err)
		}
		applied = append(applied, m.name)
	}
	return applied, nil
}
