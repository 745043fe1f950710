package web

import (
	"bytes"
	"net/http"

	"github.com/a-h/templ"
	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/views"
)

// pageContext builds the view context of the request.
func (s *Server) pageContext(c echo.Context) views.PageContext {
	st := state(c)
	pc := views.PageContext{CSRF: st.sess.CSRF, Path: c.Request().URL.Path, Version: s.p.Version, Lang: st.sess.Lang}
	if st.user != nil {
		pc.Username, pc.Role, pc.Lang = st.user.Username, string(st.user.Role), st.user.Lang
	}
	if pc.Lang == "" {
		pc.Lang = "en"
	}
	return pc
}

// render writes a templ component as the response: the single render helper.
func (s *Server) render(c echo.Context, status int, comp templ.Component) error {
	pc := s.pageContext(c)
	if c.Request().Header.Get("HX-Request") == "" || c.Request().Header.Get("HX-Boosted") != "" {
		pc.Flash = popFlash(c)
	}
	ctx := views.WithPage(c.Request().Context(), pc)
	var buf bytes.Buffer
	if err := comp.Render(ctx, &buf); err != nil {
		return err
	}
	c.Response().Header().Set("Cache-Control", "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// redirect answers a form post: a 303 for plain forms, HX-Redirect for htmx.
func redirect(c echo.Context, to string) error {
	if c.Request().Header.Get("HX-Request") != "" {
		c.Response().Header().Set("HX-Redirect", to)
		return c.NoContent(http.StatusNoContent)
	}
	return c.Redirect(http.StatusSeeOther, to)
}
