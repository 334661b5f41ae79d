package dashboard

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// spec is the embedded OpenAPI description, read with a checker for the
// subset of OpenAPI 3 it uses: $ref, type, required, properties,
// additionalProperties, items, oneOf, enum, minimum.
type spec struct{ doc map[string]any }

func loadSpec(t *testing.T) *spec {
	t.Helper()
	var doc map[string]any
	if err := yaml.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatalf("openapi.yaml does not parse: %v", err)
	}
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.") {
		t.Fatalf("openapi.yaml: version %q, want 3.x", v)
	}
	return &spec{doc}
}

// resolve follows a local $ref.
func (s *spec) resolve(node any) map[string]any {
	m, _ := node.(map[string]any)
	for m != nil {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m
		}
		var cur any = s.doc
		for _, part := range strings.Split(strings.TrimPrefix(ref, "#/"), "/") {
			cm, _ := cur.(map[string]any)
			cur = cm[part]
		}
		m, _ = cur.(map[string]any)
	}
	return m
}

// check validates a decoded JSON value against a schema and returns the problems.
func (s *spec) check(schema map[string]any, v any, path string) []string {
	schema = s.resolve(schema)
	if schema == nil {
		return nil
	}
	if alts, ok := schema["oneOf"].([]any); ok {
		matches := 0
		for _, a := range alts {
			if len(s.check(s.resolve(a), v, path)) == 0 {
				matches++
			}
		}
		if matches != 1 {
			return []string{fmt.Sprintf("%s: %v matches %d of oneOf's schemas, want exactly 1", path, v, matches)}
		}
		return nil
	}
	var errs []string
	switch schema["type"] {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T, want object", path, v)}
		}
		for _, r := range asList(schema["required"]) {
			if _, ok := obj[r.(string)]; !ok {
				errs = append(errs, fmt.Sprintf("%s: missing required %q", path, r))
			}
		}
		props, _ := schema["properties"].(map[string]any)
		for k, val := range obj {
			if ps, ok := props[k]; ok {
				errs = append(errs, s.check(s.resolve(ps), val, path+"."+k)...)
				continue
			}
			switch ap := schema["additionalProperties"].(type) {
			case bool:
				if !ap {
					errs = append(errs, fmt.Sprintf("%s: unexpected property %q", path, k))
				}
			case map[string]any:
				errs = append(errs, s.check(ap, val, path+"."+k)...)
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T, want array", path, v)}
		}
		items := s.resolve(schema["items"])
		for i, it := range arr {
			errs = append(errs, s.check(items, it, fmt.Sprintf("%s[%d]", path, i))...)
		}
	case "string":
		if _, ok := v.(string); !ok {
			return []string{fmt.Sprintf("%s: got %T, want string", path, v)}
		}
	case "number", "integer":
		n, ok := v.(float64)
		if !ok {
			return []string{fmt.Sprintf("%s: got %T, want %s", path, v, schema["type"])}
		}
		if schema["type"] == "integer" && n != float64(int64(n)) {
			errs = append(errs, fmt.Sprintf("%s: %v is not an integer", path, n))
		}
		if min, ok := schema["minimum"].(int); ok && n < float64(min) {
			errs = append(errs, fmt.Sprintf("%s: %v is below the minimum %d", path, n, min))
		}
	}
	if enum := asList(schema["enum"]); len(enum) > 0 && !slices.Contains(enum, v) {
		errs = append(errs, fmt.Sprintf("%s: %v is not one of %v", path, v, enum))
	}
	return errs
}

func asList(v any) []any { l, _ := v.([]any); return l }

// operation is the spec's GET operation for a path.
func (s *spec) operation(t *testing.T, path string) map[string]any {
	t.Helper()
	paths, _ := s.doc["paths"].(map[string]any)
	item, _ := paths[path].(map[string]any)
	op, _ := item["get"].(map[string]any)
	if op == nil {
		t.Fatalf("openapi.yaml does not describe GET %s", path)
	}
	return op
}

// conform checks a real response against the spec: the status is declared,
// the body matches its schema, and every query parameter sent is declared
// (with its enum respected).
func (s *spec) conform(t *testing.T, u *url.URL, status int, body []byte) {
	t.Helper()
	op := s.operation(t, u.Path)
	declared := map[string]map[string]any{}
	for _, p := range asList(op["parameters"]) {
		pm := s.resolve(p)
		declared[pm["name"].(string)] = pm
	}
	for name, vals := range u.Query() {
		p, ok := declared[name]
		if !ok {
			t.Errorf("%s: query parameter %q is not in openapi.yaml", u.Path, name)
			continue
		}
		schema, _ := p["schema"].(map[string]any)
		if status == http.StatusOK {
			for _, v := range vals {
				var typed any = v
				if schema["type"] == "integer" {
					n, _ := strconv.Atoi(v)
					typed = n
				}
				if enum := asList(schema["enum"]); len(enum) > 0 && !slices.Contains(enum, typed) {
					t.Errorf("%s: %s=%s accepted but not in the spec's enum %v", u.Path, name, v, enum)
				}
			}
		}
	}
	responses, _ := op["responses"].(map[string]any)
	resp := s.resolve(responses[strconv.Itoa(status)])
	if resp == nil {
		t.Errorf("%s: status %d is not in openapi.yaml", u.RequestURI(), status)
		return
	}
	content, _ := resp["content"].(map[string]any)
	media, _ := content["application/json"].(map[string]any)
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Errorf("%s: body is not JSON: %v", u.RequestURI(), err)
		return
	}
	for _, e := range s.check(s.resolve(media["schema"]), v, "body") {
		t.Errorf("%s (%d): %s", u.RequestURI(), status, e)
	}
}

// TestSpecChecker proves that the checker rejects what it should, so the
// conformance test cannot pass vacuously.
func TestSpecChecker(t *testing.T) {
	s := loadSpec(t)
	schema := s.resolve(s.resolve(s.resolve(s.operation(t, "/api/v1/stats/aggregate")["responses"].(map[string]any)["200"])["content"].(map[string]any)["application/json"].(map[string]any)["schema"]))
	bad := []string{`{}`, `{"results": []}`, `{"results": {"visitors": {"change": 1}}}`, `{"results": {"visitors": {"value": "x"}}}`}
	for _, b := range bad {
		var v any
		_ = json.Unmarshal([]byte(b), &v)
		if len(s.check(schema, v, "body")) == 0 {
			t.Errorf("checker accepted %s", b)
		}
	}
	var v any
	_ = json.Unmarshal([]byte(`{"results": {"visitors": {"value": 3, "change": 200}}}`), &v)
	if errs := s.check(schema, v, "body"); len(errs) != 0 {
		t.Errorf("checker rejected a valid body: %v", errs)
	}
	rt := s.resolve(s.resolve(s.operation(t, "/api/v1/stats/realtime/visitors")["responses"].(map[string]any)["200"])["content"].(map[string]any)["application/json"].(map[string]any)["schema"])
	if len(s.check(rt, -1.0, "body")) == 0 || len(s.check(rt, 1.5, "body")) == 0 {
		t.Error("checker accepted a negative or fractional count")
	}
}
