package collector

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/valyala/fastjson"
)

// Decoding errors, each answered with 400 and its text.
var (
	errEmptyBody = errors.New("empty body: send a JSON event")
	errNoName    = errors.New("missing event name (n or name)")
	errNoURL     = errors.New("missing page URL (u or url)")
	errNoDomain  = errors.New("missing site domain (d or domain)")
)

var parsers fastjson.ParserPool

// decodeEvent decodes the body of POST /api/event: Plausible's Events API
// fields, short or long names, sent as JSON or as text/plain by sendBeacon.
func decodeEvent(body []byte) (Hit, error) {
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
	h.Name = clean(str(v, "n", "name"), maxNameLen)
	h.URL = clean(str(v, "u", "url"), maxURLLen)
	h.Domain = clean(str(v, "d", "domain"), maxDomainLen)
	h.Referrer = clean(str(v, "r", "referrer"), maxURLLen)
	h.Title = clean(str(v, "t", "title"), maxTitleLen)
	if h.Name == "" {
		return h, errNoName
	}
	if h.URL == "" {
		return h, errNoURL
	}
	if h.Domain == "" {
		return h, errNoDomain
	}
	h.Width = int(clamp(num(v, "w", "screen_width"), 0, 100000))
	h.EngagementMS = uint32(clamp(num(v, "e", "engagement_time"), 0, 24*3600*1000))
	h.ScrollDepth = uint8(clamp(num(v, "sd", "scroll_depth"), 0, 100))
	h.Hash = truthy(get(v, "h", "hashMode"))
	props := get(v, "p", "props", "m", "meta")
	if props != nil {
		// Plausible sends props as an object or, from old scripts, as a JSON string.
		if props.Type() == fastjson.TypeString {
			inner, err := p.ParseBytes(props.GetStringBytes())
			if err != nil || inner.Type() != fastjson.TypeObject {
				return h, errors.New("malformed props: want an object")
			}
			props = inner
		}
		obj, err := props.Object()
		if err != nil {
			return h, errors.New("malformed props: want an object")
		}
		obj.Visit(func(k []byte, pv *fastjson.Value) {
			h.addProp(string(k), scalar(pv))
		})
	}
	return h, nil
}

func get(v *fastjson.Value, keys ...string) *fastjson.Value {
	for _, k := range keys {
		if f := v.Get(k); f != nil && f.Type() != fastjson.TypeNull {
			return f
		}
	}
	return nil
}

func str(v *fastjson.Value, keys ...string) string {
	f := get(v, keys...)
	if f == nil {
		return ""
	}
	return scalar(f)
}

// scalar renders a JSON scalar as text; objects and arrays give "".
func scalar(f *fastjson.Value) string {
	switch f.Type() {
	case fastjson.TypeString:
		return string(f.GetStringBytes())
	case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
		return f.String()
	}
	return ""
}

func num(v *fastjson.Value, keys ...string) float64 {
	f := get(v, keys...)
	if f == nil {
		return 0
	}
	switch f.Type() {
	case fastjson.TypeNumber:
		return f.GetFloat64()
	case fastjson.TypeString:
		n, err := strconv.ParseFloat(string(f.GetStringBytes()), 64)
		if err == nil {
			return n
		}
	}
	return 0
}

func truthy(f *fastjson.Value) bool {
	if f == nil {
		return false
	}
	switch f.Type() {
	case fastjson.TypeTrue:
		return true
	case fastjson.TypeNumber:
		return f.GetFloat64() != 0
	case fastjson.TypeString:
		s := string(f.GetStringBytes())
		return s == "1" || s == "true"
	}
	return false
}

func clamp(x, lo, hi float64) float64 {
	if x != x || x < lo { // NaN too
		return lo
	}
	if x > hi {
		return hi
	}
	return x
}
