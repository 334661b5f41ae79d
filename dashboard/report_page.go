package dashboard

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/shade-analytics/shade/storage"
)

// kpis are the overview's headline cards.
var kpis = []column{colVisitors, colVisits, colPageviews, {"views_per_visit", "Views per visit"}, colBounce, colDuration}

type kpiView struct {
	Label, Value, Link string
	Change             float64
	Active, Inverse    bool // Inverse: a fall is good (bounce rate)
}

type filterView struct {
	Label, Remove string
}

type navItem struct {
	Title, URL string
	Active     bool
}

type periodOption struct {
	Value, Label string
	Selected     bool
}

var periodLabels = map[string]string{"day": "Today", "7d": "Last 7 days", "30d": "Last 30 days", "month": "This month",
	"6mo": "Last 6 months", "12mo": "Last 12 months", "custom": "Custom range"}

var propertyLabels = map[string]string{
	"visit:source": "Source", "visit:referrer": "Referrer", "visit:channel": "Channel", "visit:utm_source": "utm_source",
	"visit:utm_medium": "utm_medium", "visit:utm_campaign": "utm_campaign", "visit:utm_content": "utm_content",
	"visit:utm_term": "utm_term", "visit:country": "Country", "visit:device": "Device", "visit:browser": "Browser",
	"visit:browser_version": "Browser version", "visit:os": "OS", "visit:os_version": "OS version",
	"visit:screen": "Screen", "visit:language": "Language", "visit:entry_page": "Entry page",
	"visit:exit_page": "Exit page", "visit:hostname": "Hostname", "event:page": "Page", "event:name": "Event",
	"event:title": "Title", "event:hostname": "Hostname", "event:goal": "Goal",
}

func filterLabel(f storage.Filter) string {
	name, ok := propertyLabels[f.Property]
	if !ok {
		name = strings.TrimPrefix(f.Property, "event:props:")
	}
	op := map[string]string{storage.OpIs: "is", storage.OpIsNot: "is not", storage.OpContains: "contains"}[f.Op]
	vals := make([]string, len(f.Values))
	for i, v := range f.Values {
		vals[i] = displayValue(f.Property, v)
		if vals[i] == "" {
			vals[i] = "(none)"
		}
	}
	return name + " " + op + " " + strings.Join(vals, " or ")
}

// defaultInterval picks the chart's buckets for a range.
func defaultInterval(q storage.Query) storage.Interval {
	switch n := storage.Days(q.From, q.To); {
	case n <= 2:
		return storage.IntervalHour
	case n > 93:
		return storage.IntervalMonth
	}
	return storage.IntervalDay
}

// prepareReport reads the URL's state and builds the query.
func (h *Handler) prepareReport(r *http.Request, site storage.Site, base string) (storage.Query, state, int, error) {
	idx, ok := reportByID(r.PathValue("report"))
	if r.PathValue("report") == "" {
		idx, ok = 0, true
	}
	if !ok {
		return storage.Query{}, state{}, 0, errNotFound
	}
	values := r.URL.Query()
	// The range form sends a custom range as two date inputs.
	if values.Get("period") == "custom" && values.Get("date") == "" && values.Get("from") != "" {
		values.Set("date", values.Get("from")+","+values.Get("to"))
	}
	p, err := parseParams(values)
	if err != nil {
		return storage.Query{}, state{}, 0, err
	}
	metric := r.URL.Query().Get("metric")
	if metric == "" {
		metric = "visitors"
	}
	if !containsMetric(kpis, metric) {
		return storage.Query{}, state{}, 0, badRequest("unknown metric %q", metric)
	}
	st := state{Base: base, Report: reports[idx].ID, reportParams: p, Metric: metric}
	q, err := h.buildQuery(r.Context(), site, p)
	if err != nil {
		return q, st, 0, err
	}
	return q, st, idx, nil
}

func containsMetric(cols []column, m string) bool {
	for _, c := range cols {
		if c.Metric == m {
			return true
		}
	}
	return false
}

