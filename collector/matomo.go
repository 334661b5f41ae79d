package collector

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
	"github.com/valyala/fastjson"
)

// Matomo's Tracking HTTP API, served at /matomo.php and /piwik.php so that a
// site moving from Matomo keeps its matomo.js snippet and only changes the
// tracker URL. docs/compatibility.md lists the parameters honoured and the
// ones ignored on purpose (client-supplied IPs, visitor ids and timestamps).

// DropUnsupported marks a Matomo request of a kind Shade does not store
// (content impressions, goal and ecommerce conversions).
const DropUnsupported = "unsupported"

// Matomo names for the events Shade stores under its own names.
const (
	NameSiteSearch   = "Site Search"
	NameOutboundLink = "Outbound Link: Click"
	NameFileDownload = "File Download"
)

// maxBulkRequests bounds the requests of one bulk POST; the body cap bounds
// it already, this keeps a body of tiny strings from becoming a long loop.
const maxBulkRequests = 1000

// Matomo decoding errors, answered with 400 (or counted as invalid in a bulk).
var (
	errMatomoNoRec    = errors.New("missing rec=1: Matomo ignores requests without it")
	errMatomoNoSite   = errors.New("missing or invalid idsite: want the site's numeric Matomo id")
	errMatomoNoURL    = errors.New("missing page URL (url)")
	errMatomoBadEvent = errors.New("an event needs both a category (e_c) and an action (e_a)")
)

// matomoHit is a decoded Matomo request: the hit, or the reason it is not
// stored (drop), and whether the reply is the GIF or an empty 204.
type matomoHit struct {
	Hit
	drop    string
	noImage bool
}

// params reads a Matomo parameter. Matomo merges $_GET and $_POST with the
// query string winning; lookup does the same.
type params interface {
	Peek(key string) []byte
}

// argsParams looks a parameter up in the query string first, then in the form body.
type argsParams struct{ query, form *fasthttp.Args }

func (p argsParams) Peek(key string) []byte {
	if v := p.query.Peek(key); v != nil {
		return v
	}
	if p.form != nil {
		return p.form.Peek(key)
	}
	return nil
}

// decodeMatomo turns one Matomo tracking request into a hit.
func decodeMatomo(p params) (matomoHit, error) {
	var m matomoHit
	m.noImage = string(p.Peek("send_image")) == "0"
	if string(bytes.TrimSpace(p.Peek("rec"))) != "1" {
		return m, errMatomoNoRec
	}
	id, err := strconv.ParseUint(string(bytes.TrimSpace(p.Peek("idsite"))), 10, 32)
	if err != nil || id == 0 {
		return m, errMatomoNoSite
	}
	h := &m.Hit
	h.MatomoSiteID = uint32(id)
	h.URL = clean(string(p.Peek("url")), maxURLLen)
	if h.URL == "" {
		return m, errMatomoNoURL
	}
	h.Referrer = clean(string(p.Peek("urlref")), maxURLLen)
	h.Title = clean(string(p.Peek("action_name")), maxTitleLen)
	h.Width = matomoWidth(p.Peek("res"))
	h.Language = matomoLanguage(p.Peek("lang"))

	// One request is one action; Matomo's own precedence decides which.
	category := clean(string(p.Peek("e_c")), maxPropValLen)
	action := clean(string(p.Peek("e_a")), maxPropValLen)
	switch {
	case string(p.Peek("ping")) == "1":
		// A heartbeat: the visit lasted until now. matomo.js sends no time
		// with it, so it adds nothing to EngagementMS.
		h.Name = NameEngagement
	case category != "" || action != "":
		if category == "" || action == "" {
			return m, errMatomoBadEvent
		}
		h.Name = clean(category+": "+action, maxNameLen)
		h.addProp("category", category)
		h.addProp("action", action)
		if n := clean(string(p.Peek("e_n")), maxPropValLen); n != "" {
			h.addProp("name", n)
		}
		// Matomo drops a non-numeric event value; so do we.
		if v := strings.TrimSpace(string(p.Peek("e_v"))); v != "" {
			if f, err := strconv.ParseFloat(v, 64); err == nil && f == f {
				h.addProp("value", strconv.FormatFloat(f, 'f', -1, 64))
			}
		}
	case p.Peek("c_n") != nil || p.Peek("c_i") != nil:
		// Content impressions and interactions have no report in Shade.
		m.drop = DropUnsupported
	case p.Peek("idgoal") != nil:
		// Goal and ecommerce conversions: Shade derives goals from pageviews
		// and events itself, so storing these would count them twice.
		m.drop = DropUnsupported
	case p.Peek("search") != nil:
		h.Name = NameSiteSearch
		h.addProp("query", string(p.Peek("search")))
		if c := clean(string(p.Peek("search_cat")), maxPropValLen); c != "" {
			h.addProp("category", c)
		}
		if n, err := strconv.ParseUint(string(bytes.TrimSpace(p.Peek("search_count"))), 10, 32); err == nil {
			h.addProp("count", strconv.FormatUint(n, 10))
		}
	case len(p.Peek("link")) > 0:
		h.Name = NameOutboundLink
		h.addProp("url", linkURL(p.Peek("link")))
	case len(p.Peek("download")) > 0:
		h.Name = NameFileDownload
		h.addProp("url", linkURL(p.Peek("download")))
	case string(p.Peek("ca")) == "1":
		// A "custom action" of a kind not handled above (media, performance,
		// crash tracking): not a pageview.
		m.drop = DropUnsupported
	default:
		h.Name = NamePageview
	}
	return m, nil
}

