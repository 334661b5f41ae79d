// Package geotest builds small, real MaxMind DB files so geo tests run
// against the same file format production uses instead of a mock.
package geotest

import (
	"net"
	"os"
	"strings"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Write creates a GeoIP2-format database of type dbType at path that maps each
// CIDR in nets (IPv4 or IPv6) to an ISO country code, failing tb on any error.
//
// City editions ("GeoLite2-City", "GeoIP2-City", …) also get a city.names.en
// so the record has the shape of a real City database, not just a Country one.
func Write(tb testing.TB, path string, dbType string, nets map[string]string) {
	tb.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: dbType,
		Languages:    []string{"en"},
		Description:  map[string]string{"en": "Shade test database"},
		RecordSize:   24,
		// Documentation ranges such as 2001:db8::/32 are reserved, and tests
		// use them precisely because they are never real addresses.
		IncludeReservedNetworks: true,
	})
	if err != nil {
		tb.Fatalf("cannot create mmdb tree: %v", err)
	}
	isCity := strings.Contains(dbType, "City")
	for cidr, iso := range nets {
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			tb.Fatalf("cannot parse CIDR %q: %v", cidr, err)
		}
		record := mmdbtype.Map{
			"country": mmdbtype.Map{
				"iso_code": mmdbtype.String(iso),
				"names":    mmdbtype.Map{"en": mmdbtype.String("Country " + iso)},
			},
		}
		if isCity {
			record["city"] = mmdbtype.Map{
				"names": mmdbtype.Map{"en": mmdbtype.String("City in " + iso)},
			}
		}
		if err := tree.Insert(network, record); err != nil {
			tb.Fatalf("cannot insert %q: %v", cidr, err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		tb.Fatalf("cannot create %q: %v", path, err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		_ = f.Close()
		tb.Fatalf("cannot write %q: %v", path, err)
	}
	if err := f.Close(); err != nil {
		tb.Fatalf("cannot close %q: %v", path, err)
	}
}
