package collector

import (
	"bytes"
	"errors"
	"html/template"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"github.com/valyala/fasthttp"
)

// The opt-out page at /optout: a small page a site embeds in an iframe (or
// links to) from its privacy policy. It shows the visitor whether they are
// counted and lets them opt out or back in with a plain form, so it needs no
// script and works with JavaScript off. The choice is the shade_optout cookie
// on the collector's domain; Matomo's matomo_ignore counts too.
//
// The form has no CSRF token on purpose: the worst a forged POST can do is
// opt someone out of (or back into) anonymous counting, and a token would
// need a cookie or server state this page otherwise never creates.

// optOutMaxAge is 13 months in seconds, the longest a consent-like choice
// should last under the CNIL's guidance.
const optOutMaxAge = 34214400

// optOutCSP forbids everything but the page's own inline style and the form
// posting back here; frame-ancestors * lets any site embed it.
const optOutCSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors *"

// optOutText is the page's wording in one language.
type optOutText struct {
	Title, Counted, OptedOut, Signal, DNT, GPC, OptOut, OptIn, About string
}

var optOutTexts = map[string]optOutText{
	"en": {
		Title:    "Analytics opt-out",
		Counted:  "You are counted anonymously: no cookie, no personal data.",
		OptedOut: "You are not counted: you opted out in this browser.",
		Signal:   "You are not counted: your browser asks websites not to track you.",
		DNT:      "Your browser sends Do Not Track.",
		GPC:      "Your browser sends Global Privacy Control.",
		OptOut:   "Opt out",
		OptIn:    "Count me again",
		About:    "Opting out sets one cookie on this analytics domain that only remembers your choice. Clearing your cookies cancels it.",
	},
	"fr": {
		Title:    "Refus de la mesure d’audience",
		Counted:  "Votre visite est comptée de façon anonyme : sans cookie ni donnée personnelle.",
		OptedOut: "Votre visite n’est pas comptée : vous l’avez refusé dans ce navigateur.",
		Signal:   "Votre visite n’est pas comptée : votre navigateur demande aux sites de ne pas vous suivre.",
		DNT:      "Votre navigateur envoie Do Not Track.",
		GPC:      "Votre navigateur envoie Global Privacy Control.",
		OptOut:   "Ne plus être compté",
		OptIn:    "Être compté à nouveau",
		About:    "Le refus dépose sur ce domaine de mesure un seul cookie, qui ne retient que votre choix. Effacer vos cookies l’annule.",
	},
	"de": {
		Title:    "Widerspruch gegen die Reichweitenmessung",
		Counted:  "Ihr Besuch wird anonym gezählt: ohne Cookie und ohne personenbezogene Daten.",
		OptedOut: "Ihr Besuch wird nicht gezählt: Sie haben in diesem Browser widersprochen.",
		Signal:   "Ihr Besuch wird nicht gezählt: Ihr Browser bittet Websites, Sie nicht zu verfolgen.",
		DNT:      "Ihr Browser sendet Do Not Track.",
		GPC:      "Ihr Browser sendet Global Privacy Control.",
		OptOut:   "Nicht mehr zählen",
		OptIn:    "Wieder zählen",
		About:    "Der Widerspruch setzt auf dieser Analyse-Domain ein einziges Cookie, das nur Ihre Wahl speichert. Wenn Sie Ihre Cookies löschen, wird er aufgehoben.",
	},
}

var optOutPage = template.Must(template.New("optout").Parse(`<!doctype html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.T.Title}}</title>
<style>
body{font:15px/1.5 system-ui,sans-serif;margin:0;padding:12px;color:#222;background:transparent}
p{margin:0 0 8px}.state{font-weight:600}.small{color:#555;font-size:13px}
button{font:inherit;padding:4px 12px;cursor:pointer}
</style>
</head>
<body>
<p class="state" id="state">{{if .OptedOut}}{{.T.OptedOut}}{{else if or .DNT .GPC}}{{.T.Signal}}{{else}}{{.T.Counted}}{{end}}</p>
{{if .DNT}}<p>{{.T.DNT}}</p>
{{end}}{{if .GPC}}<p>{{.T.GPC}}</p>
{{end}}<form method="post" action="/optout">
<input type="hidden" name="lang" value="{{.Lang}}">
{{if .OptedOut}}<button type="submit" name="action" value="in">{{.T.OptIn}}</button>{{else}}<button type="submit" name="action" value="out">{{.T.OptOut}}</button>{{end}}
</form>
<p class="small">{{.T.About}}</p>
</body>
</html>
`))

type optOutView struct {
	Lang     string
	T        optOutText
	OptedOut bool
	DNT, GPC bool
}

// serveOptOut shows the opt-out page (GET) or records the visitor's choice (POST).
func (c *Collector) serveOptOut(ctx *fasthttp.RequestCtx) {
	switch {
	case ctx.IsGet() || ctx.IsHead():
		c.showOptOut(ctx)
	case ctx.IsPost():
		c.setOptOut(ctx)
	default:
		ctx.Response.Header.Set("Allow", "GET, POST")
		c.replyError(ctx, fasthttp.StatusMethodNotAllowed, errors.New("use GET or POST"))
	}
}

