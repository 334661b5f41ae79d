package collector

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"

	"github.com/valyala/fasthttp"

	trackerjs "github.com/shade-analytics/shade/tracker-js"
)

// Handler routes the collector's endpoints and passes every other request to next.
func (c *Collector) Handler(next fasthttp.RequestHandler) (fasthttp.RequestHandler, error) {
	snippet, err := trackerjs.Load()
	if err != nil {
		return nil, fmt.Errorf("cannot build shade.js: %w", err)
	}
	optout, err := trackerjs.LoadOptOut()
	if err != nil {
		return nil, fmt.Errorf("cannot build shade-optout.js: %w", err)
	}
	versioned := "/shade." + snippet.Hash + ".js"
	return func(ctx *fasthttp.RequestCtx) {
		switch string(ctx.Path()) {
		case "/api/event":
			c.serveEvent(ctx)
		case "/t.gif":
			c.servePixel(ctx)
		case "/matomo.php", "/piwik.php":
			c.serveMatomo(ctx)
		case "/optout":
			c.serveOptOut(ctx)
		case "/shade.js":
			serveAsset(ctx, snippet, "public, max-age=3600")
		case "/shade-optout.js":
			serveAsset(ctx, optout, "public, max-age=3600")
		case versioned:
			serveAsset(ctx, snippet, "public, max-age=31536000, immutable")
		case "/healthz":
			ctx.SetContentType("text/plain; charset=utf-8")
			ctx.SetBodyString("ok\n")
		case "/readyz":
			c.serveReady(ctx)
		case "/metrics":
			ctx.SetContentType("text/plain; version=0.0.4; charset=utf-8")
			c.metrics.WritePrometheus(ctx)
		default:
			// Behind a trusted proxy, the dashboard's rate limits and logs
			// must see the client, not the proxy.
			if len(c.cfg.TrustedProxies) > 0 {
				hdr := &ctx.Request.Header
				ip := clientIP(ctx.RemoteAddr(), hdr.Peek("X-Forwarded-For"), hdr.Peek("Forwarded"), c.cfg.TrustedProxies)
				ctx.SetRemoteAddr(&net.TCPAddr{IP: ip.AsSlice()})
			}
			next(ctx)
		}
	}, nil
}

func (c *Collector) serveReady(ctx *fasthttp.RequestCtx) {
	ctx.SetContentType("text/plain; charset=utf-8")
	if !c.Ready() {
		ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
		ctx.SetBodyString("not ready: salts not loaded from ClickHouse\n")
		return
	}
	if c.cfg.Readiness != nil {
		ok, detail := c.cfg.Readiness()
		if !ok {
			ctx.SetStatusCode(fasthttp.StatusServiceUnavailable)
			ctx.SetBodyString("not ready: " + detail + "\n")
			return
		}
		ctx.SetBodyString("ready: " + detail + "\n")
		return
	}
	ctx.SetBodyString("ready\n")
}

func (c *Collector) serveEvent(ctx *fasthttp.RequestCtx) {
	ctx.Response.Header.Set("Access-Control-Allow-Origin", "*")
	switch {
	case ctx.IsOptions():
		preflight(ctx, "POST")
		return
	case !ctx.IsPost():
		ctx.Response.Header.Set("Allow", "POST, OPTIONS")
		c.replyError(ctx, fasthttp.StatusMethodNotAllowed, errors.New("use POST"))
		return
	}
	body := ctx.PostBody()
	if len(body) > MaxBodyBytes {
		c.replyError(ctx, fasthttp.StatusRequestEntityTooLarge,
			fmt.Errorf("body of %d bytes is over the %d-byte limit", len(body), MaxBodyBytes))
		return
	}
	h, err := decodeEvent(body)
	if err != nil {
		c.replyError(ctx, fasthttp.StatusBadRequest, err)
		return
	}
	c.accept(ctx, &h)
	if ctx.Response.StatusCode() == fasthttp.StatusAccepted {
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetBodyString("ok")
	}
}

// preflight answers a CORS preflight request for the given methods.
func preflight(ctx *fasthttp.RequestCtx, methods string) {
	ctx.Response.Header.Set("Access-Control-Allow-Methods", methods)
	ctx.Response.Header.Set("Access-Control-Allow-Headers", "Content-Type")
	ctx.Response.Header.Set("Access-Control-Max-Age", "86400")
	ctx.SetStatusCode(fasthttp.StatusNoContent)
}

// transparentGIF is the smallest valid 1x1 transparent GIF.
var transparentGIF = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")

