// Package trackerjs embeds the tracking snippet shade.js and the opt-out
// checkbox script shade-optout.js, and builds, once per process, the minified
// and compressed bodies the collector serves for them.
package trackerjs

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"crypto/sha512"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"sync"

	"github.com/andybalholm/brotli"
	"github.com/evanw/esbuild/pkg/api"
)

// source holds the readable scripts; they are minified at first use so the
// repository keeps only code written for it and the build needs no Node.
//
//go:embed src/shade.js src/optout.js
var source embed.FS

// ContentType is the Content-Type to serve both scripts with. The charset
// matters: the opt-out texts are UTF-8, and without it a browser decodes a
// script in the including page's encoding.
const ContentType = "text/javascript; charset=utf-8"

// Asset is a minified script in the encodings the collector serves.
type Asset struct {
	Raw    []byte // minified JavaScript
	Gzip   []byte // Raw compressed with gzip at best compression
	Brotli []byte // Raw compressed with brotli at best compression

	// ETag is a strong entity tag (quoted) for Raw; the compressed bodies
	// are representations of the same content, so the collector serves them
	// with this tag plus "Vary: Accept-Encoding".
	ETag string
	// Hash is the first 12 hex characters of Raw's SHA-256, for a versioned,
	// immutable URL such as /shade.js?v=Hash.
	Hash string
	// Integrity is the Subresource Integrity value ("sha384-...") of Raw.
	Integrity string
}

// lazyAsset builds one embedded script at first use.
type lazyAsset struct {
	path  string
	once  sync.Once
	asset *Asset
	err   error
}

func (l *lazyAsset) load() (*Asset, error) {
	l.once.Do(func() { l.asset, l.err = build(l.path) })
	return l.asset, l.err
}

var (
	snippet = lazyAsset{path: "src/shade.js"}
	optOut  = lazyAsset{path: "src/optout.js"}
)

// Load returns the tracking snippet, served at /shade.js, building it on the
// first call. An error means the embedded source does not compile, which is
// a bug in this package.
func Load() (*Asset, error) { return snippet.load() }

// LoadOptOut returns the opt-out checkbox script, served at
// /shade-optout.js, which site owners include on the page that holds
// <div data-shade-optout></div>. Errors as for Load.
func LoadOptOut() (*Asset, error) { return optOut.load() }

func build(path string) (*Asset, error) {
	src, err := source.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read embedded %s: %w", path, err)
	}
	raw, err := minify(src)
	if err != nil {
		return nil, fmt.Errorf("cannot build %s: %w", path, err)
	}
	gz, err := gzipBytes(raw)
	if err != nil {
		return nil, err
	}
	br, err := brotliBytes(raw)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(raw)
	sri := sha512.Sum384(raw)
	return &Asset{
		Raw:       raw,
		Gzip:      gz,
		Brotli:    br,
		ETag:      `"` + hex.EncodeToString(sum[:16]) + `"`,
		Hash:      hex.EncodeToString(sum[:6]),
		Integrity: "sha384-" + base64.StdEncoding.EncodeToString(sri[:]),
	}, nil
}

// minify runs esbuild on a script. ES2017 is the oldest syntax the scripts'
// browsers (those with sendBeacon, fetch keepalive and URL) need; UTF-8
// output keeps the opt-out texts short (see ContentType).
func minify(src []byte) ([]byte, error) {
	res := api.Transform(string(src), api.TransformOptions{
		Loader:            api.LoaderJS,
		Target:            api.ES2017,
		MinifyWhitespace:  true,
		MinifyIdentifiers: true,
		MinifySyntax:      true,
		Charset:           api.CharsetUTF8,
		LegalComments:     api.LegalCommentsNone,
		LogLevel:          api.LogLevelSilent,
	})
	if len(res.Errors) > 0 {
		errs := make([]error, 0, len(res.Errors))
		for _, m := range res.Errors {
			if m.Location != nil {
				errs = append(errs, fmt.Errorf("%s:%d:%d: %s", m.Location.File, m.Location.Line, m.Location.Column, m.Text))
			} else {
				errs = append(errs, errors.New(m.Text))
			}
		}
		return nil, fmt.Errorf("cannot minify: %w", errors.Join(errs...))
	}
	return bytes.TrimSpace(res.Code), nil
}

func gzipBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("cannot create gzip writer: %w", err)
	}
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("cannot gzip script: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("cannot gzip script: %w", err)
	}
	return buf.Bytes(), nil
}

func brotliBytes(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	bw := brotli.NewWriterLevel(&buf, brotli.BestCompression)
	if _, err := bw.Write(b); err != nil {
		return nil, fmt.Errorf("cannot brotli-compress script: %w", err)
	}
	if err := bw.Close(); err != nil {
		return nil, fmt.Errorf("cannot brotli-compress script: %w", err)
	}
	return buf.Bytes(), nil
}
