package web

import (
	"net/http"

	"github.com/koyomi-dev/koyomi/internal/store"
)

// calendarRoutes: calendars, imports and the schedule preview.
func (s *Server) calendarRoutes() []route {
	return []route{
		{http.MethodGet, "/calendars", store.RoleViewer, s.calendarList},
		{http.MethodPost, "/calendars", store.RoleDesigner, s.calendarCreate},
		{http.MethodGet, "/calendars/:name", store.RoleViewer, s.calendarEdit},
		{http.MethodPost, "/calendars/:name/settings", store.RoleDesigner, s.calendarSettings},
		{http.MethodGet, "/calendars/:name/day/:date", store.RoleDesigner, s.calendarDayForm},
		{http.MethodPost, "/calendars/:name/day/:date", store.RoleDesigner, s.calendarDayToggle},
		{http.MethodGet, "/calendars/:name/export.ics", store.RoleViewer, s.calendarExport("ics")},
		{http.MethodGet, "/calendars/:name/export.csv", store.RoleViewer, s.calendarExport("csv")},
		{http.MethodGet, "/calendars/:name/import", store.RoleDesigner, s.calendarImportPage},
		{http.MethodPost, "/calendars/:name/import", store.RoleDesigner, s.calendarImportUpload},
		{http.MethodGet, "/calendars/:name/import/preview/:upload", store.RoleDesigner, s.calendarImportStaged},
		{http.MethodPost, "/calendars/:name/import/confirm", store.RoleDesigner, s.calendarImportConfirm},

		{http.MethodGet, "/jobnets/:folder/:name/schedule", store.RoleViewer, s.schedulePage},
		{http.MethodPost, "/jobnets/:folder/:name/schedule/preview", store.RoleViewer, s.schedulePreviewPost},
		{http.MethodPost, "/jobnets/:folder/:name/schedule", store.RoleDesigner, s.scheduleSubmit},
	}
}
