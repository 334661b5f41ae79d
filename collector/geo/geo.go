// Package geo maps a client IP to its country with a local MaxMind or DB-IP
// database, so the collector can keep the country and drop the address.
//
// Only the country's ISO code is decoded: the collector needs nothing else,
// and decoding the whole City record would cost allocations on every event.
package geo

import (
	"fmt"
	"net/netip"

	"github.com/oschwald/maxminddb-golang/v2"
)

// supportedTypes lists the database_type values whose records carry
// country.iso_code in the GeoIP2 layout; other types (ASN, ISP, …) would open
// fine but answer every lookup with nothing, which is worse than an error.
var supportedTypes = map[string]bool{
	"GeoLite2-Country":            true,
	"GeoLite2-City":               true,
	"GeoIP2-Country":              true,
	"GeoIP2-City":                 true,
	"GeoIP2-City-Africa":          true,
	"GeoIP2-City-Asia-Pacific":    true,
	"GeoIP2-City-Europe":          true,
	"GeoIP2-City-North-America":   true,
	"GeoIP2-City-South-America":   true,
	"GeoIP2-Precision-City":       true,
	"GeoIP-City-Redacted-US":      true,
	"DBIP-Country-Lite":           true,
	"DBIP-City-Lite":              true,
	"DBIP-Country":                true,
	"DBIP-Location (compat=City)": true,
}

// DB answers country lookups from one opened database file; it is safe for
// concurrent use because the underlying reader is read-only after Open.
type DB struct {
	r *maxminddb.Reader
}

// countryRecord is the only part of a record Shade decodes, so a lookup
// touches two map keys instead of the whole City structure.
type countryRecord struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
}

// Open opens a MaxMind GeoLite2/GeoIP2 or DB-IP Lite database, Country or City edition; any other database type is a clear error.
func Open(path string) (*DB, error) {
	r, err := maxminddb.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot open geo database %q: %w", path, err)
	}
	if t := r.Metadata.DatabaseType; !supportedTypes[t] {
		_ = r.Close()
		return nil, fmt.Errorf("cannot use geo database %q: type %q is not a Country or City edition", path, t)
	}
	return &DB{r: r}, nil
}

// Country returns the ISO 3166-1 alpha-2 code for ip, or "" when unknown; a nil *DB returns "".
//
// A nil DB is allowed so the collector can run without a database configured
// and call Country unconditionally.
func (d *DB) Country(ip netip.Addr) string {
	if d == nil || d.r == nil || !ip.IsValid() {
		return ""
	}
	// Unmap so ::ffff:a.b.c.d finds the IPv4 record even in an IPv4-only
	// file or one written without IPv4 aliasing.
	var rec countryRecord
	if err := d.r.Lookup(ip.Unmap()).Decode(&rec); err != nil {
		// A corrupt record or an IPv6 address in an IPv4-only file means
		// "unknown" to the caller; the event is still worth keeping.
		return ""
	}
	code := rec.Country.ISOCode
	// Anything but two ASCII capitals would be a broken database, and the
	// value ends up in a fixed-width column.
	if len(code) != 2 || !isUpper(code[0]) || !isUpper(code[1]) {
		return ""
	}
	return code
}

// Close releases the database's memory map; Country must not be called after
// or during Close.
func (d *DB) Close() error {
	if d == nil || d.r == nil {
		return nil
	}
	if err := d.r.Close(); err != nil {
		return fmt.Errorf("cannot close geo database: %w", err)
	}
	return nil
}

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }
