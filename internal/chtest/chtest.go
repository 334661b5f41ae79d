// Package chtest gives tests a real ClickHouse: one managed server per test
// binary, started through the same code as `shade serve`, and a fresh database
// per test.
package chtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shade-analytics/shade/storage"
)

var (
	once    sync.Once
	server  *storage.Managed
	dir     string
	initErr error
	counter atomic.Int64
)

// Server returns the binary's shared managed server, starting it on first use.
// Without clickhouse-server in PATH the test is skipped, except when CI is set:
// then it fails, so a CI run can never pass by skipping.
func Server(t testing.TB) *storage.Managed {
	t.Helper()
	once.Do(func() {
		if _, err := exec.LookPath("clickhouse-server"); err != nil {
			initErr = storage.ErrNoClickHouse
			return
		}
		dir, initErr = os.MkdirTemp("", "shade-chtest-")
		if initErr != nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		server, initErr = storage.StartManaged(ctx, storage.ManagedConfig{
			DataDir: dir,
			Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
		})
	})
	if initErr != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("ClickHouse is required in CI: %v", initErr)
		}
		t.Skipf("no ClickHouse for this test: %v", initErr)
	}
	return server
}

// Store opens a store on a fresh, migrated database that is dropped when the test ends.
func Store(t testing.TB) *storage.Store {
	t.Helper()
	srv := Server(t)
	db := fmt.Sprintf("t%d_%d", os.Getpid(), counter.Add(1))
	ctx := context.Background()
	st, err := storage.Open(ctx, storage.Config{DSN: srv.DSN(db)})
	if err != nil {
		t.Fatalf("cannot open test database: %v", err)
	}
	if _, err := st.Migrate(ctx); err != nil {
		t.Fatalf("cannot migrate test database: %v", err)
	}
	t.Cleanup(func() {
		_ = st.Conn().Exec(context.Background(), "DROP DATABASE IF EXISTS "+db)
		st.Close()
	})
	return st
}

// Main runs the tests of a package and stops the shared server afterwards.
// Use it from TestMain: os.Exit(chtest.Main(m)).
func Main(m *testing.M) int {
	code := m.Run()
	if server != nil {
		_ = server.Stop(context.Background())
	}
	if dir != "" {
		_ = os.RemoveAll(dir)
	}
	return code
}
