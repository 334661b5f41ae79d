package dashboard

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/shade-analytics/shade/storage"
)

// errBadRequest marks errors that are the client's to fix (400).
var errBadRequest = errors.New("bad request")

func badRequest(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadRequest, fmt.Sprintf(format, args...))
}

// directSource is how visits without a referrer are labelled, as in Plausible.
const directSource = "Direct / None"

// periods are the Stats API's named periods, in the order the UI offers them.
var periods = []string{"day", "7d", "30d", "month", "6mo", "12mo", "custom"}

// resolvePeriod turns a period and its date parameter into an inclusive range
// of days in loc. date is the reference day (default today) or, for custom,
// "YYYY-MM-DD,YYYY-MM-DD".
func resolvePeriod(period, date string, loc *time.Location, now time.Time) (storage.Date, storage.Date, error) {
	if period == "" {
		period = "30d"
	}
	if period == "custom" {
		a, b, ok := strings.Cut(date, ",")
		if !ok {
			return "", "", badRequest("period=custom needs date=YYYY-MM-DD,YYYY-MM-DD")
		}
		from, err1 := storage.ParseDate(strings.TrimSpace(a))
		to, err2 := storage.ParseDate(strings.TrimSpace(b))
		if err := errors.Join(err1, err2); err != nil {
			return "", "", badRequest("%v", err)
		}
		if to < from {
			return "", "", badRequest("the custom range ends before it starts")
		}
		return from, to, nil
	}
	ref := storage.DateOf(now, loc)
	if date != "" {
		d, err := storage.ParseDate(date)
		if err != nil {
			return "", "", badRequest("%v", err)
		}
		ref = d
	}
	t := ref.Time(time.UTC)
	firstOfMonth := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	day := func(t time.Time) storage.Date { return storage.Date(t.Format(time.DateOnly)) }
	switch period {
	case "day":
		return ref, ref, nil
	case "7d":
		return ref.AddDays(-6), ref, nil
	case "30d":
		return ref.AddDays(-29), ref, nil
	case "month":
		return day(firstOfMonth), day(firstOfMonth.AddDate(0, 1, -1)), nil
	case "6mo":
		return day(firstOfMonth.AddDate(0, -5, 0)), day(firstOfMonth.AddDate(0, 1, -1)), nil
	case "12mo":
		return day(firstOfMonth.AddDate(0, -11, 0)), day(firstOfMonth.AddDate(0, 1, -1)), nil
	}
	return "", "", badRequest("unknown period %q: use %s", period, strings.Join(periods, ", "))
}

// parseFilters reads Plausible's v1 filter syntax: expressions joined by ";",
// each "property==value", "property!=value" or "property~value", with "|"
// between alternative values.
func parseFilters(s string) ([]storage.Filter, error) {
	var out []storage.Filter
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, expr := range strings.Split(s, ";") {
		expr = strings.TrimSpace(expr)
		if expr == "" {
			continue
		}
		var f storage.Filter
		var value string
		switch {
		case strings.Contains(expr, "!="):
			f.Property, value, _ = strings.Cut(expr, "!=")
			f.Op = storage.OpIsNot
		case strings.Contains(expr, "=="):
			f.Property, value, _ = strings.Cut(expr, "==")
			f.Op = storage.OpIs
		case strings.Contains(expr, "~"):
			f.Property, value, _ = strings.Cut(expr, "~")
			f.Op = storage.OpContains
		default:
			return nil, badRequest("cannot parse filter %q: use property==value, != or ~", expr)
		}
		f.Property = strings.TrimSpace(f.Property)
		if !storage.ValidProperty(f.Property) && f.Property != "event:goal" {
			return nil, badRequest("unknown filter property %q", f.Property)
		}
		for _, v := range strings.Split(value, "|") {
			v = strings.TrimSpace(v)
			if f.Property == "visit:source" && v == directSource {
				v = ""
			}
			f.Values = append(f.Values, v)
		}
		out = append(out, f)
	}
	return out, nil
}

// formatFilters writes filters back in the syntax parseFilters reads.
func formatFilters(fs []storage.Filter) string {
	var parts []string
	for _, f := range fs {
		op := "=="
		switch f.Op {
		case storage.OpIsNot:
			op = "!="
		case storage.OpContains:
			op = "~"
		}
		vals := slices.Clone(f.Values)
		for i, v := range vals {
			if f.Property == "visit:source" && v == "" {
				vals[i] = directSource
			}
		}
		parts = append(parts, f.Property+op+strings.Join(vals, "|"))
	}
	return strings.Join(parts, ";")
}

// reportParams are the parameters shared by the Stats API and the UI.
type reportParams struct {
	Period, Date string
	Filters      []storage.Filter
	Metrics      []string
	Property     string
	Interval     string
	Compare      bool
	Limit, Page  int
}

func parseParams(v url.Values) (reportParams, error) {
	p := reportParams{Period: v.Get("period"), Date: v.Get("date"), Property: v.Get("property"), Interval: v.Get("interval")}
	if p.Period == "" {
		p.Period = "30d"
	}
	var err error
	if p.Filters, err = parseFilters(v.Get("filters")); err != nil {
		return p, err
	}
	if m := v.Get("metrics"); m != "" {
		for _, name := range strings.Split(m, ",") {
			p.Metrics = append(p.Metrics, strings.TrimSpace(name))
		}
	}
	switch c := v.Get("compare"); c {
	case "", "false":
	case "previous_period":
		p.Compare = true
	default:
		return p, badRequest("unknown compare %q: use previous_period", c)
	}
	for name, dst := range map[string]*int{"limit": &p.Limit, "page": &p.Page} {
		if s := v.Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n <= 0 {
				return p, badRequest("%s must be a positive integer", name)
			}
			*dst = n
		}
	}
	return p, nil
}