// matomoWidth reads res ("1920x1080"); anything else is an unknown width,
// as in Matomo.
func matomoWidth(res []byte) int {
	w, hgt, ok := bytes.Cut(bytes.TrimSpace(res), []byte("x"))
	if !ok {
		return 0
	}
	n, err := strconv.Atoi(string(w))
	if err != nil || n <= 0 || n > 100000 {
		return 0
	}
	if h, err := strconv.Atoi(string(hgt)); err != nil || h <= 0 {
		return 0
	}
	return n
}

// matomoLanguage takes the first tag of lang, which Matomo accepts in
// Accept-Language form ("fr-fr,en;q=0.5").
func matomoLanguage(lang []byte) string {
	if i := bytes.IndexAny(lang, ",;"); i >= 0 {
		lang = lang[:i]
	}
	return clean(string(lang), maxLanguageLen)
}

// linkURL keeps a clicked link's URL without query string and fragment,
// like the snippet: they may carry tokens or personal data.
func linkURL(b []byte) string {
	if i := bytes.IndexAny(b, "?#"); i >= 0 {
		b = b[:i]
	}
	return clean(string(b), maxPropValLen)
}

// serveMatomo handles GET and POST /matomo.php and /piwik.php: one request
// in the query string and/or a form body, or a bulk JSON body.
func (c *Collector) serveMatomo(ctx *fasthttp.RequestCtx) {
	// matomo.js sends with credentials (for the matomo_ignore cookie); a
	// wildcard origin would make the browser refuse the reply. Matomo echoes
	// the origin too. The replies hold nothing secret.
	if origin := ctx.Request.Header.Peek("Origin"); len(origin) > 0 {
		ctx.Response.Header.SetBytesV("Access-Control-Allow-Origin", origin)
		ctx.Response.Header.Set("Access-Control-Allow-Credentials", "true")
		ctx.Response.Header.Set("Vary", "Origin")
	} else {
		ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
	}
	switch {
	case ctx.IsOptions():
		preflight(ctx, "GET, POST")
		return
	case !ctx.IsGet() && !ctx.IsPost() && !ctx.IsHead():
		ctx.Response.Header.Set("Allow", "GET, POST, OPTIONS")
		c.replyError(ctx, fasthttp.StatusMethodNotAllowed, errors.New("use GET or POST"))
		return
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	var form *fasthttp.Args
	if ctx.IsPost() {
		body := ctx.PostBody()
		if len(body) > MaxBodyBytes {
			c.replyError(ctx, fasthttp.StatusRequestEntityTooLarge,
				fmt.Errorf("body of %d bytes is over the %d-byte limit", len(body), MaxBodyBytes))
			return
		}
		// matomo.js sends bulk requests as JSON with the form content type,
		// so the body's first byte decides.
		if trimmed := bytes.TrimSpace(body); len(trimmed) > 0 && trimmed[0] == '{' {
			c.serveMatomoBulk(ctx, trimmed)
			return
		}
		form = ctx.PostArgs()
		if form.Len() == 0 && len(body) > 0 {
			// A server-side client that forgot the form content type.
			form = &fasthttp.Args{}
			form.ParseBytes(body)
		}
	}
	m, err := decodeMatomo(argsParams{query: ctx.QueryArgs(), form: form})
	if err != nil {
		c.replyError(ctx, fasthttp.StatusBadRequest, err)
		return
	}
	drop := m.drop
	if drop != "" {
		c.metrics.GetOrCreateCounter(dropMetric(drop)).Inc()
	} else {
		r := c.requestInfo(ctx)
		var status int
		drop, status, err = c.keep(&m.Hit, &r)
		if err != nil {
			c.replyError(ctx, status, err)
			return
		}
	}
	if drop != "" {
		ctx.Response.Header.Set("Shade-Dropped", drop)
	}
	if m.noImage {
		ctx.SetStatusCode(fasthttp.StatusNoContent)
		return
	}
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("image/gif")
	ctx.SetBody(transparentGIF)
}

// serveMatomoBulk handles {"requests": ["?idsite=1&rec=1&url=…", …]}. Each
// request goes through the same path as a single one; the reply counts them
// as Matomo does. Dropped requests (DNT, opt-out, bots) count as tracked:
// the request was valid and handled. Requests are kept in order, and when
// one cannot be kept (503) the reply says how many were, so a client can
// resend only the rest.
func (c *Collector) serveMatomoBulk(ctx *fasthttp.RequestCtx, body []byte) {
	p := parsers.Get()
	defer parsers.Put(p)
	v, err := p.ParseBytes(body)
	if err != nil {
		c.replyError(ctx, fasthttp.StatusBadRequest, fmt.Errorf("malformed bulk JSON: %w", err))
		return
	}
	reqs := v.GetArray("requests")
	if v.Type() != fastjson.TypeObject || reqs == nil {
		c.replyError(ctx, fasthttp.StatusBadRequest, errors.New(`malformed bulk request: want {"requests": ["?idsite=…&rec=1&url=…", …]}`))
		return
	}
	if len(reqs) > maxBulkRequests {
		c.replyError(ctx, fasthttp.StatusRequestEntityTooLarge,
			fmt.Errorf("bulk request of %d requests is over the limit of %d", len(reqs), maxBulkRequests))
		return
	}
	r := c.requestInfo(ctx)
	var args fasthttp.Args
	tracked := 0
	invalid := []int{}
	for i, q := range reqs {
		if q.Type() != fastjson.TypeString {
			invalid = append(invalid, i)
			continue
		}
		s := q.GetStringBytes()
		if len(s) > 0 && s[0] == '?' {
			s = s[1:]
		}
		args.ParseBytes(s)
		m, err := decodeMatomo(&args)
		if err != nil {
			invalid = append(invalid, i)
			continue
		}
		if m.drop != "" {
			c.metrics.GetOrCreateCounter(dropMetric(m.drop)).Inc()
			tracked++
			continue
		}
		_, status, err := c.keep(&m.Hit, &r)
		switch {
		case status == fasthttp.StatusServiceUnavailable:
			c.stats.unavailable.Inc()
			ctx.Response.Header.Set("Retry-After", "5")
			ctx.SetStatusCode(status)
			ctx.SetContentType("application/json")
			ctx.SetBodyString(fmt.Sprintf(`{"error":%s,"tracked":%d}`+"\n", strconv.Quote(err.Error()), tracked))
			return
		case err != nil:
			invalid = append(invalid, i)
		default:
			tracked++
		}
	}
	if len(invalid) > 0 {
		c.stats.badRequests.Add(len(invalid))
	}
	var b []byte
	b = fmt.Appendf(b, `{"status":"success","tracked":%d,"invalid":%d,"invalid_indices":[`, tracked, len(invalid))
	for i, n := range invalid {
		if i > 0 {
			b = append(b, ',')
		}
		b = strconv.AppendInt(b, int64(n), 10)
	}
	b = append(b, "]}\n"...)
	ctx.SetStatusCode(fasthttp.StatusOK)
	ctx.SetContentType("application/json")
	ctx.SetBody(b)
}
