package collector

import (
	"strings"
	"testing"
	"unicode/utf8"
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
