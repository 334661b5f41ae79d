// Package dashboard serves Shade's web UI and its Stats API: sign-in and
// server-side sessions, roles, the report pages, CSV export, shared links and
// the Plausible-compatible JSON API, all drawn from storage's report queries.
package dashboard

import (
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/shade-analytics/shade/storage"
)

// Config configures the dashboard.
type Config struct {
	// Secure marks cookies Secure; set it when the dashboard is served over HTTPS.
	Secure bool
	// CollectorURL is the public base URL of the collector, used in the
	// tracking snippet and the opt-out embed code, e.g. https://stats.example.com.
	CollectorURL string
	// SessionTTL is how long a sign-in lasts; default 14 days.
	SessionTTL time.Duration
	// SignInAttempts is how many failed sign-ins an email address, or a
	// client, may make per SignInWindow; default 10 per 15 minutes.
	SignInAttempts int
	SignInWindow   time.Duration
}

// Validate fills the defaults and reports a configuration that cannot work.
func (c *Config) Validate() error {
	if c.SessionTTL == 0 {
		c.SessionTTL = 14 * 24 * time.Hour
	}
	if c.SignInAttempts == 0 {
		c.SignInAttempts = 10
	}
	if c.SignInWindow == 0 {
		c.SignInWindow = 15 * time.Minute
	}
	if c.SessionTTL < time.Minute || c.SignInAttempts < 1 || c.SignInWindow < time.Second {
		return errors.New("dashboard: session TTL, sign-in attempts and window must be positive")
	}
	if c.CollectorURL == "" {
		return errors.New("dashboard: CollectorURL is required for the tracking snippet")
	}
	u, err := url.Parse(c.CollectorURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("dashboard: CollectorURL %q must be an absolute http(s) URL", c.CollectorURL)
	}
	c.CollectorURL = strings.TrimSuffix(c.CollectorURL, "/")
	return nil
}

// Handler serves the dashboard and the Stats API.
type Handler struct {
	log     *slog.Logger
	store   *storage.Store
	cfg     Config
	mux     *http.ServeMux
	pages   map[string]*template.Template
	static  *staticFiles
	limiter *limiter
	now     func() time.Time
}

// New builds the dashboard's handler.
func New(logger *slog.Logger, store *storage.Store, cfg Config) (*Handler, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if logger == nil || store == nil {
		return nil, errors.New("dashboard: a logger and a store are required")
	}
	static, err := loadStatic()
	if err != nil {
		return nil, err
	}
	h := &Handler{log: logger, store: store, cfg: cfg, static: static, now: time.Now,
		limiter: newLimiter(cfg.SignInAttempts, cfg.SignInWindow)}
	if h.pages, err = parsePages(static); err != nil {
		return nil, err
	}
	h.mux = h.routes()
	return h, nil
}

// ServeHTTP sets the security headers every response carries and routes.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	h.mux.ServeHTTP(w, r)
}
