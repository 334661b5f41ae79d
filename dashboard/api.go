package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/shade-analytics/shade/storage"
)

// Errors that map to an HTTP status in statusOf.
var (
	errUnauthorized = errors.New("unauthorized")
	errNotFound     = errors.New("not found")
	errForbidden    = errors.New("forbidden")
)

// statusOf is the one place where errors become HTTP statuses.
func statusOf(err error) int {
	switch {
	case errors.Is(err, errBadRequest), errors.Is(err, storage.ErrInvalidQuery):
		return http.StatusBadRequest
	case errors.Is(err, errUnauthorized):
		return http.StatusUnauthorized
	case errors.Is(err, errForbidden):
		return http.StatusForbidden
	case errors.Is(err, errNotFound), errors.Is(err, storage.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, context.Canceled):
		return 499
	}
	return http.StatusInternalServerError
}

func (h *Handler) writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// apiError answers a JSON error. Server errors are logged and answered
// without their detail.
func (h *Handler) apiError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := err.Error()
	switch {
	case status >= 500:
		h.log.Error("stats API request failed", "path", r.URL.Path, "err", err)
		msg = "internal error"
	case status == http.StatusUnauthorized:
		w.Header().Set("WWW-Authenticate", `Bearer realm="shade"`)
		msg = strings.TrimPrefix(msg, errUnauthorized.Error()+": ")
	default:
		for _, prefix := range []string{errBadRequest.Error() + ": ", storage.ErrInvalidQuery.Error() + ": ", errNotFound.Error() + ": "} {
			msg = strings.TrimPrefix(msg, prefix)
		}
	}
	h.writeJSON(w, status, map[string]string{"error": msg})
}

// apiSite authenticates the Bearer token and finds the site it asks for.
// A site the token's user may not view answers exactly like a missing one, so
// that a token cannot probe which domains exist.
func (h *Handler) apiSite(r *http.Request) (storage.Site, error) {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	var user storage.User
	switch {
	case ok && strings.TrimSpace(token) != "":
		u, err := h.store.UserByToken(r.Context(), strings.TrimSpace(token))
		if errors.Is(err, storage.ErrNotFound) {
			return storage.Site{}, fmt.Errorf("%w: invalid API key", errUnauthorized)
		} else if err != nil {
			return storage.Site{}, err
		}
		user = u
	case auth == "":
		// The dashboard's own scripts read the API with the session cookie;
		// the API only answers GETs, so no CSRF token is needed.
		u, _, err := h.authenticate(r)
		if errors.Is(err, errUnauthorized) {
			return storage.Site{}, fmt.Errorf("%w: missing API key: send Authorization: Bearer <token>", errUnauthorized)
		} else if err != nil {
			return storage.Site{}, err
		}
		user = *u
	default:
		return storage.Site{}, fmt.Errorf("%w: invalid Authorization header: send Authorization: Bearer <token>", errUnauthorized)
	}
	domain := r.URL.Query().Get("site_id")
	if domain == "" {
		return storage.Site{}, badRequest("missing site_id: give the site's domain")
	}
	site, err := h.store.SiteByDomain(r.Context(), domain)
	if errors.Is(err, storage.ErrNotFound) || (err == nil && !user.CanView(site.ID)) {
		return storage.Site{}, fmt.Errorf("%w: site %s not found or not accessible with this API key", errNotFound, domain)
	}
	return site, err
}

// buildQuery turns request parameters into a storage query for the site.
func (h *Handler) buildQuery(ctx context.Context, site storage.Site, p reportParams) (storage.Query, error) {
	q := storage.Query{SiteID: site.ID, Timezone: site.Timezone, Interval: storage.Interval(p.Interval), Limit: p.Limit, Page: p.Page}
	loc, err := q.Location()
	if err != nil {
		return q, err
	}
	if q.From, q.To, err = resolvePeriod(p.Period, p.Date, loc, h.now()); err != nil {
		return q, err
	}
	for _, f := range p.Filters {
		if f.Property != "event:goal" {
			q.Filters = append(q.Filters, f)
			continue
		}
		if q.Goal != nil || f.Op != storage.OpIs || len(f.Values) != 1 {
			return q, badRequest("event:goal takes one goal, with ==")
		}
		goals, err := h.store.Goals(ctx, site.ID)
		if err != nil {
			return q, err
		}
		for _, g := range goals {
			if g.Name() == f.Values[0] || g.Value == f.Values[0] {
				q.Goal = &g
				break
			}
		}
		if q.Goal == nil {
			return q, badRequest("no goal named %q", f.Values[0])
		}
	}
	if err := q.Validate(); err != nil {
		return q, err
	}
	return h.store.Plan(ctx, q)
}

// metricValue reads one named metric.
func metricValue(m *storage.Metrics, name string) any {
	switch name {
	case "visitors":
		return m.Visitors
	case "visits":
		return m.Visits
	case "pageviews":
		return m.Pageviews
	case "events":
		return m.Events
	case "views_per_visit":
		return m.ViewsPerVisit
	case "bounce_rate":
		return m.BounceRate
	case "visit_duration":
		return m.VisitDuration
	}
	return nil
}

var aggregateMetrics = []string{"visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration", "events"}

