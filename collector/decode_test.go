package collector

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/valyala/fastjson"
)

func TestDecodeEvent(t *testing.T) {
	h, err := decodeEvent([]byte(`{"name":"Signup","url":"https://example.com/p","domain":"example.com","referrer":"https://t.co/x","screen_width":390,"props":{"plan":"pro","seats":3,"trial":true,"nested":{"a":1}},"e":1500,"sd":85.5,"h":1}`))
	if err != nil {
		t.Fatal(err)
	}
	if h.Name != "Signup" || h.URL != "https://example.com/p" || h.Domain != "example.com" || h.Referrer != "https://t.co/x" || h.Width != 390 {
		t.Errorf("got %+v", h)
	}
	if h.EngagementMS != 1500 || h.ScrollDepth != 85 || !h.Hash {
		t.Errorf("engagement %d, scroll %d, hash %v", h.EngagementMS, h.ScrollDepth, h.Hash)
	}
	got := map[string]string{}
	for i, k := range h.PropKeys {
		got[k] = h.PropValues[i]
	}
	if got["plan"] != "pro" || got["seats"] != "3" || got["trial"] != "true" || got["nested"] != "" {
		t.Errorf("props %v", got)
	}
	// Old Plausible scripts send props as a JSON string.
	h, err = decodeEvent([]byte(`{"n":"x","u":"https://e.com/","d":"e.com","m":"{\"k\":\"v\"}"}`))
	if err != nil || len(h.PropKeys) != 1 || h.PropValues[0] != "v" {
		t.Errorf("string props: %+v, %v", h, err)
	}
	// Caps.
	long := strings.Repeat("é", 1000)
	h, err = decodeEvent([]byte(`{"n":"` + long + `","u":"https://e.com/","d":"e.com","sd":1e9,"e":-5}`))
	if err != nil || len(h.Name) > maxNameLen || !utf8.ValidString(h.Name) || h.ScrollDepth != 100 || h.EngagementMS != 0 {
		t.Errorf("caps: name %d bytes, sd %d, e %d, err %v", len(h.Name), h.ScrollDepth, h.EngagementMS, err)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"n":"pageview","u":"https://example.com/","d":"example.com","r":"","w":1280}`))
	f.Add([]byte(`{"name":"Signup","url":"https://e.com/","domain":"e.com","props":{"a":1,"b":"x"},"e":10,"sd":50}`))
	f.Add([]byte(`{"n":"x","u":"u","d":"d","p":"{\"k\":[1]}"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		h, err := decodeEvent(body)
		if err != nil {
			return
		}
		for _, s := range append([]string{h.Name, h.URL, h.Domain, h.Referrer, h.Title}, append(h.PropKeys, h.PropValues...)...) {
			if !utf8.ValidString(s) {
				t.Fatalf("invalid UTF-8 field %q", s)
			}
		}
		if h.Name == "" || h.URL == "" || h.Domain == "" {
			t.Fatalf("accepted a hit without name, URL or domain: %+v", h)
		}
		if len(h.Name) > maxNameLen || len(h.URL) > maxURLLen || len(h.Title) > maxTitleLen || len(h.PropKeys) > maxProps {
			t.Fatalf("field over its cap: %+v", h)
		}
		if len(h.PropKeys) != len(h.PropValues) || h.ScrollDepth > 100 {
			t.Fatalf("inconsistent hit %+v", h)
		}
	})
}

// decodeEventRef is decodeEvent before it collected text fields as bytes,
// kept as the reference FuzzDecodeEventRef holds decodeEvent to.
func decodeEventRef(body []byte) (Hit, error) {
	var h Hit
	if len(body) == 0 {
		return h, errEmptyBody
	}
	if len(body) > MaxBodyBytes {
		return h, fmt.Errorf("body of %d bytes is over the %d-byte limit", len(body), MaxBodyBytes)
	}
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		return h, fmt.Errorf("malformed JSON: %w", err)
	}
	if v.Type() != fastjson.TypeObject {
		return h, errors.New("malformed JSON: the body must be an object")
	}
	// One pass over the object's fields: looking each name up in turn would
	// scan the object once per alias.
	obj, _ := v.Object()
	var props *fastjson.Value
	obj.Visit(func(k []byte, f *fastjson.Value) {
		if f.Type() == fastjson.TypeNull {
			return
		}
		switch string(k) {
		case "n", "name":
			h.Name = clean(scalar(f), maxNameLen)
		case "u", "url":
			h.URL = clean(scalar(f), maxURLLen)
		case "d", "domain":
			h.Domain = clean(scalar(f), maxDomainLen)
		case "r", "referrer":
			h.Referrer = clean(scalar(f), maxURLLen)
		case "t", "title":
			h.Title = clean(scalar(f), maxTitleLen)
		case "w", "screen_width":
			h.Width = int(clamp(number(f), 0, 100000))
		case "e", "engagement_time":
			h.EngagementMS = uint32(clamp(number(f), 0, 24*3600*1000))
		case "sd", "scroll_depth":
			h.ScrollDepth = uint8(clamp(number(f), 0, 100))
		case "h", "hashMode":
			h.Hash = truthy(f)
		case "p", "props", "m", "meta":
			props = f
		}
	})
	if h.Name == "" {
		return h, errNoName
	}
	if h.URL == "" {
		return h, errNoURL
	}
	if h.Domain == "" {
		return h, errNoDomain
	}
	if props != nil {
		// Plausible sends props as an object or, from old scripts, as a JSON string.
		if props.Type() == fastjson.TypeString {
			inner, err := p.ParseBytes(props.GetStringBytes())
			if err != nil || inner.Type() != fastjson.TypeObject {
				return h, errors.New("malformed props: want an object")
			}
			props = inner
		}
		pobj, err := props.Object()
		if err != nil {
			return h, errors.New("malformed props: want an object")
		}
		pobj.Visit(func(k []byte, pv *fastjson.Value) {
			h.addProp(string(k), scalar(pv))
		})
	}
	return h, nil
}

func FuzzDecodeEventRef(f *testing.F) {
	f.Add([]byte(`{"n":"pageview","u":"https://example.com/","d":"example.com","r":"","w":1280}`))
	f.Add([]byte(`{"name":"Signup","url":"https://e.com/","domain":"e.com","props":{"a":1,"b":"x"},"e":10,"sd":50}`))
	f.Add([]byte(`{"n":"x","u":"u","d":"d","p":"{\"k\":[1]}"}`))
	f.Add([]byte(`{"n":" a\u00a0 ","u":"https://e.com/\u0000x ","url":"https://f.com/","d":1.5e3,"r":true,"t":{"a":1},"title":null}`))
	f.Add([]byte(`{"n":"\u00e9\u00e9","u":"  https://e.com/ ","d":"e.com","t":"\ud800x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, gotErr := decodeEvent(body)
		want, wantErr := decodeEventRef(body)
		if !reflect.DeepEqual(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
			t.Fatalf("decodeEvent(%q):\ngot  %+v, %v\nwant %+v, %v", body, got, gotErr, want, wantErr)
		}
	})
}

func FuzzCleanASCII(f *testing.F) {
	f.Add([]byte("  pageview  "), 4)
	f.Add([]byte("a b"), 2)
	f.Add([]byte("x\ty"), 10)
	f.Add([]byte("h\xc3\xa9"), 10)
	f.Fuzz(func(t *testing.T, b []byte, max int) {
		if max < 0 {
			return
		}
		want := clean(string(b), max)
		if got, ok := cleanASCII(b, max); ok && string(got) != want {
			t.Fatalf("cleanASCII(%q, %d) = %q, want %q", b, max, got, want)
		}
	})
}
