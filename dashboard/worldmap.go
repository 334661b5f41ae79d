package dashboard

import (
	"fmt"
	"math"

	"github.com/shade-analytics/shade/storage"
)

// The world map is an equirectangular projection: longitude maps to x and
// latitude to y linearly, so no shape data is needed. Each country is a
// circle at its approximate centre, sized by its visitors.
const (
	mapWidth  = 360.0
	mapHeight = 180.0
)

// centroids are approximate country centres (latitude, longitude), rounded
// to whole degrees; precise enough to place a circle on a small map.
var centroids = map[string][2]float64{
	"AR": {-34, -64}, "AT": {47, 14}, "AU": {-25, 134}, "BD": {24, 90}, "BE": {51, 4}, "BG": {43, 25},
	"BR": {-10, -52}, "CA": {57, -101}, "CH": {47, 8}, "CL": {-35, -71}, "CN": {35, 103}, "CO": {4, -73},
	"CZ": {50, 15}, "DE": {51, 10}, "DK": {56, 10}, "DZ": {28, 3}, "EG": {27, 30}, "ES": {40, -4},
	"FI": {64, 26}, "FR": {46, 2}, "GB": {54, -2}, "GR": {39, 22}, "HK": {22, 114}, "HR": {45, 16},
	"HU": {47, 19}, "ID": {-2, 118}, "IE": {53, -8}, "IL": {31, 35}, "IN": {22, 79}, "IR": {32, 53},
	"IT": {43, 12}, "JP": {36, 138}, "KE": {0, 38}, "KR": {36, 128}, "MA": {32, -6}, "MX": {23, -102},
	"MY": {4, 102}, "NG": {9, 8}, "NL": {52, 5}, "NO": {62, 10}, "NZ": {-41, 174}, "PE": {-10, -76},
	"PH": {12, 122}, "PK": {30, 70}, "PL": {52, 19}, "PT": {40, -8}, "RO": {46, 25}, "RS": {44, 21},
	"RU": {60, 90}, "SA": {24, 45}, "SE": {62, 15}, "SG": {1, 104}, "SK": {49, 19}, "TH": {15, 101},
	"TR": {39, 35}, "TW": {24, 121}, "UA": {49, 32}, "US": {39, -98}, "VE": {7, -66}, "VN": {16, 107},
	"ZA": {-29, 24}, "AE": {24, 54}, "EE": {59, 26}, "LV": {57, 25}, "LT": {55, 24}, "IS": {65, -18},
	"LU": {50, 6}, "SI": {46, 15}, "BY": {53, 28}, "KZ": {48, 67}, "ET": {9, 39}, "GH": {8, -1},
	"TN": {34, 9}, "EC": {-2, -78}, "UY": {-33, -56}, "CR": {10, -84}, "DO": {19, -70}, "CU": {22, -79},
}

type mapDot struct {
	X, Y, R float64
	Title   string
}

func mapDots(rows []storage.Row) []mapDot {
	var top float64
	for _, r := range rows {
		top = math.Max(top, float64(r.Visitors))
	}
	var out []mapDot
	for _, r := range rows {
		c, ok := centroids[r.Value]
		if !ok || top == 0 {
			continue
		}
		out = append(out, mapDot{
			X:     math.Round((c[1]+180)/360*mapWidth*10) / 10,
			Y:     math.Round((90-c[0])/180*mapHeight*10) / 10,
			R:     math.Round((2+10*math.Sqrt(float64(r.Visitors)/top))*10) / 10,
			Title: fmt.Sprintf("%s: %d visitors", r.Value, r.Visitors),
		})
	}
	return out
}
