package geo_test

import (
	"github.com/shade-analytics/shade/collector/geo"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	geoip2 "github.com/oschwald/geoip2-golang/v2"

	"github.com/shade-analytics/shade/collector/geo/geotest"
)

var testNets = map[string]string{
	"81.2.69.0/24":   "GB",
	"2.125.160.0/19": "FR",
	"2001:db8::/32":  "DE",
	"2a02:8000::/20": "SE",
}

func writeDB(t testing.TB, dbType string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), dbType+".mmdb")
	geotest.Write(t, path, dbType, testNets)
	return path
}

func TestCountry(t *testing.T) {
	for _, dbType := range []string{"GeoLite2-Country", "GeoLite2-City", "GeoIP2-City", "DBIP-Country-Lite"} {
		t.Run(dbType, func(t *testing.T) {
			db, err := geo.Open(writeDB(t, dbType))
			if err != nil {
				t.Fatalf("cannot open: %v", err)
			}
			defer db.Close()
			tests := []struct {
				ip   string
				want string
			}{
				{"81.2.69.142", "GB"},
				{"81.2.69.0", "GB"},
				{"81.2.70.1", ""},
				{"2.125.160.216", "FR"},
				{"2001:db8::1", "DE"},
				{"2001:db8:ffff::1", "DE"},
				{"2a02:8000::1", "SE"},
				{"2001:db9::1", ""},
				{"::ffff:81.2.69.142", "GB"},
				{"::ffff:8.8.8.8", ""},
				{"8.8.8.8", ""},
				{"127.0.0.1", ""},
				{"::1", ""},
			}
			for _, tt := range tests {
				got := db.Country(netip.MustParseAddr(tt.ip))
				if got != tt.want {
					t.Errorf("Country(%s): got %q, want %q", tt.ip, got, tt.want)
				}
			}
			if got := db.Country(netip.Addr{}); got != "" {
				t.Errorf("Country(zero Addr): got %q, want \"\"", got)
			}
		})
	}
}

func TestOpenErrors(t *testing.T) {
	tests := []struct {
		name    string
		path    func(t *testing.T) string
		wantErr string
	}{
		{"missing file", func(t *testing.T) string { return filepath.Join(t.TempDir(), "nope.mmdb") }, "cannot open geo database"},
		{"ASN database", func(t *testing.T) string { return writeDB(t, "GeoLite2-ASN") }, `type "GeoLite2-ASN" is not a Country or City edition`},
		{"custom database", func(t *testing.T) string { return writeDB(t, "Shade-Test") }, `type "Shade-Test"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db, err := geo.Open(tt.path(t))
			if err == nil {
				db.Close()
				t.Fatalf("got nil error, want one containing %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("got error %q, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}

func TestNilDB(t *testing.T) {
	var db *geo.DB
	if got := db.Country(netip.MustParseAddr("81.2.69.142")); got != "" {
		t.Errorf("nil DB Country: got %q, want \"\"", got)
	}
	if err := db.Close(); err != nil {
		t.Errorf("nil DB Close: got %v, want nil", err)
	}
}

func TestConcurrentCountry(t *testing.T) {
	db, err := geo.Open(writeDB(t, "GeoLite2-City"))
	if err != nil {
		t.Fatalf("cannot open: %v", err)
	}
	defer db.Close()
	ip := netip.MustParseAddr("81.2.69.142")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if got := db.Country(ip); got != "GB" {
					t.Errorf("got %q, want GB", got)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkCountry(b *testing.B) {
	db, err := geo.Open(writeDB(b, "GeoLite2-City"))
	if err != nil {
		b.Fatalf("cannot open: %v", err)
	}
	defer db.Close()
	ip := netip.MustParseAddr("81.2.69.142")
	b.ReportAllocs()
	for b.Loop() {
		if db.Country(ip) != "GB" {
			b.Fatal("wrong country")
		}
	}
}

// BenchmarkGeoIP2Country measures the library's full Country decode, kept so
// the choice of decoding only iso_code stays justified by numbers.
func BenchmarkGeoIP2Country(b *testing.B) {
	r, err := geoip2.Open(writeDB(b, "GeoLite2-City"))
	if err != nil {
		b.Fatalf("cannot open: %v", err)
	}
	defer r.Close()
	ip := netip.MustParseAddr("81.2.69.142")
	b.ReportAllocs()
	for b.Loop() {
		c, err := r.Country(ip)
		if err != nil || c.Country.ISOCode != "GB" {
			b.Fatal("wrong country")
		}
	}
}
