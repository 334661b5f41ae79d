package dashboard

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/shade-analytics/shade/storage"
)

const (
	sessionCookie = "shade_session"
	loginCSRF     = "shade_login_csrf"
)

type ctxKey int

const (
	userKey ctxKey = iota
	sessionKey
)

func userOf(r *http.Request) *storage.User {
	u, _ := r.Context().Value(userKey).(*storage.User)
	return u
}

func sessionOf(r *http.Request) *storage.AuthSession {
	s, _ := r.Context().Value(sessionKey).(*storage.AuthSession)
	return s
}

func (h *Handler) setCookie(w http.ResponseWriter, name, value, path string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: path, MaxAge: maxAge, HttpOnly: true,
		Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode})
}

// authenticate finds the request's session, if any.
func (h *Handler) authenticate(r *http.Request) (*storage.User, *storage.AuthSession, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, nil, errUnauthorized
	}
	s, err := h.store.AuthSessionBySecret(r.Context(), c.Value)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, errUnauthorized
	} else if err != nil {
		return nil, nil, err
	}
	u, err := h.store.UserByEmail(r.Context(), s.Email)
	if errors.Is(err, storage.ErrNotFound) {
		return nil, nil, errUnauthorized
	} else if err != nil {
		return nil, nil, err
	}
	return &u, &s, nil
}

// sameOrigin rejects a state-changing request sent from another site. The
// CSRF token is the real defence; this also stops a leaked token's use.
func sameOrigin(r *http.Request) bool {
	if r.Header.Get("Sec-Fetch-Site") == "cross-site" {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}

// withUser requires a signed-in user; a POST must also carry the session's CSRF token.
func (h *Handler) withUser(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		u, s, err := h.authenticate(r)
		if errors.Is(err, errUnauthorized) {
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			h.pageError(w, r, err)
			return
		} else if err != nil {
			h.pageError(w, r, err)
			return
		}
		if r.Method == http.MethodPost {
			if !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(s.CSRF)) != 1 {
				h.pageError(w, r, errForbidden)
				return
			}
		}
		ctx := context.WithValue(context.WithValue(r.Context(), userKey, u), sessionKey, s)
		next(w, r.WithContext(ctx))
	}
}

// withAdmin requires an admin.
func (h *Handler) withAdmin(next http.HandlerFunc) http.HandlerFunc {
	return h.withUser(func(w http.ResponseWriter, r *http.Request) {
		if userOf(r).Role != storage.RoleAdmin {
			h.pageError(w, r, errNotFound)
			return
		}
		next(w, r)
	})
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic("BUG: crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// safeNext keeps a post-sign-in redirect on this site.
func safeNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		return "/"
	}
	return next
}

func (h *Handler) loginPage(w http.ResponseWriter, r *http.Request) {
	token := randomToken()
	h.setCookie(w, loginCSRF, token, "/login", 3600)
	h.render(w, r, http.StatusOK, "login", map[string]any{"CSRF": token, "Next": safeNext(r.URL.Query().Get("next"))})
}

// dummyHash keeps a sign-in with an unknown email as slow as one with a
// known email, so timing does not tell which accounts exist.
var dummyHash, _ = storage.HashPassword("not a real password, only for timing")

func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		token := randomToken()
		h.setCookie(w, loginCSRF, token, "/login", 3600)
		h.render(w, r, status, "login", map[string]any{"CSRF": token, "Next": safeNext(r.PostFormValue("next")),
			"Error": msg, "Email": r.PostFormValue("email")})
	}
	c, err := r.Cookie(loginCSRF)
	if err != nil || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		fail(http.StatusForbidden, "Your sign-in form expired. Please try again.")
		return
	}
	email := strings.ToLower(strings.TrimSpace(r.PostFormValue("email")))
	client := clientKey(r)
	if !h.limiter.allow("email:"+email) || !h.limiter.allow("client:"+client) {
		w.Header().Set("Retry-After", "900")
		fail(http.StatusTooManyRequests, "Too many sign-in attempts. Please wait 15 minutes and try again.")
		return
	}
	u, err := h.store.UserByEmail(r.Context(), email)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		h.pageError(w, r, err)
		return
	}
	hash := u.PasswordHash
	if err != nil {
		hash = dummyHash
	}
	if !storage.CheckPassword(hash, r.PostFormValue("password")) || err != nil {
		h.limiter.fail("email:" + email)
		h.limiter.fail("client:" + client)
		fail(http.StatusUnauthorized, "Wrong email or password.")
		return
	}
	secret, _, err := h.store.CreateAuthSession(r.Context(), u.Email, h.cfg.SessionTTL)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	h.limiter.reset("email:" + email)
	h.setCookie(w, loginCSRF, "", "/login", -1)
	h.setCookie(w, sessionCookie, secret, "/", int(h.cfg.SessionTTL.Seconds()))
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if err := h.store.EndAuthSession(r.Context(), *sessionOf(r)); err != nil {
		h.pageError(w, r, err)
		return
	}
	h.setCookie(w, sessionCookie, "", "/", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// clientKey identifies the client for rate limiting. It is kept in memory
// only, never logged or stored. Behind a reverse proxy, the server in front
// is expected to have set RemoteAddr to the client's address.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiter counts failed attempts per key in fixed windows, in memory.
type limiter struct {
	mu     sync.Mutex
	max    int
	window time.Duration
	now    func() time.Time
	seen   map[string]*attempts
}

type attempts struct {
	n     int
	start time.Time
}

// limiterCap bounds the memory an attack with many keys can take.
const limiterCap = 100_000

func newLimiter(max int, window time.Duration) *limiter {
	return &limiter{max: max, window: window, now: time.Now, seen: map[string]*attempts{}}
}

func (l *limiter) allow(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	a := l.seen[key]
	if a == nil && len(l.seen) >= limiterCap {
		a = l.seen["overflow"]
	}
	if a == nil || l.now().Sub(a.start) > l.window {
		return true
	}
	return a.n < l.max
}

func (l *limiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.seen) >= limiterCap {
		for k, a := range l.seen {
			if now.Sub(a.start) > l.window {
				delete(l.seen, k)
			}
		}
		if len(l.seen) >= limiterCap {
			// Still full of live entries: refuse to grow rather than forget
			// a key under attack; new keys share one bucket.
			key = "overflow"
		}
	}
	a := l.seen[key]
	if a == nil || now.Sub(a.start) > l.window {
		a = &attempts{start: now}
		l.seen[key] = a
	}
	a.n++
}

func (l *limiter) reset(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.seen, key)
}
