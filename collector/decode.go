package collector

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

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
	// One pass over the object's fields: looking each name up in turn would
	// scan the object once per alias. Text fields are only noted here, as
	// bytes in the parser's buffer, and copied out together below.
	obj, _ := v.Object()
	var props *fastjson.Value
	var text [numTextFields][]byte
	obj.Visit(func(k []byte, f *fastjson.Value) {
		if f.Type() == fastjson.TypeNull {
			return
		}
		switch string(k) {
		case "n", "name":
			text[textName] = scalarBytes(f)
		case "u", "url":
			text[textURL] = scalarBytes(f)
		case "d", "domain":
			text[textDomain] = scalarBytes(f)
		case "r", "referrer":
			text[textReferrer] = scalarBytes(f)
		case "t", "title":
			text[textTitle] = scalarBytes(f)
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
	// Before props: parsing a props string reuses p and its buffer.
	h.setText(&text)
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

// Hit's text fields, as decodeEvent collects them.
const (
	textName = iota
	textURL
	textDomain
	textReferrer
	textTitle
	numTextFields
)

var textMax = [numTextFields]int{maxNameLen, maxURLLen, maxDomainLen, maxURLLen, maxTitleLen}

// setText cleans the text fields and copies them out of the parser's buffer
// with one allocation for all of them instead of one each; they are read
// and stored together anyway.
func (h *Hit) setText(text *[numTextFields][]byte) {
	var slow [numTextFields]string
	var isSlow [numTextFields]bool
	n := 0
	for i, b := range text {
		if c, ok := cleanASCII(b, textMax[i]); ok {
			text[i] = c
			n += len(c)
		} else {
			slow[i], isSlow[i] = clean(string(b), textMax[i]), true
			n += len(slow[i])
		}
	}
	var sb strings.Builder
	sb.Grow(n)
	var end [numTextFields]int
	for i := range text {
		if isSlow[i] {
			sb.WriteString(slow[i])
		} else {
			sb.Write(text[i])
		}
		end[i] = sb.Len()
	}
	all := sb.String()
	h.Name = all[:end[textName]]
	h.URL = all[end[textName]:end[textURL]]
	h.Domain = all[end[textURL]:end[textDomain]]
	h.Referrer = all[end[textDomain]:end[textReferrer]]
	h.Title = all[end[textReferrer]:end[textTitle]]
}

// scalarBytes is scalar as bytes, without a copy for strings: they stay in
// the parser's buffer.
func scalarBytes(f *fastjson.Value) []byte {
	switch f.Type() {
	case fastjson.TypeString:
		return f.GetStringBytes()
	case fastjson.TypeNumber, fastjson.TypeTrue, fastjson.TypeFalse:
		return f.MarshalTo(nil)
	}
	return nil
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

// number reads a JSON number, or a string holding one; anything else is 0.
func number(f *fastjson.Value) float64 {
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
