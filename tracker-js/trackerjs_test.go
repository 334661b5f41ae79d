package trackerjs

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/andybalholm/brotli"
)

// budget is the snippet's size limit from DESIGN.md, gzipped as served.
const budget = 1024

// assets lists every script the package serves.
var assets = []struct {
	name string
	load func() (*Asset, error)
}{
	{"shade.js", Load},
	{"shade-optout.js", LoadOptOut},
}

func TestSnippetGzipBudget(t *testing.T) {
	a := mustLoad(t, Load)
	t.Logf("shade.js: %d bytes minified, %d gzip, %d brotli (budget %d gzip)", len(a.Raw), len(a.Gzip), len(a.Brotli), budget)
	if len(a.Gzip) > budget {
		t.Errorf("shade.js: got %d bytes gzipped, want at most %d", len(a.Gzip), budget)
	}
}

// The opt-out script loads only on the page showing the checkbox; it gets the
// same ceiling so it cannot grow unnoticed.
func TestOptOutGzipBudget(t *testing.T) {
	a := mustLoad(t, LoadOptOut)
	t.Logf("shade-optout.js: %d bytes minified, %d gzip, %d brotli", len(a.Raw), len(a.Gzip), len(a.Brotli))
	if len(a.Gzip) > budget {
		t.Errorf("shade-optout.js: got %d bytes gzipped, want at most %d", len(a.Gzip), budget)
	}
}

func TestEncodingsDecompressToRaw(t *testing.T) {
	for _, tc := range assets {
		t.Run(tc.name, func(t *testing.T) {
			a := mustLoad(t, tc.load)
			zr, err := gzip.NewReader(bytes.NewReader(a.Gzip))
			if err != nil {
				t.Fatalf("gzip.NewReader: %v", err)
			}
			check := func(encoding string, r io.Reader) {
				t.Helper()
				got, err := io.ReadAll(r)
				if err != nil {
					t.Fatalf("%s: cannot decompress: %v", encoding, err)
				}
				if !bytes.Equal(got, a.Raw) {
					t.Errorf("%s: got %d decompressed bytes that differ from Raw (%d bytes)", encoding, len(got), len(a.Raw))
				}
			}
			check("gzip", zr)
			check("brotli", brotli.NewReader(bytes.NewReader(a.Brotli)))
		})
	}
}

func TestIdentifiers(t *testing.T) {
	etag := regexp.MustCompile(`^"[0-9a-f]{32}"$`)
	for _, tc := range assets {
		t.Run(tc.name, func(t *testing.T) {
			a := mustLoad(t, tc.load)
			sum := sha256.Sum256(a.Raw)
			if want := hex.EncodeToString(sum[:])[:12]; a.Hash != want {
				t.Errorf("Hash: got %q, want %q", a.Hash, want)
			}
			if !etag.MatchString(a.ETag) {
				t.Errorf("ETag: got %q, want a quoted strong tag of 32 hex digits", a.ETag)
			}
			if !strings.HasPrefix(a.ETag, `"`+a.Hash) {
				t.Errorf("ETag %q and Hash %q come from different content", a.ETag, a.Hash)
			}
			sri := sha512.Sum384(a.Raw)
			if want := "sha384-" + base64.StdEncoding.EncodeToString(sri[:]); a.Integrity != want {
				t.Errorf("Integrity: got %q, want %q", a.Integrity, want)
			}
		})
	}
	s, o := mustLoad(t, Load), mustLoad(t, LoadOptOut)
	if s.Hash == o.Hash {
		t.Errorf("shade.js and shade-optout.js share Hash %q", s.Hash)
	}
}

func TestLoadIsCached(t *testing.T) {
	for _, tc := range assets {
		if a, b := mustLoad(t, tc.load), mustLoad(t, tc.load); a != b {
			t.Errorf("%s: built twice, want one cached *Asset", tc.name)
		}
	}
}

func TestMinified(t *testing.T) {
	for path, load := range map[string]func() (*Asset, error){"src/shade.js": Load, "src/optout.js": LoadOptOut} {
		a := mustLoad(t, load)
		src, err := source.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if len(a.Raw)*2 > len(src) {
			t.Errorf("%s: got %d minified bytes from %d, want less than half", path, len(a.Raw), len(src))
		}
		if bytes.ContainsAny(a.Raw, "\n") {
			t.Errorf("%s: minified output still has line breaks", path)
		}
	}
}

func TestMinifyReportsSyntaxErrors(t *testing.T) {
	_, err := minify([]byte("(() => { let = ; })()"))
	if err == nil {
		t.Fatal("minify accepted broken JavaScript, want an error")
	}
	if !strings.Contains(err.Error(), "cannot minify") {
		t.Errorf("got error %q, want it to say what failed", err)
	}
}

func mustLoad(t *testing.T, load func() (*Asset, error)) *Asset {
	t.Helper()
	a, err := load()
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return a
}
