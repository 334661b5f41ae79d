package dashboard

import (
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strings"
)

//go:embed static/*
var staticFS embed.FS

//go:embed templates/*.html
var templateFS embed.FS

//go:embed openapi.yaml
var openAPISpec []byte

// staticFiles are the embedded CSS and JS, served under URLs that carry a
// hash of their content so browsers may cache them forever.
type staticFiles struct {
	files map[string][]byte // by name
	hash  map[string]string // name → short content hash
}

func loadStatic() (*staticFiles, error) {
	s := &staticFiles{files: map[string][]byte{}, hash: map[string]string{}}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("cannot list static files: %w", err)
	}
	for _, e := range entries {
		b, err := staticFS.ReadFile("static/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("cannot read static file %s: %w", e.Name(), err)
		}
		sum := sha256.Sum256(b)
		s.files[e.Name()] = b
		s.hash[e.Name()] = hex.EncodeToString(sum[:6])
	}
	return s, nil
}

// url is a static file's content-hashed URL.
func (s *staticFiles) url(name string) string {
	h, ok := s.hash[name]
	if !ok {
		panic("BUG: no static file " + name)
	}
	return "/static/" + h + "/" + name
}

func (h *Handler) serveStatic(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	b, ok := h.static.files[name]
	if !ok || h.static.hash[name] != r.PathValue("hash") {
		http.NotFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if strings.HasSuffix(name, ".js") {
		ct = "text/javascript; charset=utf-8"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	_, _ = w.Write(b)
}

func (h *Handler) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(openAPISpec)
}

// parsePages parses each page template together with the layout.
func parsePages(static *staticFiles) (map[string]*template.Template, error) {
	funcs := template.FuncMap{
		"static": static.url,
		"num":    formatNumber,
		"pct":    func(v float64) string { return fmt.Sprintf("%g%%", v) },
		"dur":    func(v any) string { return formatDuration(toFloat(v)) },
		"change": formatChange,
		"upDown": func(v float64) string {
			switch {
			case v > 0:
				return "up"
			case v < 0:
				return "down"
			}
			return "flat"
		},
	}
	layout, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("cannot parse layout: %w", err)
	}
	entries, err := fs.ReadDir(templateFS, "templates")
	if err != nil {
		return nil, err
	}
	pages := map[string]*template.Template{}
	for _, e := range entries {
		if e.Name() == "layout.html" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, "templates/"+e.Name())
		if err != nil {
			return nil, fmt.Errorf("cannot parse template %s: %w", e.Name(), err)
		}
		pages[strings.TrimSuffix(e.Name(), ".html")] = t
	}
	return pages, nil
}

func formatNumber(v any) string {
	var n float64
	switch x := v.(type) {
	case uint64:
		n = float64(x)
	case int64:
		n = float64(x)
	case int:
		n = float64(x)
	case float64:
		n = x
	}
	switch {
	case n >= 10_000_000:
		return fmt.Sprintf("%.0fM", n/1e6)
	case n >= 1_000_000:
		return fmt.Sprintf("%.1fM", n/1e6)
	case n >= 10_000:
		return fmt.Sprintf("%.0fk", n/1e3)
	case n >= 1000:
		return fmt.Sprintf("%.1fk", n/1e3)
	}
	return fmt.Sprintf("%g", n)
}

func formatDuration(v float64) string {
	s := int(v)
	if s >= 3600 {
		return fmt.Sprintf("%dh %dm", s/3600, s%3600/60)
	}
	if s >= 60 {
		return fmt.Sprintf("%dm %ds", s/60, s%60)
	}
	return fmt.Sprintf("%ds", s)
}

func formatChange(v float64) string {
	if v > 0 {
		return fmt.Sprintf("+%g%%", v)
	}
	return fmt.Sprintf("%g%%", v)
}
