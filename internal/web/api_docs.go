package web

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/views/pages"
)

// openAPISpec documents the REST API (OpenAPI 3); a test checks that it
// lists every /api/v1 route of the route table.
//
//go:embed openapi.yaml
var openAPISpec []byte

// OpenAPI returns the embedded OpenAPI document.
func OpenAPI() []byte { return openAPISpec }

func (s *Server) apiOpenAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "no-cache")
	return c.Blob(http.StatusOK, "application/yaml; charset=utf-8", openAPISpec)
}

// apiDocs shows the API reference page: how to authenticate, and the spec.
func (s *Server) apiDocs(c echo.Context) error {
	return s.render(c, http.StatusOK, pages.APIDocs(s.p.BaseURL, string(openAPISpec)))
}
