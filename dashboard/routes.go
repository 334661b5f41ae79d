package dashboard

import "net/http"

// routes is the whole route table. Collector paths never reach this handler.
func (h *Handler) routes() *http.ServeMux {
	mux := http.NewServeMux()

	// Stats API v1 (Bearer token, or the UI's session for GETs).
	mux.HandleFunc("GET /api/v1/stats/aggregate", h.apiAggregate)
	mux.HandleFunc("GET /api/v1/stats/timeseries", h.apiTimeseries)
	mux.HandleFunc("GET /api/v1/stats/breakdown", h.apiBreakdown)
	mux.HandleFunc("GET /api/v1/stats/realtime/visitors", h.apiRealtime)
	mux.HandleFunc("GET /api/v1/openapi.yaml", h.openAPI)

	// Assets under content-hashed URLs.
	mux.HandleFunc("GET /static/{hash}/{name}", h.serveStatic)

	// Sign-in.
	mux.HandleFunc("GET /login", h.loginPage)
	mux.HandleFunc("POST /login", h.login)
	mux.HandleFunc("POST /logout", h.withUser(h.logout))

	// Reports.
	mux.HandleFunc("GET /{$}", h.withUser(h.sitesPage))
	mux.HandleFunc("GET /sites/{domain}", h.withUser(h.reportPage))
	mux.HandleFunc("GET /sites/{domain}/{report}", h.withUser(h.reportPage))
	mux.HandleFunc("GET /sites/{domain}/{report}/export.csv", h.withUser(h.exportCSV))

	// Shared links: read-only reports for people without an account.
	mux.HandleFunc("GET /share/{secret}", h.sharedPage)
	mux.HandleFunc("POST /share/{secret}", h.sharedLogin)
	mux.HandleFunc("GET /share/{secret}/{report}", h.sharedPage)
	mux.HandleFunc("GET /share/{secret}/{report}/export.csv", h.sharedExport)

	// Settings of one site (editors) and administration (admins).
	mux.HandleFunc("GET /sites/{domain}/settings", h.withUser(h.siteSettingsPage))
	mux.HandleFunc("POST /sites/{domain}/settings", h.withUser(h.saveSiteSettings))
	mux.HandleFunc("POST /sites/{domain}/goals", h.withUser(h.addGoal))
	mux.HandleFunc("POST /sites/{domain}/goals/{id}/delete", h.withUser(h.removeGoal))
	mux.HandleFunc("POST /sites/{domain}/shared", h.withUser(h.addSharedLink))
	mux.HandleFunc("POST /sites/{domain}/shared/{hash}/delete", h.withUser(h.removeSharedLink))
	mux.HandleFunc("GET /admin/sites", h.withAdmin(h.adminSitesPage))
	mux.HandleFunc("POST /admin/sites", h.withAdmin(h.adminAddSite))
	mux.HandleFunc("GET /admin/users", h.withAdmin(h.adminUsersPage))
	mux.HandleFunc("POST /admin/users", h.withAdmin(h.adminAddUser))
	mux.HandleFunc("POST /admin/users/{email}/delete", h.withAdmin(h.adminRemoveUser))
	mux.HandleFunc("GET /tokens", h.withUser(h.tokensPage))
	mux.HandleFunc("POST /tokens", h.withUser(h.addToken))
	mux.HandleFunc("POST /tokens/{hash}/delete", h.withUser(h.revokeToken))
	return mux
}
