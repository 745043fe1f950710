package web

import (
	"net/http"

	"github.com/koyomi-dev/koyomi/internal/store"
)

// alertRoutes: channels, rules and the delivery log. Everyone signed in
// reads; admins edit and test channels (they hold credentials); designers
// and admins edit rules.
func (s *Server) alertRoutes() []route {
	return []route{
		{http.MethodGet, "/alerts", store.RoleViewer, s.alertsPage},
		{http.MethodGet, "/alerts/deliveries", store.RoleViewer, s.alertDeliveriesPage},
		{http.MethodGet, "/alerts/channels/new", store.RoleAdmin, s.alertChannelNew},
		{http.MethodPost, "/alerts/channels", store.RoleAdmin, s.alertChannelSave},
		{http.MethodGet, "/alerts/channels/:id", store.RoleAdmin, s.alertChannelEdit},
		{http.MethodPost, "/alerts/channels/:id", store.RoleAdmin, s.alertChannelSave},
		{http.MethodPost, "/alerts/channels/:id/test", store.RoleAdmin, s.alertChannelTest},
		{http.MethodPost, "/alerts/channels/:id/delete", store.RoleAdmin, s.alertChannelDelete},
		{http.MethodGet, "/alerts/rules/new", store.RoleDesigner, s.alertRuleNew},
		{http.MethodPost, "/alerts/rules", store.RoleDesigner, s.alertRuleSave},
		{http.MethodGet, "/alerts/rules/:id", store.RoleDesigner, s.alertRuleEdit},
		{http.MethodPost, "/alerts/rules/:id", store.RoleDesigner, s.alertRuleSave},
		{http.MethodPost, "/alerts/rules/:id/delete", store.RoleDesigner, s.alertRuleDelete},

		{http.MethodGet, "/api/v1/alerts/deliveries", store.RoleViewer, s.apiAlertDeliveries},
		{http.MethodGet, "/api/v1/alerts/channels", store.RoleViewer, s.apiAlertChannels},
		{http.MethodPost, "/api/v1/alerts/channels", store.RoleAdmin, s.apiAlertChannelSave},
		{http.MethodGet, "/api/v1/alerts/channels/:id", store.RoleViewer, s.apiAlertChannel},
		{http.MethodPost, "/api/v1/alerts/channels/:id", store.RoleAdmin, s.apiAlertChannelSave},
		{http.MethodPost, "/api/v1/alerts/channels/:id/test", store.RoleAdmin, s.apiAlertChannelTest},
		{http.MethodGet, "/api/v1/alerts/rules", store.RoleViewer, s.apiAlertRules},
		{http.MethodPost, "/api/v1/alerts/rules", store.RoleDesigner, s.apiAlertRuleSave},
		{http.MethodPost, "/api/v1/alerts/rules/:id", store.RoleDesigner, s.apiAlertRuleSave},
	}
}
