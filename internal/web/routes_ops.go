package web

import (
	"net/http"

	"github.com/koyomi-dev/koyomi/internal/store"
)

// opsRoutes: today, schedules, generations and operator actions, and the
// operations REST API. "/" (Today) is in coreRoutes.
func (s *Server) opsRoutes() []route {
	return []route{
		{http.MethodGet, "/today/live", store.RoleViewer, s.todayLive},
		{http.MethodGet, "/schedule", store.RoleViewer, s.scheduleOps},
		{http.MethodPost, "/runs", store.RoleOperator, s.runNowSubmit},
		{http.MethodGet, "/runs/:id", store.RoleViewer, s.runPage},
		{http.MethodGet, "/runs/:id/live", store.RoleViewer, s.runLive},
		{http.MethodGet, "/runs/:id/log", store.RoleViewer, s.runLogTail},
		{http.MethodGet, "/runs/:id/log.txt", store.RoleViewer, s.runLogDownload},
		{http.MethodPost, "/runs/:id/units/:action", store.RoleOperator, s.runAction(true)},
		{http.MethodPost, "/runs/:id/:action", store.RoleOperator, s.runAction(false)},

		{http.MethodGet, "/api", store.RoleViewer, s.apiDocs},
		{http.MethodGet, "/api/openapi.yaml", store.RoleViewer, s.apiOpenAPI},
		{http.MethodGet, "/api/v1/generations", store.RoleViewer, s.apiGenerations},
		{http.MethodGet, "/api/v1/generations/:id", store.RoleViewer, s.apiGeneration},
		{http.MethodGet, "/api/v1/generations/:id/logs", store.RoleViewer, s.apiLogs},
		{http.MethodGet, "/api/v1/generations/:id/units/*", store.RoleViewer, s.apiUnitRoute},
		{http.MethodPost, "/api/v1/generations/:id/units/*", store.RoleOperator, s.apiAction(true)},
		{http.MethodPost, "/api/v1/generations/:id/:action", store.RoleOperator, s.apiAction(false)},
		{http.MethodGet, "/api/v1/jobnets", store.RoleViewer, s.apiJobnets},
		{http.MethodGet, "/api/v1/jobnets/:folder/:name", store.RoleViewer, s.apiJobnet},
		{http.MethodPost, "/api/v1/jobnets/:folder/:name/run", store.RoleOperator, s.apiRunNow},
		{http.MethodPost, "/api/v1/definitions/apply", store.RoleDesigner, s.apiApply},
		{http.MethodGet, "/api/v1/calendars", store.RoleViewer, s.apiCalendars},
		{http.MethodGet, "/api/v1/calendars/:name/days", store.RoleViewer, s.apiCalendarDays},
		{http.MethodGet, "/api/v1/plan", store.RoleViewer, s.apiPlan},
		{http.MethodGet, "/api/v1/forecast", store.RoleViewer, s.apiForecast},
	}
}
