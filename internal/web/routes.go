package web

import (
	"crypto/subtle"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/store"
)

// route is one line of the route table.
type route struct {
	method, path string
	role         store.Role // "" = public
	h            echo.HandlerFunc
}

// coreRoutes: login, account, home.
func (s *Server) coreRoutes() []route {
	return []route{
		{http.MethodGet, "/login", "", s.loginPage},
		{http.MethodPost, "/login", "", s.loginSubmit},
		{http.MethodPost, "/logout", "", s.logout},

		{http.MethodGet, "/", store.RoleViewer, s.todayPage},
		{http.MethodGet, "/account", store.RoleViewer, s.accountPage},
		{http.MethodPost, "/account/password", store.RoleViewer, s.accountPassword},
		{http.MethodPost, "/account/lang", store.RoleViewer, s.accountLang},
		{http.MethodPost, "/account/timezone", store.RoleViewer, s.accountTimeZone},
		{http.MethodPost, "/account/tokens", store.RoleViewer, s.accountTokenCreate},
		{http.MethodPost, "/account/tokens/:id/delete", store.RoleViewer, s.accountTokenDelete},

		{http.MethodGet, "/api/v1/me", store.RoleViewer, s.apiMe},
	}
}

// routeTable is every route of the GUI and the API with the role it needs;
// each area keeps its part in its own file.
func (s *Server) routeTable() []route {
	var rs []route
	for _, part := range [][]route{s.coreRoutes(), s.designRoutes(), s.calendarRoutes(), s.adminRoutes(), s.opsRoutes(), s.alertRoutes()} {
		rs = append(rs, part...)
	}
	return rs
}

func (s *Server) routes() {
	s.e.GET("/healthz", func(c echo.Context) error { return c.String(http.StatusOK, "ok\n") })
	s.e.GET("/readyz", s.readyz)
	if s.p.Metrics != nil {
		s.e.GET("/metrics", s.metrics)
	}
	s.e.GET("/static/*", staticHandler())
	g := s.e.Group("", s.loadSession)
	for _, r := range s.routeTable() {
		var mw []echo.MiddlewareFunc
		if r.role != "" {
			mw = append(mw, require(r.role))
		}
		g.Add(r.method, r.path, r.h, mw...)
	}
}

// metrics serves the Prometheus metrics, behind the bearer token when one
// is configured.
func (s *Server) metrics(c echo.Context) error {
	if want := s.p.MetricsToken; want != "" {
		got, ok := strings.CutPrefix(c.Request().Header.Get("Authorization"), "Bearer ")
		if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(want)) != 1 {
			c.Response().Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			return c.String(http.StatusUnauthorized, "metrics need the bearer token (--metrics-token)\n")
		}
	}
	s.p.Metrics.ServeHTTP(c.Response(), c.Request())
	return nil
}

func (s *Server) readyz(c echo.Context) error {
	ctx := c.Request().Context()
	if err := s.p.DB.Ping(ctx); err != nil {
		return c.String(http.StatusServiceUnavailable, "database: "+err.Error()+"\n")
	}
	if w, ok := s.p.DB.(WriteChecker); ok {
		if err := w.CheckWritable(ctx, s.p.Node); err != nil {
			s.p.Logger.Error("readiness: the database takes no writes", "err", err)
			return c.String(http.StatusServiceUnavailable, "database not writable: "+err.Error()+"\n")
		}
	}
	if s.ready != nil && !s.ready() {
		return c.String(http.StatusServiceUnavailable, "starting\n")
	}
	return c.String(http.StatusOK, "ok\n")
}