func checkMetrics(metrics, allowed []string, what string) ([]string, error) {
	if len(metrics) == 0 {
		return []string{"visitors"}, nil
	}
	for _, m := range metrics {
		if !slices.Contains(allowed, m) {
			return nil, badRequest("metric %q is not available for %s: use %s", m, what, strings.Join(allowed, ", "))
		}
	}
	return metrics, nil
}

func (h *Handler) apiPrepare(r *http.Request) (storage.Query, reportParams, error) {
	site, err := h.apiSite(r)
	if err != nil {
		return storage.Query{}, reportParams{}, err
	}
	p, err := parseParams(r.URL.Query())
	if err != nil {
		return storage.Query{}, p, err
	}
	q, err := h.buildQuery(r.Context(), site, p)
	return q, p, err
}

func (h *Handler) apiAggregate(w http.ResponseWriter, r *http.Request) {
	q, p, err := h.apiPrepare(r)
	if err == nil {
		p.Metrics, err = checkMetrics(p.Metrics, aggregateMetrics, "aggregate")
	}
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	cur, err := h.store.Aggregate(r.Context(), q)
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	var prev storage.Metrics
	if p.Compare {
		if prev, err = h.store.Aggregate(r.Context(), q.Previous()); err != nil {
			h.apiError(w, r, err)
			return
		}
	}
	results := map[string]any{}
	for _, name := range p.Metrics {
		v := map[string]any{"value": metricValue(&cur, name)}
		if p.Compare {
			v["change"] = storage.Change(toFloat(metricValue(&cur, name)), toFloat(metricValue(&prev, name)))
		}
		results[name] = v
	}
	h.writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

func toFloat(v any) float64 {
	switch n := v.(type) {
	case uint64:
		return float64(n)
	case int64:
		return float64(n)
	case uint32:
		return float64(n)
	case float64:
		return n
	}
	return 0
}

func (h *Handler) apiTimeseries(w http.ResponseWriter, r *http.Request) {
	q, p, err := h.apiPrepare(r)
	if err == nil {
		p.Metrics, err = checkMetrics(p.Metrics, aggregateMetrics, "timeseries")
	}
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	points, err := h.store.Timeseries(r.Context(), q)
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	results := make([]map[string]any, 0, len(points))
	for i := range points {
		row := map[string]any{"date": points[i].Date}
		for _, name := range p.Metrics {
			row[name] = metricValue(&points[i].Metrics, name)
		}
		results = append(results, row)
	}
	h.writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

// breakdownMetrics are the metrics each kind of property reports.
func breakdownMetrics(property string) []string {
	switch {
	case storage.IsVisitProperty(property):
		return []string{"visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration"}
	case property == "event:page" || property == "event:title":
		return []string{"visitors", "visits", "pageviews", "events", "time_on_page"}
	}
	return []string{"visitors", "events"}
}

// propertyKey is the JSON key of a breakdown's value, as in Plausible:
// "visit:source" → "source", "event:props:plan" → "plan".
func propertyKey(property string) string {
	if k, ok := strings.CutPrefix(property, "event:props:"); ok {
		return k
	}
	_, k, _ := strings.Cut(property, ":")
	return k
}

func rowValue(r *storage.Row, name string) any {
	switch name {
	case "time_on_page":
		return r.TimeOnPage
	case "exit_rate":
		return r.ExitRate
	case "conversion_rate":
		return r.ConversionRate
	case "conversions":
		return r.Conversions
	}
	return metricValue(&r.Metrics, name)
}

// displayValue is how a stored value is shown: the empty source is direct traffic.
func displayValue(property, v string) string {
	if property == "visit:source" && v == "" {
		return directSource
	}
	return v
}

func (h *Handler) apiBreakdown(w http.ResponseWriter, r *http.Request) {
	q, p, err := h.apiPrepare(r)
	if err == nil && p.Property == "" {
		err = badRequest("missing property, for example property=visit:source")
	}
	if err == nil && !storage.ValidProperty(p.Property) {
		err = badRequest("unknown property %q", p.Property)
	}
	if err == nil {
		allowed := breakdownMetrics(p.Property)
		if p.Property == "visit:exit_page" {
			allowed = append(allowed, "exit_rate")
		}
		p.Metrics, err = checkMetrics(p.Metrics, allowed, p.Property)
	}
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	rows, err := h.store.Breakdown(r.Context(), q, p.Property)
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	key := propertyKey(p.Property)
	results := make([]map[string]any, 0, len(rows))
	for i := range rows {
		row := map[string]any{key: displayValue(p.Property, rows[i].Value)}
		if p.Property == "visit:browser_version" {
			row["browser"] = rows[i].Group
		} else if p.Property == "visit:os_version" {
			row["os"] = rows[i].Group
		}
		for _, name := range p.Metrics {
			row[name] = rowValue(&rows[i], name)
		}
		results = append(results, row)
	}
	h.writeJSON(w, http.StatusOK, map[string]any{"results": results})
}

func (h *Handler) apiRealtime(w http.ResponseWriter, r *http.Request) {
	site, err := h.apiSite(r)
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	n, err := h.store.CurrentVisitors(r.Context(), site.ID, h.now())
	if err != nil {
		h.apiError(w, r, err)
		return
	}
	h.writeJSON(w, http.StatusOK, n)
}
