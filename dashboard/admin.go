package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/shade-analytics/shade/storage"
)

// lines splits a textarea into trimmed, non-empty lines.
func lines(s string) []string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}

// snippet is the tracking code for a site; the data is HTML-escaped by the template.
func (h *Handler) snippet(site storage.Site) string {
	return fmt.Sprintf(`<script defer data-domain="%s" src="%s/shade.js"></script>`, site.Domain, h.cfg.CollectorURL)
}

func (h *Handler) optoutEmbed() string {
	return fmt.Sprintf(`<iframe src="%s/optout" title="Opt out of analytics" width="100%%" height="120"></iframe>`, h.cfg.CollectorURL)
}

func (h *Handler) siteSettingsPage(w http.ResponseWriter, r *http.Request) {
	h.renderSettings(w, r, http.StatusOK, "", "")
}

func (h *Handler) renderSettings(w http.ResponseWriter, r *http.Request, status int, msg, secret string) {
	site, err := h.siteFor(r, true)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	goals, err := h.store.Goals(r.Context(), site.ID)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	links, err := h.store.SharedLinks(r.Context(), site.ID)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	h.render(w, r, status, "settings", map[string]any{"Title": "Settings · " + site.Domain, "Site": site,
		"Goals": goals, "Links": links, "Snippet": h.snippet(site), "Optout": h.optoutEmbed(), "Message": msg,
		"SharedURL": secret, "ExcludedIPs": strings.Join(site.ExcludedIPs, "\n"),
		"ExcludedPaths": strings.Join(site.ExcludedPaths, "\n"), "KeepParams": strings.Join(site.KeepParams, "\n")})
}

func (h *Handler) saveSiteSettings(w http.ResponseWriter, r *http.Request) {
	site, err := h.siteFor(r, true)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	site.Timezone = strings.TrimSpace(r.PostFormValue("timezone"))
	lvl, _ := strconv.Atoi(r.PostFormValue("ip_truncation"))
	site.IPTruncation = uint8(lvl)
	site.ExcludedIPs = lines(r.PostFormValue("excluded_ips"))
	for _, ip := range site.ExcludedIPs {
		if _, err := netip.ParsePrefix(ip); err != nil {
			if _, err := netip.ParseAddr(ip); err != nil {
				h.renderSettings(w, r, http.StatusBadRequest, fmt.Sprintf("%q is neither an IP address nor a CIDR range.", ip), "")
				return
			}
		}
	}
	site.ExcludedPaths = lines(r.PostFormValue("excluded_paths"))
	site.KeepParams = lines(r.PostFormValue("keep_params"))
	site.HonorDNT = r.PostFormValue("honor_dnt") == "on"
	site.HonorGPC = r.PostFormValue("honor_gpc") == "on"
	days, err := strconv.ParseUint(strings.TrimSpace(r.PostFormValue("retention_days")), 10, 32)
	if err != nil {
		h.renderSettings(w, r, http.StatusBadRequest, "Retention must be a number of days (0 keeps events forever).", "")
		return
	}
	site.RetentionDays = uint32(days)
	if err := h.store.SaveSite(r.Context(), &site); err != nil {
		h.renderSettings(w, r, http.StatusBadRequest, err.Error(), "")
		return
	}
	http.Redirect(w, r, "/sites/"+site.Domain+"/settings", http.StatusSeeOther)
}

func (h *Handler) addGoal(w http.ResponseWriter, r *http.Request) {
	site, err := h.siteFor(r, true)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	g := storage.Goal{SiteID: site.ID, Kind: r.PostFormValue("kind"), Value: r.PostFormValue("value")}
	if err := h.store.SaveGoal(r.Context(), &g); err != nil {
		h.renderSettings(w, r, http.StatusBadRequest, err.Error(), "")
		return
	}
	http.Redirect(w, r, "/sites/"+site.Domain+"/settings", http.StatusSeeOther)
}

func (h *Handler) removeGoal(w http.ResponseWriter, r *http.Request) {
	site, err := h.siteFor(r, true)
	if err == nil {
		err = h.store.RemoveGoal(r.Context(), site.ID, r.PathValue("id"))
	}
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/sites/"+site.Domain+"/settings", http.StatusSeeOther)
}

func (h *Handler) addSharedLink(w http.ResponseWriter, r *http.Request) {
	site, err := h.siteFor(r, true)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	pw := r.PostFormValue("password")
	if pw != "" && len(pw) < storage.MinPasswordLength {
		h.renderSettings(w, r, http.StatusBadRequest, fmt.Sprintf("A link password needs at least %d characters.", storage.MinPasswordLength), "")
		return
	}
	secret, err := h.store.AddSharedLink(r.Context(), site.ID, strings.TrimSpace(r.PostFormValue("name")), pw)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	// The secret is shown once; only its hash is stored.
	h.renderSettings(w, r, http.StatusOK, "", "/share/"+secret)
}

