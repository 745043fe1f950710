package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/views/pages"
)

// apiError is the JSON body of every API error.
type apiError struct {
	Error    string          `json:"error"`
	Problems []fault.Problem `json:"problems,omitempty"`
	// Dependents name what refuses a rename, move or delete.
	Dependents []ops.Dependent `json:"dependents,omitempty"`
}

// statusOf maps an error to its HTTP status: the one place that knows the
// fault categories' HTTP meaning.
func statusOf(err error) int {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he.Code
	case errors.Is(err, fault.ErrInvalid):
		return http.StatusUnprocessableEntity
	case errors.Is(err, fault.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, fault.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, fault.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, fault.ErrUnauthenticated):
		return http.StatusUnauthorized
	}
	return http.StatusInternalServerError
}

func isAPI(c echo.Context) bool {
	return strings.HasPrefix(c.Request().URL.Path, "/api/") || state(c).api
}

func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	code := statusOf(err)
	msg := err.Error()
	var he *echo.HTTPError
	written := false // a message written for the user, shown even on 5xx
	if errors.As(err, &he) {
		if m, ok := he.Message.(string); ok {
			msg, written = m, true
		}
	}
	if code >= 500 {
		s.p.Logger.Error("request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "err", err)
		if !written {
			msg = "Internal error; the server log has the details."
		}
	}
	if isAPI(c) {
		body := apiError{Error: msg}
		if ps, ok := fault.AsProblems(err); ok {
			body.Problems = ps
		}
		var de *ops.DependentsError
		if errors.As(err, &de) {
			body.Dependents = de.Dependents
		}
		_ = c.JSON(code, body)
		return
	}
	if code == http.StatusUnauthorized {
		if c.Request().Header.Get("HX-Request") != "" {
			c.Response().Header().Set("HX-Redirect", "/login")
			_ = c.NoContent(code)
			return
		}
		_ = c.Redirect(http.StatusSeeOther, "/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
		return
	}
	title := http.StatusText(code)
	_ = s.render(c, code, pages.Error(pages.ErrorView{Status: code, Title: title, Message: msg}))
}
