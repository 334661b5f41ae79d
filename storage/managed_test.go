package storage_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/shade-analytics/shade/storage"
)

// A missing clickhouse-server is a clear error that says how to install it.
func TestManagedWithoutBinary(t *testing.T) {
	_, err := storage.StartManaged(context.Background(), storage.ManagedConfig{
		DataDir: t.TempDir(), Binary: "clickhouse-server-that-does-not-exist",
	})
	if !errors.Is(err, storage.ErrNoClickHouse) || !strings.Contains(err.Error(), "apt-get install -y clickhouse-server") {
		t.Fatalf("got %v, want ErrNoClickHouse with the install command", err)
	}
}