// reportData gathers everything a report page shows.
func (h *Handler) reportData(r *http.Request, site storage.Site, base string) (map[string]any, error) {
	ctx := r.Context()
	q, st, idx, err := h.prepareReport(r, site, base)
	if err != nil {
		return nil, err
	}
	rep := reports[idx]
	data := map[string]any{"Title": rep.Title + " · " + site.Domain, "Site": site, "Report": rep.ID,
		"ReportTitle": rep.Title, "State": st, "From": q.From, "To": q.To, "Base": base}
	var nav []navItem
	for _, r := range reports {
		nav = append(nav, navItem{Title: r.Title, URL: st.withReport(r.ID), Active: r.ID == rep.ID})
	}
	data["Nav"] = nav
	var periodsView []periodOption
	for _, p := range periods {
		periodsView = append(periodsView, periodOption{Value: p, Label: periodLabels[p], Selected: p == st.Period})
	}
	data["Periods"] = periodsView
	data["Filters"] = formatFilters(st.Filters)
	var fv []filterView
	for i, f := range st.Filters {
		fv = append(fv, filterView{Label: filterLabel(f), Remove: st.withoutFilter(i).URL()})
	}
	data["FilterViews"] = fv
	if st.Period == "custom" {
		data["CustomFrom"], data["CustomTo"] = string(q.From), string(q.To)
	}

	// The page's queries are independent: run them side by side.
	var current uint64
	tasks := []func(context.Context) error{func(ctx context.Context) error {
		var err error
		current, err = h.store.CurrentVisitors(ctx, site.ID, h.now())
		return err
	}}
	var mu sync.Mutex // guards data
	set := func(k string, v any) { mu.Lock(); data[k] = v; mu.Unlock() }
	finish := func() {}
	switch rep.ID {
	case "overview":
		var more []func(context.Context) error
		more, finish = h.overviewTasks(q, st, set)
		tasks = append(tasks, more...)
	case "goals":
		tasks = append(tasks, func(ctx context.Context) error { return h.goalsData(ctx, q, st, set) })
	case "visits":
		tasks = append(tasks, func(ctx context.Context) error {
			visits, err := h.store.VisitsLog(ctx, q, 100)
			set("Visits", visits)
			return err
		})
		data["Export"] = st.exportURL("visits")
	}
	tables := make([]tableView, len(rep.Tables))
	for i, t := range rep.Tables {
		tasks = append(tasks, func(ctx context.Context) error {
			var err error
			tables[i], err = h.buildTable(ctx, q, st, t, 10)
			return err
		})
	}
	var propTables []tableView
	if rep.ID == "goals" {
		tasks = append(tasks, func(ctx context.Context) error {
			keys, err := h.store.PropKeys(ctx, q)
			if err != nil {
				return err
			}
			for _, k := range keys {
				tv, err := h.buildTable(ctx, q, st, propTable(k), 10)
				if err != nil {
					return err
				}
				propTables = append(propTables, tv)
			}
			return nil
		})
	}
	if err := parallel(ctx, tasks...); err != nil {
		return nil, err
	}
	finish()
	data["Current"] = current
	tables = append(tables, propTables...)
	data["Tables"] = tables
	return data, nil
}

func propTable(key string) table {
	return table{ID: "prop:" + key, Title: "Property " + key, Property: "event:props:" + key, Label: key,
		Columns: []column{colVisitors, colEvents}}
}

// overviewTasks are the overview's own queries: the KPIs of both periods
// and the chart. finish builds the KPI cards once the tasks have run.
func (h *Handler) overviewTasks(q storage.Query, st state, set func(string, any)) (tasks []func(context.Context) error, finish func()) {
	var cur, prev storage.Metrics
	set("PrevFrom", q.Previous().From)
	set("PrevTo", q.Previous().To)
	tasks = []func(context.Context) error{
		func(ctx context.Context) error {
			var err error
			cur, err = h.store.Aggregate(ctx, q)
			return err
		},
		func(ctx context.Context) error {
			var err error
			prev, err = h.store.Aggregate(ctx, q.Previous())
			return err
		},
		func(ctx context.Context) error {
			tq := q
			if st.Interval == "" {
				tq.Interval = defaultInterval(q)
			}
			points, err := h.store.Timeseries(ctx, tq)
			if err != nil {
				return err
			}
			label := st.Metric
			for _, k := range kpis {
				if k.Metric == st.Metric {
					label = k.Label
				}
			}
			set("Chart", buildChart(points, st.Metric, label))
			return nil
		},
	}
	finish = func() {
		var cards []kpiView
		for _, k := range kpis {
			s := st
			s.Metric = k.Metric
			cards = append(cards, kpiView{Label: k.Label, Value: formatMetric(k.Metric, metricValue(&cur, k.Metric)),
				Change: storage.Change(toFloat(metricValue(&cur, k.Metric)), toFloat(metricValue(&prev, k.Metric))),
				Link:   s.URL(), Active: k.Metric == st.Metric, Inverse: k.Metric == "bounce_rate"})
		}
		set("KPIs", cards)
	}
	return tasks, finish
}

type goalView struct {
	storage.Conversion
	Link              string
	BySource, ByCampa tableView
}

