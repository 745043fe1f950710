package web

import (
	"net/http"

	"github.com/koyomi-dev/koyomi/internal/store"
)

// adminRoutes: users, API tokens, audit log, and the language switch every
// user has in the top bar.
func (s *Server) adminRoutes() []route {
	return []route{
		{http.MethodPost, "/lang", "", s.langSwitch},

		{http.MethodGet, "/admin", store.RoleAdmin, s.adminHome},
		{http.MethodGet, "/admin/users", store.RoleAdmin, s.adminUsers},
		{http.MethodPost, "/admin/users", store.RoleAdmin, s.adminUserCreate},
		{http.MethodPost, "/admin/users/:id/role", store.RoleAdmin, s.adminUserRole},
		{http.MethodPost, "/admin/users/:id/disable", store.RoleAdmin, s.adminUserDisable},
		{http.MethodPost, "/admin/users/:id/enable", store.RoleAdmin, s.adminUserEnable},
		{http.MethodPost, "/admin/users/:id/password", store.RoleAdmin, s.adminUserPassword},
		{http.MethodGet, "/admin/tokens", store.RoleAdmin, s.adminTokens},
		{http.MethodPost, "/admin/tokens/:id/revoke", store.RoleAdmin, s.adminTokenRevoke},
		{http.MethodGet, "/admin/audit", store.RoleAdmin, s.adminAudit},
		{http.MethodGet, "/admin/connections", store.RoleAdmin, s.adminConnections},
		{http.MethodPost, "/admin/connections", store.RoleAdmin, s.adminConnectionCreate},
		{http.MethodGet, "/admin/connections/:name", store.RoleAdmin, s.adminConnectionEdit},
		{http.MethodPost, "/admin/connections/:name", store.RoleAdmin, s.adminConnectionUpdate},
		{http.MethodPost, "/admin/connections/:name/delete", store.RoleAdmin, s.adminConnectionDelete},
		{http.MethodPost, "/admin/connections/:name/test", store.RoleAdmin, s.adminConnectionTest},
	}
}
