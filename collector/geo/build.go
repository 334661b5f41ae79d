package geo

import (
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Build writes a GeoIP2-format database of type dbType at path that maps each
// CIDR in nets (IPv4 or IPv6) to an ISO country code. Tests and `shade demo`
// use it; real deployments download GeoLite2 or DB-IP Lite instead.
// City editions ("GeoLite2-City", …) also get a city.names.en, so the record
// has the shape of a real City database.
func Build(path, dbType string, nets map[string]string) error {
	tree, err := mmdbwriter.New(mmdbwriter.Options{
		DatabaseType: dbType,
		Languages:    []string{"en"},
		Description:  map[string]string{"en": "Shade synthetic database"},
		RecordSize:   24,
		// Documentation and benchmark ranges are reserved; synthetic data
		// uses them precisely because they are never real visitors.
		IncludeReservedNetworks: true,
	})
	if err != nil {
		return fmt.Errorf("cannot create mmdb tree: %w", err)
	}
	isCity := strings.Contains(dbType, "City")
	for cidr, iso := range nets {
		_, network, err := net.ParseCIDR(cidr)
		if err != nil {
			return fmt.Errorf("cannot parse CIDR %q: %w", cidr, err)
		}
		record := mmdbtype.Map{
			"country": mmdbtype.Map{
				"iso_code": mmdbtype.String(iso),
				"names":    mmdbtype.Map{"en": mmdbtype.String("Country " + iso)},
			},
		}
		if isCity {
			record["city"] = mmdbtype.Map{"names": mmdbtype.Map{"en": mmdbtype.String("City in " + iso)}}
		}
		if err := tree.Insert(network, record); err != nil {
			return fmt.Errorf("cannot insert %q: %w", cidr, err)
		}
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("cannot create %s: %w", path, err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		_ = f.Close()
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("cannot write %s: %w", path, err)
	}
	return nil
}