func (h *Handler) goalsData(ctx context.Context, q storage.Query, st state, set func(string, any)) error {
	goals, err := h.store.Goals(ctx, q.SiteID)
	if err != nil {
		return err
	}
	conv, err := h.store.Conversions(ctx, q, goals)
	if err != nil {
		return err
	}
	var views []goalView
	for _, c := range conv {
		gv := goalView{Conversion: c, Link: st.withFilter(storage.Filter{Property: "event:goal", Op: storage.OpIs, Values: []string{c.Name}}).URL()}
		for i, prop := range []string{"visit:source", "visit:utm_campaign"} {
			rows, err := h.store.GoalBreakdown(ctx, q, c.Goal, prop)
			if err != nil {
				return err
			}
			tv := tableView{table: table{Title: "by " + strings.ToLower(propertyLabels[prop])},
				Headers: []string{propertyLabels[prop], "Converted", "Conversion rate"}}
			for _, row := range rows {
				tv.Rows = append(tv.Rows, rowView{Label: labelOr(displayValue(prop, row.Value)),
					Link:  st.withFilter(storage.Filter{Property: prop, Op: storage.OpIs, Values: []string{row.Value}}).URL(),
					Cells: []string{fmt.Sprint(row.Visitors), formatMetric("conversion_rate", row.ConversionRate)}})
			}
			if i == 0 {
				gv.BySource = tv
			} else {
				gv.ByCampa = tv
			}
		}
		views = append(views, gv)
	}
	set("Goals", views)
	set("Export", st.exportURL("conversions"))
	return nil
}

func labelOr(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// csvSafe keeps a spreadsheet from reading a cell as a formula: a cell that
// starts with = + - @ tab or carriage return gets a leading apostrophe.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// writeExport answers one table of a report as CSV, with up to 1000 rows.
func (h *Handler) writeExport(w http.ResponseWriter, r *http.Request, site storage.Site, base string) {
	ctx := r.Context()
	q, st, idx, err := h.prepareReport(r, site, base)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	id := r.URL.Query().Get("table")
	var header []string
	var records [][]string
	switch {
	case id == "visits":
		visits, err := h.store.VisitsLog(ctx, q, 500)
		if err != nil {
			h.pageError(w, r, err)
			return
		}
		header = []string{"start", "duration_s", "country", "device", "browser", "os", "source", "pageviews", "pages"}
		for _, v := range visits {
			var steps []string
			for _, s := range v.Steps {
				if s.Name == "pageview" {
					steps = append(steps, s.Page)
				} else {
					steps = append(steps, s.Name+" on "+s.Page)
				}
			}
			records = append(records, []string{v.Start.Format("2006-01-02 15:04:05Z"), fmt.Sprint(v.Duration), v.Country,
				v.Device, v.Browser, v.OS, displayValue("visit:source", v.Source), fmt.Sprint(v.Pageviews), strings.Join(steps, " > ")})
		}
	case id == "conversions":
		goals, err := h.store.Goals(ctx, q.SiteID)
		if err == nil {
			var conv []storage.Conversion
			if conv, err = h.store.Conversions(ctx, q, goals); err == nil {
				header = []string{"goal", "visitors", "events", "conversion_rate"}
				for _, c := range conv {
					records = append(records, []string{c.Name, fmt.Sprint(c.Visitors), fmt.Sprint(c.Events), fmt.Sprint(c.ConversionRate)})
				}
			}
		}
		if err != nil {
			h.pageError(w, r, err)
			return
		}
	default:
		var t table
		found := false
		for _, c := range reports[idx].Tables {
			if c.ID == id {
				t, found = c, true
			}
		}
		if key, ok := strings.CutPrefix(id, "prop:"); ok && key != "" {
			t, found = propTable(key), true
		}
		if !found {
			h.pageError(w, r, badRequest("unknown table %q", id))
			return
		}
		q.Filters = append(q.Filters, t.Extra...)
		q.Limit = 1000
		rows, err := h.store.Breakdown(ctx, q, t.Property)
		if err != nil {
			h.pageError(w, r, err)
			return
		}
		if t.Columns, err = h.conversionColumns(ctx, q, t, rows); err != nil {
			h.pageError(w, r, err)
			return
		}
		header = []string{propertyKey(t.Property)}
		if g, ok := versionGroups[t.Property]; ok {
			header = append([]string{propertyKey(g)}, header...)
		}
		for _, c := range t.Columns {
			header = append(header, c.Metric)
		}
		for i := range rows {
			rec := []string{displayValue(t.Property, rows[i].Value)}
			if _, ok := versionGroups[t.Property]; ok {
				rec = append([]string{rows[i].Group}, rec...)
			}
			for _, c := range t.Columns {
				rec = append(rec, fmt.Sprint(rowValue(&rows[i], c.Metric)))
			}
			records = append(records, rec)
		}
	}
	name := fmt.Sprintf("%s-%s-%s-%s-%s.csv", site.Domain, st.Report, strings.ReplaceAll(id, ":", "-"), q.From, q.To)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.Map(safeFileRune, name)+`"`)
	cw := csv.NewWriter(w)
	_ = cw.Write(header)
	for _, rec := range records {
		for i := range rec {
			rec[i] = csvSafe(rec[i])
		}
		_ = cw.Write(rec)
	}
	cw.Flush()
}

func safeFileRune(r rune) rune {
	if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
		return r
	}
	return '_'
}
