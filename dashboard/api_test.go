package dashboard

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// apiGet calls the Stats API, checks the answer against openapi.yaml and decodes it.
func (e *env) apiGet(s *spec, token, path string) (int, any) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		e.t.Errorf("%s: Content-Type %q, want application/json", path, ct)
	}
	u, _ := url.Parse(path)
	s.conform(e.t, u, resp.StatusCode, body)
	var v any
	_ = json.Unmarshal(body, &v)
	return resp.StatusCode, v
}

func jsonOf(t *testing.T, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestStatsAPI(t *testing.T) {
	e := newEnv(t, Config{})
	s := loadSpec(t)
	const day = "site_id=a.example&period=day&date=2024-03-10"
	tests := []struct {
		name, path string
		want       string
	}{
		{"aggregate with comparison", "/api/v1/stats/aggregate?" + day + "&metrics=visitors,visits,pageviews,events,bounce_rate,visit_duration,views_per_visit&compare=previous_period",
			`{"results":{"visitors":{"value":3,"change":200},"visits":{"value":3,"change":200},"pageviews":{"value":4,"change":300},
			"events":{"value":5,"change":400},"bounce_rate":{"value":67,"change":-33},"visit_duration":{"value":40,"change":100},
			"views_per_visit":{"value":1.33,"change":33}}}`},
		{"aggregate defaults to visitors", "/api/v1/stats/aggregate?" + day, `{"results":{"visitors":{"value":3}}}`},
		{"aggregate filtered", "/api/v1/stats/aggregate?" + day + "&filters=" + url.QueryEscape("visit:source==Google;event:page==/blog/**") + "&metrics=visitors,pageviews",
			`{"results":{"visitors":{"value":1},"pageviews":{"value":1}}}`},
		{"direct traffic filter", "/api/v1/stats/aggregate?" + day + "&filters=" + url.QueryEscape("visit:source==Direct / None"),
			`{"results":{"visitors":{"value":1}}}`},
		{"alternatives and negation", "/api/v1/stats/aggregate?" + day + "&filters=" + url.QueryEscape("visit:country!=FR|DE"),
			`{"results":{"visitors":{"value":1}}}`},
		{"goal filter", "/api/v1/stats/aggregate?" + day + "&filters=" + url.QueryEscape("event:name==Signup"),
			`{"results":{"visitors":{"value":1}}}`},
		{"custom range", "/api/v1/stats/aggregate?site_id=a.example&period=custom&date=2024-03-09,2024-03-10",
			`{"results":{"visitors":{"value":4}}}`},
		{"7d ends on date", "/api/v1/stats/aggregate?site_id=a.example&period=7d&date=2024-03-09", `{"results":{"visitors":{"value":1}}}`},
		{"timeseries", "/api/v1/stats/timeseries?site_id=a.example&period=custom&date=2024-03-08,2024-03-10&metrics=visitors,pageviews",
			`{"results":[{"date":"2024-03-08","visitors":0,"pageviews":0},{"date":"2024-03-09","visitors":1,"pageviews":1},{"date":"2024-03-10","visitors":3,"pageviews":4}]}`},
		{"monthly timeseries", "/api/v1/stats/timeseries?site_id=a.example&period=6mo&date=2024-03-10&interval=month",
			`{"results":[{"date":"2023-10-01","visitors":0},{"date":"2023-11-01","visitors":0},{"date":"2023-12-01","visitors":0},{"date":"2024-01-01","visitors":0},{"date":"2024-02-01","visitors":0},{"date":"2024-03-01","visitors":4}]}`},
		{"breakdown by source", "/api/v1/stats/breakdown?" + day + "&property=visit:source&metrics=visitors,bounce_rate",
			`{"results":[{"source":"Direct / None","visitors":1,"bounce_rate":100},{"source":"Google","visitors":1,"bounce_rate":0},{"source":"Twitter","visitors":1,"bounce_rate":100}]}`},
		{"breakdown paginated", "/api/v1/stats/breakdown?" + day + "&property=visit:source&limit=1&page=2",
			`{"results":[{"source":"Google","visitors":1}]}`},
		{"breakdown by page", "/api/v1/stats/breakdown?" + day + "&property=event:page&metrics=visitors,pageviews",
			`{"results":[{"page":"/","visitors":2,"pageviews":2},{"page":"/blog/a","visitors":2,"pageviews":2}]}`},
		{"breakdown by browser version", "/api/v1/stats/breakdown?" + day + "&property=visit:browser_version",
			`{"results":[{"browser_version":"123","browser":"Firefox","visitors":3}]}`},
		{"breakdown by event prop", "/api/v1/stats/breakdown?" + day + "&property=event:props:plan&metrics=visitors,events",
			`{"results":[{"plan":"pro","visitors":1,"events":1}]}`},
		{"realtime", "/api/v1/stats/realtime/visitors?site_id=a.example", `1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, got := e.apiGet(s, e.viewerToken, tc.path)
			if status != http.StatusOK {
				t.Fatalf("status %d (%v), want 200", status, got)
			}
			if want := jsonOf(t, tc.want); !reflect.DeepEqual(got, want) {
				t.Errorf("got  %v\nwant %v", got, want)
			}
		})
	}
}

func TestStatsAPIErrors(t *testing.T) {
	e := newEnv(t, Config{})
	s := loadSpec(t)
	tests := []struct {
		name, token, path string
		status            int
		msg               string
	}{
		{"no token", "", "/api/v1/stats/aggregate?site_id=a.example", 401, "missing API key"},
		{"bad token", "shd_nope", "/api/v1/stats/aggregate?site_id=a.example", 401, "invalid API key"},
		{"viewer of A asks for B", e.viewerToken, "/api/v1/stats/aggregate?site_id=b.example", 404, "not found"},
		{"viewer of A asks B's realtime", e.viewerToken, "/api/v1/stats/realtime/visitors?site_id=b.example", 404, "not found"},
		{"unknown site", e.adminToken, "/api/v1/stats/aggregate?site_id=nope.example", 404, "not found"},
		{"missing site", e.adminToken, "/api/v1/stats/aggregate", 400, "site_id"},
		{"bad period", e.adminToken, "/api/v1/stats/aggregate?site_id=a.example&period=fortnight", 400, "unknown period"},
		{"bad date", e.adminToken, "/api/v1/stats/aggregate?site_id=a.example&period=day&date=10/03/2024", 400, "invalid date"},
		{"custom without range", e.adminToken, "/api/v1/stats/aggregate?site_id=a.example&period=custom", 400, "period=custom"},
		{"bad metric", e.adminToken, "/api/v1/stats/aggregate?site_id=a.example&metrics=visitors,money", 400, `"money"`},
		{"bad filter", e.adminToken, "/api/v1/stats/aggregate?site_id=a.example&filters=visit:source", 400, "cannot parse filter"},
		{"bad filter property", e.adminToken, "/api/v1/stats/aggregate?site_id=a.example&filters=" + url.QueryEscape("visit:source'==x"), 400, "unknown filter property"},
		{"bad compare", e.adminToken, "/api/v1/stats/aggregate?site_id=a.example&compare=year", 400, "compare"},
		{"missing property", e.adminToken, "/api/v1/stats/breakdown?site_id=a.example", 400, "missing property"},
		{"unknown property", e.adminToken, "/api/v1/stats/breakdown?site_id=a.example&property=visit:iq", 400, "unknown property"},
		{"metric not for property", e.adminToken, "/api/v1/stats/breakdown?site_id=a.example&property=event:name&metrics=bounce_rate", 400, "not available"},
		{"bad limit", e.adminToken, "/api/v1/stats/breakdown?site_id=a.example&property=visit:source&limit=-1", 400, "limit"},
		{"hourly for a year", e.adminToken, "/api/v1/stats/timeseries?site_id=a.example&period=12mo&interval=hour", 400, "hourly"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := e.apiGet(s, tc.token, tc.path)
			if status != tc.status {
				t.Fatalf("status %d (%v), want %d", status, body, tc.status)
			}
			msg, _ := body.(map[string]any)["error"].(string)
			if !strings.Contains(msg, tc.msg) {
				t.Errorf("error %q, want it to mention %q", msg, tc.msg)
			}
		})
	}
}
