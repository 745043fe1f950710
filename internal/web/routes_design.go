package web

import (
	"net/http"

	"github.com/koyomi-dev/koyomi/internal/store"
)

// designRoutes: jobnets, folders, the editor and versions.
func (s *Server) designRoutes() []route {
	return []route{
		{http.MethodGet, "/jobnets", store.RoleViewer, s.jobnetsPage},
		{http.MethodPost, "/jobnets", store.RoleDesigner, s.jobnetCreate},
		{http.MethodPost, "/jobnets/folders", store.RoleDesigner, s.folderCreate},
		{http.MethodGet, "/jobnets/:folder/:name", store.RoleViewer, s.editorPage},
		{http.MethodPost, "/jobnets/:folder/:name", store.RoleDesigner, s.editorSave},
		{http.MethodPost, "/jobnets/:folder/:name/yaml", store.RoleDesigner, s.yamlSave},
		{http.MethodPost, "/jobnets/:folder/:name/preview", store.RoleDesigner, s.yamlPreview},
		{http.MethodPost, "/jobnets/:folder/:name/export", store.RoleDesigner, s.yamlOf},
		{http.MethodGet, "/jobnets/:folder/:name/unit", store.RoleViewer, s.unitView},
		{http.MethodGet, "/jobnets/:folder/:name/durations", store.RoleViewer, s.durationsPage},
		{http.MethodPost, "/jobnets/:folder/:name/unit", store.RoleDesigner, s.unitForm},
		{http.MethodGet, "/jobnets/:folder/:name/versions", store.RoleViewer, s.versionsPage},
		{http.MethodGet, "/jobnets/:folder/:name/versions/:version", store.RoleViewer, s.versionPage},
	}
}
