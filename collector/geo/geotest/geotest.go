// Package geotest builds small, real MaxMind DB files so geo tests run
// against the same file format production uses instead of a mock.
package geotest

import (
	"testing"

	"github.com/shade-analytics/shade/collector/geo"
)

// Write creates a GeoIP2-format database of type dbType at path that maps each
// CIDR in nets (IPv4 or IPv6) to an ISO country code, failing tb on any error.
func Write(tb testing.TB, path string, dbType string, nets map[string]string) {
	tb.Helper()
	if err := geo.Build(path, dbType, nets); err != nil {
		tb.Fatal(err)
	}
}
