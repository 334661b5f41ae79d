package dashboard

import (
	"crypto/subtle"
	"net/http"

	"github.com/shade-analytics/shade/storage"
)

const sharedCookie = "shade_shared"

// sharedUnlock is the cookie value proving a link's password was given. It
// derives from the stored hashes only, so it cannot be made without a read of
// the database, and it changes when the link's password does.
func sharedUnlock(l storage.SharedLink) string {
	return storage.HashToken("unlock|" + l.Hash + "|" + l.PasswordHash)
}

// sharedSite resolves a shared link; unlocked is false while a password is due.
func (h *Handler) sharedSite(r *http.Request) (storage.Site, storage.SharedLink, bool, error) {
	link, err := h.store.SharedLinkBySecret(r.Context(), r.PathValue("secret"))
	if err != nil {
		return storage.Site{}, link, false, err
	}
	site, err := h.store.SiteByID(r.Context(), link.SiteID)
	if err != nil {
		return site, link, false, err
	}
	if link.PasswordHash == "" {
		return site, link, true, nil
	}
	c, err := r.Cookie(sharedCookie)
	ok := err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(sharedUnlock(link))) == 1
	return site, link, ok, nil
}

func (h *Handler) sharedPage(w http.ResponseWriter, r *http.Request) {
	site, _, unlocked, err := h.sharedSite(r)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	if !unlocked {
		h.renderSharedLogin(w, r, http.StatusOK, "")
		return
	}
	data, err := h.reportData(r, site, "/share/"+r.PathValue("secret"))
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	data["Shared"] = true
	h.render(w, r, http.StatusOK, "report", data)
}

func (h *Handler) renderSharedLogin(w http.ResponseWriter, r *http.Request, status int, msg string) {
	token := randomToken()
	h.setCookie(w, loginCSRF, token, "/share/"+r.PathValue("secret"), 3600)
	h.render(w, r, status, "shared_login", map[string]any{"Title": "Password required", "CSRF": token,
		"Action": "/share/" + r.PathValue("secret"), "Error": msg})
}

func (h *Handler) sharedLogin(w http.ResponseWriter, r *http.Request) {
	_, link, _, err := h.sharedSite(r)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	c, err := r.Cookie(loginCSRF)
	if err != nil || !sameOrigin(r) || subtle.ConstantTimeCompare([]byte(c.Value), []byte(r.PostFormValue("csrf"))) != 1 {
		h.renderSharedLogin(w, r, http.StatusForbidden, "The form expired. Please try again.")
		return
	}
	key := "link:" + link.Hash
	if !h.limiter.allow(key) || !h.limiter.allow("client:"+clientKey(r)) {
		h.renderSharedLogin(w, r, http.StatusTooManyRequests, "Too many attempts. Please wait 15 minutes.")
		return
	}
	if link.PasswordHash == "" || !storage.CheckPassword(link.PasswordHash, r.PostFormValue("password")) {
		h.limiter.fail(key)
		h.limiter.fail("client:" + clientKey(r))
		h.renderSharedLogin(w, r, http.StatusUnauthorized, "Wrong password.")
		return
	}
	h.setCookie(w, sharedCookie, sharedUnlock(link), "/share/"+r.PathValue("secret"), 7*24*3600)
	http.Redirect(w, r, "/share/"+r.PathValue("secret")+"/overview", http.StatusSeeOther)
}

func (h *Handler) sharedExport(w http.ResponseWriter, r *http.Request) {
	site, _, unlocked, err := h.sharedSite(r)
	if err == nil && !unlocked {
		err = errNotFound
	}
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	h.writeExport(w, r, site, "/share/"+r.PathValue("secret"))
}