func (c *Collector) showOptOut(ctx *fasthttp.RequestCtx) {
	hdr := &ctx.Request.Header
	lang := optOutLang(ctx.QueryArgs().Peek("lang"), hdr.Peek("Accept-Language"))
	v := optOutView{
		Lang:     lang,
		T:        optOutTexts[lang],
		OptedOut: len(hdr.Cookie(OptOutCookie)) > 0 || len(hdr.Cookie("matomo_ignore")) > 0,
		DNT:      bytes.Equal(hdr.Peek("DNT"), []byte("1")),
		GPC:      bytes.Equal(hdr.Peek("Sec-GPC"), []byte("1")),
	}
	var buf bytes.Buffer
	if err := optOutPage.Execute(&buf, &v); err != nil {
		panic("BUG: opt-out template: " + err.Error())
	}
	rh := &ctx.Response.Header
	rh.Set("Content-Security-Policy", optOutCSP)
	rh.Set("Cache-Control", "private, no-store")
	rh.Set("X-Content-Type-Options", "nosniff")
	rh.Set("Referrer-Policy", "no-referrer")
	rh.Set("Content-Language", lang)
	ctx.SetContentType("text/html; charset=utf-8")
	ctx.SetBody(buf.Bytes())
}

func (c *Collector) setOptOut(ctx *fasthttp.RequestCtx) {
	args := ctx.PostArgs()
	lang := optOutLang(args.Peek("lang"), ctx.Request.Header.Peek("Accept-Language"))
	secure := ctx.IsTLS() || c.forwardedHTTPS(ctx)
	switch string(args.Peek("action")) {
	case "out":
		setOptOutCookie(ctx, OptOutCookie, "1", optOutMaxAge, secure)
	case "in":
		setOptOutCookie(ctx, OptOutCookie, "", -1, secure)
		if len(ctx.Request.Header.Cookie("matomo_ignore")) > 0 {
			setOptOutCookie(ctx, "matomo_ignore", "", -1, secure)
		}
	default:
		c.replyError(ctx, fasthttp.StatusBadRequest, errors.New("action must be out or in"))
		return
	}
	ctx.Response.Header.Set("Cache-Control", "no-store")
	ctx.Response.Header.Set("Location", "/optout?lang="+lang)
	ctx.SetStatusCode(fasthttp.StatusSeeOther)
}

// setOptOutCookie sets (maxAge > 0) or clears (maxAge < 0) a cookie on the
// collector's domain. In an iframe on the site's pages the collector is a
// third party, so over HTTPS the cookie must be SameSite=None to be stored
// and sent at all; over plain HTTP browsers refuse SameSite=None, and Lax
// still works when the page is opened directly.
func setOptOutCookie(ctx *fasthttp.RequestCtx, name, value string, maxAge int, secure bool) {
	var c fasthttp.Cookie
	c.SetKey(name)
	c.SetValue(value)
	c.SetPath("/")
	if maxAge < 0 {
		c.SetExpire(fasthttp.CookieExpireDelete)
	} else {
		c.SetMaxAge(maxAge)
	}
	c.SetHTTPOnly(true)
	if secure {
		c.SetSecure(true)
		c.SetSameSite(fasthttp.CookieSameSiteNoneMode)
	} else {
		c.SetSameSite(fasthttp.CookieSameSiteLaxMode)
	}
	ctx.Response.Header.SetCookie(&c)
}

// forwardedHTTPS reports whether a trusted proxy says the visitor used HTTPS.
func (c *Collector) forwardedHTTPS(ctx *fasthttp.RequestCtx) bool {
	var peer netip.Addr
	if tcp, ok := ctx.RemoteAddr().(*net.TCPAddr); ok {
		peer, _ = netip.AddrFromSlice(tcp.IP)
	}
	if !trusted(peer.Unmap(), c.cfg.TrustedProxies) {
		return false
	}
	hdr := &ctx.Request.Header
	if p := hdr.Peek("X-Forwarded-Proto"); len(p) > 0 {
		return bytes.EqualFold(bytes.TrimSpace(p), []byte("https"))
	}
	for _, pair := range bytes.Split(hdr.Peek("Forwarded"), []byte(";")) {
		k, v, _ := bytes.Cut(bytes.TrimSpace(pair), []byte("="))
		if bytes.EqualFold(k, []byte("proto")) {
			v, _, _ = bytes.Cut(v, []byte(","))
			return bytes.EqualFold(bytes.Trim(v, `" `), []byte("https"))
		}
	}
	return false
}

// optOutLang picks the page's language: ?lang= when supported, else the
// supported language the visitor prefers most in Accept-Language, else English.
func optOutLang(param, acceptLang []byte) string {
	if l := baseLang(string(param)); optOutTexts[l] != (optOutText{}) {
		return l
	}
	best, bestQ := "en", 0.0
	for _, entry := range strings.Split(string(acceptLang), ",") {
		tag, q := entry, 1.0
		if i := strings.IndexByte(entry, ';'); i >= 0 {
			tag = entry[:i]
			if qs, ok := strings.CutPrefix(strings.TrimSpace(entry[i+1:]), "q="); ok {
				f, err := strconv.ParseFloat(qs, 64)
				if err != nil {
					continue
				}
				q = f
			}
		}
		if l := baseLang(tag); q > bestQ && optOutTexts[l] != (optOutText{}) {
			best, bestQ = l, q
		}
	}
	return best
}

func baseLang(tag string) string {
	tag = strings.TrimSpace(tag)
	if i := strings.IndexAny(tag, "-_"); i >= 0 {
		tag = tag[:i]
	}
	return strings.ToLower(tag)
}