// servePixel handles the noscript image: the same fields as /api/event in
// the query string; the page URL defaults to the image request's Referer.
func (c *Collector) servePixel(ctx *fasthttp.RequestCtx) {
	if !ctx.IsGet() && !ctx.IsHead() {
		c.replyError(ctx, fasthttp.StatusMethodNotAllowed, errors.New("use GET"))
		return
	}
	args := ctx.QueryArgs()
	h := Hit{
		Name:     clean(string(args.Peek("n")), maxNameLen),
		URL:      clean(string(args.Peek("u")), maxURLLen),
		Domain:   clean(string(args.Peek("d")), maxDomainLen),
		Referrer: clean(string(args.Peek("r")), maxURLLen),
		Title:    clean(string(args.Peek("t")), maxTitleLen),
	}
	if h.Name == "" {
		h.Name = NamePageview
	}
	if h.URL == "" {
		h.URL = clean(string(ctx.Request.Header.Referer()), maxURLLen)
	}
	if h.URL == "" {
		c.replyError(ctx, fasthttp.StatusBadRequest, errors.New("missing page URL: pass u= or send a Referer"))
		return
	}
	if h.Domain == "" {
		c.replyError(ctx, fasthttp.StatusBadRequest, errNoDomain)
		return
	}
	c.accept(ctx, &h)
	if ctx.Response.StatusCode() == fasthttp.StatusAccepted {
		ctx.SetStatusCode(fasthttp.StatusOK)
		ctx.Response.Header.Set("Cache-Control", "no-store")
		ctx.SetContentType("image/gif")
		ctx.SetBody(transparentGIF)
	}
}

// accept runs a decoded hit through the pipeline into the sink and sets the
// reply's status: 202 accepted or dropped (with Shade-Dropped), 4xx for bad
// input, 503 when it cannot be kept.
func (c *Collector) accept(ctx *fasthttp.RequestCtx, h *Hit) {
	r := c.requestInfo(ctx)
	drop, status, err := c.keep(h, &r)
	if err != nil {
		c.replyError(ctx, status, err)
		return
	}
	if drop != "" {
		ctx.Response.Header.Set("Shade-Dropped", drop)
	}
	ctx.SetStatusCode(fasthttp.StatusAccepted)
}

func (c *Collector) requestInfo(ctx *fasthttp.RequestCtx) request {
	hdr := &ctx.Request.Header
	return request{
		ip:         clientIP(ctx.RemoteAddr(), hdr.Peek("X-Forwarded-For"), hdr.Peek("Forwarded"), c.cfg.TrustedProxies),
		ua:         hdr.UserAgent(),
		dnt:        bytes.Equal(hdr.Peek("DNT"), []byte("1")),
		gpc:        bytes.Equal(hdr.Peek("Sec-GPC"), []byte("1")),
		optOut:     len(hdr.Cookie(OptOutCookie)) > 0 || len(hdr.Cookie("matomo_ignore")) > 0,
		prefetch:   isPrefetch(hdr),
		acceptLang: hdr.Peek("Accept-Language"),
		now:        c.cfg.Now(),
	}
}

// OptOutCookie is the cookie, on the collector's domain, that marks a visitor who opted out.
const OptOutCookie = "shade_optout"

func isPrefetch(hdr *fasthttp.RequestHeader) bool {
	for _, name := range []string{"Purpose", "Sec-Purpose", "X-Purpose", "X-Moz"} {
		v := hdr.Peek(name)
		if bytes.Contains(v, []byte("prefetch")) || bytes.Contains(v, []byte("preview")) || bytes.Contains(v, []byte("prerender")) {
			return true
		}
	}
	return false
}

// statusOf maps a processing error to its HTTP status.
func statusOf(err error) int {
	switch {
	case errors.Is(err, errUnknownSite):
		return fasthttp.StatusNotFound
	case errors.Is(err, errNotReady), errors.Is(err, ErrBackpressure):
		return fasthttp.StatusServiceUnavailable
	default:
		return fasthttp.StatusBadRequest
	}
}

// replyError writes {"error": "..."}; a 503 says when to retry.
func (c *Collector) replyError(ctx *fasthttp.RequestCtx, status int, err error) {
	if status == fasthttp.StatusServiceUnavailable {
		c.stats.unavailable.Inc()
		ctx.Response.Header.Set("Retry-After", "5")
	} else {
		c.stats.badRequests.Inc()
	}
	ctx.SetStatusCode(status)
	ctx.SetContentType("application/json")
	ctx.SetBodyString(`{"error":` + strconv.Quote(err.Error()) + "}\n")
}

// serveAsset serves a precompressed script with validators.
func serveAsset(ctx *fasthttp.RequestCtx, a *trackerjs.Asset, cacheControl string) {
	if !ctx.IsGet() && !ctx.IsHead() {
		ctx.SetStatusCode(fasthttp.StatusMethodNotAllowed)
		return
	}
	hdr := &ctx.Response.Header
	hdr.Set("Cache-Control", cacheControl)
	hdr.Set("ETag", a.ETag)
	hdr.Set("Vary", "Accept-Encoding")
	hdr.Set("Access-Control-Allow-Origin", "*")
	hdr.Set("Cross-Origin-Resource-Policy", "cross-origin")
	hdr.Set("X-Content-Type-Options", "nosniff")
	ctx.SetContentType(trackerjs.ContentType)
	if bytes.Equal(ctx.Request.Header.Peek("If-None-Match"), []byte(a.ETag)) {
		ctx.SetStatusCode(fasthttp.StatusNotModified)
		return
	}
	switch {
	case ctx.Request.Header.HasAcceptEncoding("br"):
		hdr.Set("Content-Encoding", "br")
		ctx.SetBody(a.Brotli)
	case ctx.Request.Header.HasAcceptEncoding("gzip"):
		hdr.Set("Content-Encoding", "gzip")
		ctx.SetBody(a.Gzip)
	default:
		ctx.SetBody(a.Raw)
	}
}
