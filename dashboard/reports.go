package dashboard

import (
	"context"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"

	"github.com/shade-analytics/shade/storage"
)

// column is one metric column of a report table.
type column struct{ Metric, Label string }

// table describes one report table: the property it breaks down, filters it
// applies itself (outbound links are URLs of one event name) and its columns.
type table struct {
	ID, Title, Property, Label string
	Extra                      []storage.Filter
	Columns                    []column
	Map                        bool
	Top                        bool // the overview's top pages: storage.TopPages
	// Conversions adds the conversions and conversion rate columns when the
	// site has goals (campaign tables): storage.VisitConversions.
	Conversions bool
}

var (
	colVisitors  = column{"visitors", "Visitors"}
	colVisits    = column{"visits", "Visits"}
	colPageviews = column{"pageviews", "Pageviews"}
	colBounce    = column{"bounce_rate", "Bounce rate"}
	colDuration  = column{"visit_duration", "Visit duration"}
	colTime      = column{"time_on_page", "Time on page"}
	colExitRate  = column{"exit_rate", "Exit rate"}
	colEvents    = column{"events", "Events"}
	colConverted = column{"conversions", "Conversions"}
	colConvRate  = column{"conversion_rate", "Conversion rate"}
)

func eventIs(name string) []storage.Filter {
	return []storage.Filter{{Property: "event:name", Op: storage.OpIs, Values: []string{name}}}
}

var visitCols = []column{colVisitors, colVisits, colBounce, colDuration}

// reports are the dashboard's report pages and their tables, in menu order.
var reports = []struct {
	ID, Title string
	Tables    []table
}{
	{"overview", "Overview", []table{
		{ID: "pages", Title: "Top pages", Property: "event:page", Label: "Page", Columns: []column{colVisitors, colPageviews}, Top: true},
		{ID: "sources", Title: "Top sources", Property: "visit:source", Label: "Source", Columns: []column{colVisitors, colVisits}},
		{ID: "countries", Title: "Countries", Property: "visit:country", Label: "Country", Columns: []column{colVisitors}, Map: true},
		{ID: "devices", Title: "Devices", Property: "visit:device", Label: "Device", Columns: []column{colVisitors}},
	}},
	{"behaviour", "Behaviour", []table{
		{ID: "pages", Title: "Pages", Property: "event:page", Label: "Page", Columns: []column{colVisitors, colPageviews, colTime}},
		{ID: "entry", Title: "Entry pages", Property: "visit:entry_page", Label: "Entry page", Columns: []column{colVisits, colBounce, colDuration}},
		{ID: "exit", Title: "Exit pages", Property: "visit:exit_page", Label: "Exit page", Columns: []column{colVisits, colExitRate}},
		{ID: "titles", Title: "Page titles", Property: "event:title", Label: "Title", Columns: []column{colVisitors, colPageviews}},
		{ID: "search", Title: "Site search", Property: "event:props:query", Label: "Search term", Extra: eventIs("Site Search"), Columns: []column{colVisitors, colEvents}},
		{ID: "outbound", Title: "Outbound links", Property: "event:props:url", Label: "URL", Extra: eventIs("Outbound Link: Click"), Columns: []column{colVisitors, colEvents}},
		{ID: "downloads", Title: "File downloads", Property: "event:props:url", Label: "File", Extra: eventIs("File Download"), Columns: []column{colVisitors, colEvents}},
	}},
	{"acquisition", "Acquisition", []table{
		{ID: "channels", Title: "Channels", Property: "visit:channel", Label: "Channel", Columns: visitCols},
		{ID: "sources", Title: "Sources", Property: "visit:source", Label: "Source", Columns: visitCols},
		{ID: "referrers", Title: "Referrers", Property: "visit:referrer", Label: "Referrer", Columns: visitCols},
		{ID: "utm_source", Title: "Campaign sources", Property: "visit:utm_source", Label: "utm_source", Columns: visitCols, Conversions: true},
		{ID: "utm_medium", Title: "Campaign media", Property: "visit:utm_medium", Label: "utm_medium", Columns: visitCols, Conversions: true},
		{ID: "utm_campaign", Title: "Campaigns", Property: "visit:utm_campaign", Label: "utm_campaign", Columns: visitCols, Conversions: true},
		{ID: "utm_content", Title: "Campaign content", Property: "visit:utm_content", Label: "utm_content", Columns: visitCols, Conversions: true},
		{ID: "utm_term", Title: "Campaign terms", Property: "visit:utm_term", Label: "utm_term", Columns: visitCols, Conversions: true},
	}},
	{"audience", "Audience", []table{
		{ID: "countries", Title: "Countries", Property: "visit:country", Label: "Country", Columns: []column{colVisitors, colVisits}, Map: true},
		{ID: "browsers", Title: "Browsers", Property: "visit:browser", Label: "Browser", Columns: []column{colVisitors, colVisits}},
		{ID: "browser_versions", Title: "Browser versions", Property: "visit:browser_version", Label: "Version", Columns: []column{colVisitors, colVisits}},
		{ID: "os", Title: "Operating systems", Property: "visit:os", Label: "OS", Columns: []column{colVisitors, colVisits}},
		{ID: "os_versions", Title: "OS versions", Property: "visit:os_version", Label: "Version", Columns: []column{colVisitors, colVisits}},
		{ID: "devices", Title: "Devices", Property: "visit:device", Label: "Device", Columns: []column{colVisitors, colVisits}},
		{ID: "screens", Title: "Screens", Property: "visit:screen", Label: "Screen", Columns: []column{colVisitors, colVisits}},
		{ID: "languages", Title: "Languages", Property: "visit:language", Label: "Language", Columns: []column{colVisitors, colVisits}},
	}},
	{"goals", "Goals & events", []table{
		{ID: "events", Title: "Custom events", Property: "event:name", Label: "Event", Columns: []column{colVisitors, colEvents}},
	}},
	{"visits", "Visits log", nil},
}

