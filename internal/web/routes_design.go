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
		{http.MethodGet, "/jobnets/:folder/:name/organize", store.RoleDesigner, s.jobnetOrganize},
		{http.MethodPost, "/jobnets/:folder/:name/copy", store.RoleDesigner, s.jobnetCopyForm},
		{http.MethodPost, "/jobnets/:folder/:name/move", store.RoleDesigner, s.jobnetMoveForm},
		{http.MethodPost, "/jobnets/:folder/:name/delete", store.RoleDesigner, s.jobnetDeleteForm},
		{http.MethodGet, "/folders/:folder/organize", store.RoleDesigner, s.folderOrganize},
		{http.MethodPost, "/folders/:folder/copy", store.RoleDesigner, s.folderCopyForm},
		{http.MethodPost, "/folders/:folder/move", store.RoleDesigner, s.folderMoveForm},
		{http.MethodPost, "/folders/:folder/delete", store.RoleDesigner, s.folderDeleteForm},
		{http.MethodGet, "/api/v1/jobnets/:folder/:name/dependents", store.RoleViewer, s.apiJobnetDependents},
		{http.MethodPost, "/api/v1/jobnets/:folder/:name/copy", store.RoleDesigner, s.apiJobnetRelocate(true)},
		{http.MethodPost, "/api/v1/jobnets/:folder/:name/move", store.RoleDesigner, s.apiJobnetRelocate(false)},
		{http.MethodDelete, "/api/v1/jobnets/:folder/:name", store.RoleDesigner, s.apiJobnetDelete},
		{http.MethodGet, "/api/v1/folders/:folder/dependents", store.RoleViewer, s.apiFolderDependents},
		{http.MethodPost, "/api/v1/folders/:folder/copy", store.RoleDesigner, s.apiFolderRelocate(true)},
		{http.MethodPost, "/api/v1/folders/:folder/rename", store.RoleDesigner, s.apiFolderRelocate(false)},
		{http.MethodDelete, "/api/v1/folders/:folder", store.RoleDesigner, s.apiFolderDelete},
	}
}
