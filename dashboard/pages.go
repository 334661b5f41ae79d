package dashboard

import (
	"bytes"
	"context"
	"net/http"
	"strings"

	"github.com/shade-analytics/shade/storage"
)

// render executes a page template into a buffer first, so that a template
// error never sends half a page.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, data map[string]any) {
	t, ok := h.pages[page]
	if !ok {
		panic("BUG: no page template " + page)
	}
	if data == nil {
		data = map[string]any{}
	}
	if u := userOf(r); u != nil {
		data["User"] = u
		data["IsAdmin"] = u.Role == storage.RoleAdmin
	}
	if s := sessionOf(r); s != nil {
		data["CSRF"] = s.CSRF
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout.html", data); err != nil {
		h.log.Error("cannot render page", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// pageError answers an HTML error page.
func (h *Handler) pageError(w http.ResponseWriter, r *http.Request, err error) {
	status := statusOf(err)
	msg := http.StatusText(status)
	switch {
	case status >= 500:
		h.log.Error("dashboard request failed", "path", r.URL.Path, "err", err)
	case status == http.StatusBadRequest:
		msg = err.Error()
		for _, prefix := range []string{errBadRequest.Error() + ": ", storage.ErrInvalidQuery.Error() + ": "} {
			msg = strings.TrimPrefix(msg, prefix)
		}
	case status == http.StatusForbidden:
		msg = "This form expired or did not come from this page. Go back, reload and try again."
	}
	h.render(w, r, status, "error", map[string]any{"Title": http.StatusText(status), "Message": msg})
}

// siteFor finds the site in the URL; a site the user may not view is "not
// found", exactly like a missing one.
func (h *Handler) siteFor(r *http.Request, edit bool) (storage.Site, error) {
	site, err := h.store.SiteByDomain(r.Context(), r.PathValue("domain"))
	if err != nil {
		return site, err
	}
	u := userOf(r)
	if !u.CanView(site.ID) || (edit && !u.CanEdit(site.ID)) {
		return storage.Site{}, errNotFound
	}
	return site, nil
}

func (h *Handler) sitesPage(w http.ResponseWriter, r *http.Request) {
	sites, err := h.viewableSites(r.Context(), userOf(r))
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	if len(sites) == 1 {
		http.Redirect(w, r, "/sites/"+sites[0].Domain+"/overview", http.StatusSeeOther)
		return
	}
	h.render(w, r, http.StatusOK, "sites", map[string]any{"Title": "Sites", "Sites": sites})
}

func (h *Handler) viewableSites(ctx context.Context, u *storage.User) ([]storage.Site, error) {
	all, err := h.store.Sites(ctx)
	if err != nil {
		return nil, err
	}
	var out []storage.Site
	for _, s := range all {
		if u.CanView(s.ID) {
			out = append(out, s)
		}
	}
	return out, nil
}

func (h *Handler) reportPage(w http.ResponseWriter, r *http.Request) {
	site, err := h.siteFor(r, false)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	data, err := h.reportData(r, site, "/sites/"+site.Domain)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	data["CanEdit"] = userOf(r).CanEdit(site.ID)
	h.render(w, r, http.StatusOK, "report", data)
}

func (h *Handler) exportCSV(w http.ResponseWriter, r *http.Request) {
	site, err := h.siteFor(r, false)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	h.writeExport(w, r, site, "/sites/"+site.Domain)
}
