package web

import (
	"net/http"
	"regexp"
	"sort"
	"strings"
	"testing"

	req "github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

var routeParam = regexp.MustCompile(`:([a-z_]+)`)

// specPaths maps a route of the table to the OpenAPI paths it serves: ":id"
// becomes "{id}"; a unit wildcard serves "{path}/logs" (GET) and
// "{path}/{action}" (POST).
func specPaths(method, path string) []string {
	p := routeParam.ReplaceAllString(path, "{$1}")
	if strings.HasSuffix(p, "/units/*") {
		if method == http.MethodGet {
			return []string{strings.TrimSuffix(p, "*") + "{path}/logs"}
		}
		return []string{strings.TrimSuffix(p, "*") + "{path}/{action}"}
	}
	return []string{p}
}

func TestOpenAPIListsEveryAPIRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                               `yaml:"openapi"`
		Paths   map[string]map[string]map[string]any `yaml:"paths"`
	}
	req.NoError(t, yaml.Unmarshal(OpenAPI(), &doc))
	req.True(t, strings.HasPrefix(doc.OpenAPI, "3."))

	fromRoutes := map[string]bool{}
	s := &Server{}
	for _, r := range s.routeTable() {
		if !strings.HasPrefix(r.path, "/api/v1/") {
			continue
		}
		for _, p := range specPaths(r.method, r.path) {
			fromRoutes[strings.ToLower(r.method)+" "+p] = true
		}
	}
	fromSpec := map[string]bool{}
	for p, ops := range doc.Paths {
		for m, op := range ops {
			req.NotEmpty(t, op["responses"], "%s %s has no responses", m, p)
			fromSpec[m+" "+p] = true
		}
	}
	keys := func(m map[string]bool) []string {
		var out []string
		for k := range m {
			out = append(out, k)
		}
		sort.Strings(out)
		return out
	}
	req.Equal(t, keys(fromRoutes), keys(fromSpec), "openapi.yaml and the route table must list the same /api/v1 operations")
}
