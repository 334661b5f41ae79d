// Package storage owns everything Shade keeps in ClickHouse: the connection,
// the embedded migrations, the managed local server, batch inserts, report
// queries and the metadata of sites, users, tokens and salts.
package storage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Config says which ClickHouse to use.
type Config struct {
	// DSN is a clickhouse-go DSN, for example clickhouse://user:pass@host:9000/shade.
	DSN string
	// DialTimeout bounds connecting and the first ping.
	DialTimeout time.Duration
}

// Validate reports a clear error for a configuration that cannot work.
func (c *Config) Validate() error {
	if c.DSN == "" {
		return errors.New("storage: a ClickHouse DSN is required")
	}
	if _, err := clickhouse.ParseDSN(c.DSN); err != nil {
		return fmt.Errorf("cannot parse ClickHouse DSN: %w", err)
	}
	return nil
}

// Store is a connection to Shade's ClickHouse database.
type Store struct {
	conn     driver.Conn
	database string
}

var databaseName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Open connects to ClickHouse, creating the DSN's database when it is missing.
// It does not apply migrations: call Migrate.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts, err := clickhouse.ParseDSN(cfg.DSN)
	if err != nil {
		return nil, fmt.Errorf("cannot parse ClickHouse DSN: %w", err)
	}
	if opts.Auth.Database == "" {
		opts.Auth.Database = "shade"
	}
	db := opts.Auth.Database
	if !databaseName.MatchString(db) {
		return nil, fmt.Errorf("storage: database name %q must be letters, digits and underscores", db)
	}
	if cfg.DialTimeout > 0 {
		opts.DialTimeout = cfg.DialTimeout
	}
	// Create the database through a connection to "default" first: a
	// connection naming a missing database fails on its handshake.
	boot := *opts
	boot.Auth.Database = "default"
	bc, err := clickhouse.Open(&boot)
	if err != nil {
		return nil, fmt.Errorf("cannot open ClickHouse connection: %w", err)
	}
	err = bc.Exec(ctx, "CREATE DATABASE IF NOT EXISTS "+db)
	bc.Close()
	if err != nil {
		return nil, fmt.Errorf("cannot create database %s: %w", db, err)
	}
	conn, err := clickhouse.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("cannot open ClickHouse connection: %w", err)
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("cannot reach ClickHouse: %w", err)
	}
	return &Store{conn: conn, database: db}, nil
}

// DSN builds a DSN for a server on addr (host:port of the native protocol) and a database.
func DSN(addr, database string) string {
	u := url.URL{Scheme: "clickhouse", Host: addr, Path: "/" + database}
	return u.String()
}

// Close closes the connection pool.
func (s *Store) Close() error { return s.conn.Close() }

// Database is the name of the database this store writes to.
func (s *Store) Database() string { return s.database }

// Conn exposes the connection for report queries in this package's callers' tests.
func (s *Store) Conn() driver.Conn { return s.conn }

// Ping checks that ClickHouse answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.conn.Ping(ctx); err != nil {
		return fmt.Errorf("cannot ping ClickHouse: %w", err)
	}
	return nil
}

// ServerVersion returns the server's version as major.minor.
func (s *Store) ServerVersion() (major, minor uint64, err error) {
	v, err := s.conn.ServerVersion()
	if err != nil {
		return 0, 0, fmt.Errorf("cannot read ClickHouse version: %w", err)
	}
	return v.Version.Major, v.Version.Minor, nil
}

// splitStatements splits a migration file into statements at semicolons that
// end a line; ClickHouse runs one statement per query.
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		trimmed := strings.TrimSpace(line)
		if strings.HasPrefix(trimmed, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(trimmed, ";") {
			stmt := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";")
			if stmt != "" {
				out = append(out, stmt)
			}
			cur.Reset()
		}
	}
	if stmt := strings.TrimSpace(cur.String()); stmt != "" {
		out = append(out, stmt)
	}
	return out
}

// insertRow writes one row. ClickHouse 18.16 never answers an INSERT with
// inline VALUES sent by clickhouse-go's Exec, so every insert goes through a
// batch, which works on every server version. query lists the columns and has
// no VALUES clause.
func (s *Store) insertRow(ctx context.Context, query string, args ...any) error {
	batch, err := s.conn.PrepareBatch(ctx, query)
	if err != nil {
		return err
	}
	if err := batch.Append(args...); err != nil {
		_ = batch.Abort()
		return err
	}
	return batch.Send()
}