func reportByID(id string) (int, bool) {
	for i, r := range reports {
		if r.ID == id {
			return i, true
		}
	}
	return 0, false
}

// tableView is a rendered table.
type tableView struct {
	table
	Headers []string
	Rows    []rowView
	Export  string
	Dots    []mapDot
}

type rowView struct {
	Label string
	Link  string // the same page with this row's value added as a filter
	Cells []string
	Bar   float64 // share of the first column's largest value, 0..100
}

func formatMetric(metric string, v any) string {
	f := toFloat(v)
	switch metric {
	case "bounce_rate", "exit_rate", "conversion_rate":
		return fmt.Sprintf("%g%%", f)
	case "visit_duration", "time_on_page":
		return formatDuration(f)
	}
	return fmt.Sprintf("%g", f)
}

// state is what the URL of a report holds: period, filters, chart metric.
type state struct {
	Base   string // /sites/example.com or /share/SECRET
	Report string
	reportParams
	Metric string
}

func (s state) values() url.Values {
	v := url.Values{}
	if s.Period != "" && s.Period != "30d" {
		v.Set("period", s.Period)
	}
	if s.Date != "" {
		v.Set("date", s.Date)
	}
	if f := formatFilters(s.Filters); f != "" {
		v.Set("filters", f)
	}
	if s.Metric != "" && s.Metric != "visitors" {
		v.Set("metric", s.Metric)
	}
	if s.Interval != "" {
		v.Set("interval", s.Interval)
	}
	return v
}

// URL of the state's report page.
func (s state) URL() string { return s.withReport(s.Report) }

func (s state) withReport(report string) string {
	u := s.Base + "/" + report
	if q := s.values().Encode(); q != "" {
		u += "?" + q
	}
	return u
}

// withFilter adds filters (replacing any on the same properties).
func (s state) withFilter(fs ...storage.Filter) state {
	out := s
	out.Filters = nil
	for _, f := range s.Filters {
		if !slices.ContainsFunc(fs, func(n storage.Filter) bool { return n.Property == f.Property }) {
			out.Filters = append(out.Filters, f)
		}
	}
	out.Filters = append(out.Filters, fs...)
	return out
}

func (s state) withoutFilter(i int) state {
	out := s
	out.Filters = slices.Delete(slices.Clone(s.Filters), i, i+1)
	return out
}

func (s state) exportURL(tableID string) string {
	v := s.values()
	v.Set("table", tableID)
	return s.Base + "/" + s.Report + "/export.csv?" + v.Encode()
}

// buildTable runs a table's breakdown.
func (h *Handler) buildTable(ctx context.Context, q storage.Query, st state, t table, limit int) (tableView, error) {
	q.Filters = append(slices.Clone(q.Filters), t.Extra...)
	q.Limit = limit
	var rows []storage.Row
	var err error
	if t.Top {
		rows, err = h.store.TopPages(ctx, q)
	} else {
		rows, err = h.store.Breakdown(ctx, q, t.Property)
	}
	if err != nil {
		return tableView{}, err
	}
	if t.Columns, err = h.conversionColumns(ctx, q, t, rows); err != nil {
		return tableView{}, err
	}
	tv := tableView{table: t, Headers: []string{t.Label}, Export: st.exportURL(t.ID)}
	for _, c := range t.Columns {
		tv.Headers = append(tv.Headers, c.Label)
	}
	top := 0.0
	for i := range rows {
		top = math.Max(top, toFloat(rowValue(&rows[i], t.Columns[0].Metric)))
	}
	for i := range rows {
		r := &rows[i]
		label := displayValue(t.Property, r.Value)
		if r.Group != "" || strings.HasSuffix(t.Property, "_version") {
			label = strings.TrimSpace(r.Group + " " + r.Value)
		}
		if label == "" {
			label = "(none)"
		}
		filters := append(slices.Clone(t.Extra), storage.Filter{Property: t.Property, Op: storage.OpIs, Values: []string{r.Value}})
		if g, ok := versionGroups[t.Property]; ok {
			filters = append(filters, storage.Filter{Property: g, Op: storage.OpIs, Values: []string{r.Group}})
		}
		rv := rowView{Label: label, Link: st.withFilter(filters...).URL(),
			Bar: math.Round(ratioOf(toFloat(rowValue(r, t.Columns[0].Metric)), top) * 100)}
		for _, c := range t.Columns {
			rv.Cells = append(rv.Cells, formatMetric(c.Metric, rowValue(r, c.Metric)))
		}
		tv.Rows = append(tv.Rows, rv)
	}
	if t.Map {
		tv.Dots = mapDots(rows)
	}
	return tv, nil
}

// conversionColumns fills the conversions of a campaign table's rows and
// returns its columns with the conversion columns added; a table without
// conversions, or a site without goals, keeps its columns.
func (h *Handler) conversionColumns(ctx context.Context, q storage.Query, t table, rows []storage.Row) ([]column, error) {
	if !t.Conversions {
		return t.Columns, nil
	}
	goals, err := h.store.Goals(ctx, q.SiteID)
	if err != nil || len(goals) == 0 {
		return t.Columns, err
	}
	if err := h.store.VisitConversions(ctx, q, t.Property, goals, rows); err != nil {
		return nil, err
	}
	return append(slices.Clone(t.Columns), colConverted, colConvRate), nil
}

// versionGroups are the properties a version row also filters on.
var versionGroups = map[string]string{"visit:browser_version": "visit:browser", "visit:os_version": "visit:os"}

func ratioOf(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