func (h *Handler) removeSharedLink(w http.ResponseWriter, r *http.Request) {
	site, err := h.siteFor(r, true)
	if err == nil {
		err = h.store.RemoveSharedLink(r.Context(), site.ID, r.PathValue("hash"))
	}
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/sites/"+site.Domain+"/settings", http.StatusSeeOther)
}

func (h *Handler) adminSitesPage(w http.ResponseWriter, r *http.Request) {
	h.renderAdminSites(w, r, http.StatusOK, "")
}

func (h *Handler) renderAdminSites(w http.ResponseWriter, r *http.Request, status int, msg string) {
	sites, err := h.store.Sites(r.Context())
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	h.render(w, r, status, "admin_sites", map[string]any{"Title": "Sites", "Sites": sites, "Message": msg})
}

func (h *Handler) adminAddSite(w http.ResponseWriter, r *http.Request) {
	site := storage.NewSite(r.PostFormValue("domain"))
	if tz := strings.TrimSpace(r.PostFormValue("timezone")); tz != "" {
		site.Timezone = tz
	}
	if err := h.store.SaveSite(r.Context(), &site); err != nil {
		h.renderAdminSites(w, r, http.StatusBadRequest, err.Error())
		return
	}
	http.Redirect(w, r, "/sites/"+site.Domain+"/settings", http.StatusSeeOther)
}

func (h *Handler) adminUsersPage(w http.ResponseWriter, r *http.Request) {
	h.renderAdminUsers(w, r, http.StatusOK, "")
}

func (h *Handler) renderAdminUsers(w http.ResponseWriter, r *http.Request, status int, msg string) {
	users, err := h.store.Users(r.Context())
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	sites, err := h.store.Sites(r.Context())
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	names := map[uint32]string{}
	for _, s := range sites {
		names[s.ID] = s.Domain
	}
	type userView struct {
		storage.User
		Sites string
	}
	var views []userView
	for _, u := range users {
		var ds []string
		for _, id := range u.SiteIDs {
			ds = append(ds, names[id])
		}
		views = append(views, userView{u, strings.Join(ds, ", ")})
	}
	h.render(w, r, status, "admin_users", map[string]any{"Title": "Users", "Users": views, "Sites": sites, "Message": msg})
}

func (h *Handler) adminAddUser(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		h.pageError(w, r, badRequest("cannot read form"))
		return
	}
	var ids []uint32
	for _, s := range r.PostForm["site"] {
		id, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			h.pageError(w, r, badRequest("invalid site"))
			return
		}
		ids = append(ids, uint32(id))
	}
	u, err := storage.NewUser(r.PostFormValue("email"), r.PostFormValue("password"), r.PostFormValue("role"), ids)
	if err == nil {
		if _, lookupErr := h.store.UserByEmail(r.Context(), u.Email); lookupErr == nil {
			err = errors.New("a user with this email already exists")
		}
	}
	if err == nil {
		err = h.store.SaveUser(r.Context(), &u)
	}
	if err != nil {
		h.renderAdminUsers(w, r, http.StatusBadRequest, err.Error())
		return
	}
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

func (h *Handler) adminRemoveUser(w http.ResponseWriter, r *http.Request) {
	email := r.PathValue("email")
	if strings.EqualFold(email, userOf(r).Email) {
		h.renderAdminUsers(w, r, http.StatusBadRequest, "You cannot remove your own account.")
		return
	}
	if err := h.store.RemoveUser(r.Context(), email); err != nil {
		h.pageError(w, r, err)
		return
	}
	http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
}

func (h *Handler) tokensPage(w http.ResponseWriter, r *http.Request) {
	h.renderTokens(w, r, http.StatusOK, "", "")
}

func (h *Handler) renderTokens(w http.ResponseWriter, r *http.Request, status int, msg, secret string) {
	tokens, err := h.store.Tokens(r.Context(), userOf(r).Email)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	h.render(w, r, status, "tokens", map[string]any{"Title": "API tokens", "Tokens": tokens, "Secret": secret, "Message": msg})
}

func (h *Handler) addToken(w http.ResponseWriter, r *http.Request) {
	secret, err := h.store.AddToken(r.Context(), userOf(r).Email, r.PostFormValue("name"))
	if err != nil {
		h.renderTokens(w, r, http.StatusBadRequest, err.Error(), "")
		return
	}
	h.renderTokens(w, r, http.StatusOK, "", secret)
}

func (h *Handler) revokeToken(w http.ResponseWriter, r *http.Request) {
	hash := r.PathValue("hash")
	tokens, err := h.store.Tokens(r.Context(), userOf(r).Email)
	if err != nil {
		h.pageError(w, r, err)
		return
	}
	for _, t := range tokens {
		if t.Hash == hash {
			if err := h.store.RevokeToken(r.Context(), hash); err != nil {
				h.pageError(w, r, err)
				return
			}
			http.Redirect(w, r, "/tokens", http.StatusSeeOther)
			return
		}
	}
	h.pageError(w, r, errNotFound)
}
