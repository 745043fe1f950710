package web

import "github.com/koyomi-dev/koyomi/internal/store"

// RouteSpec is a route of the table as tests see it.
type RouteSpec struct {
	Method, Path string
	Role         store.Role
}

// RouteSpecs returns the route table: every GUI and API route with its role.
func (s *Server) RouteSpecs() []RouteSpec {
	var out []RouteSpec
	for _, r := range s.routeTable() {
		out = append(out, RouteSpec{Method: r.method, Path: r.path, Role: r.role})
	}
	return out
}

// RegisteredRoutes returns what the router actually serves (method, path),
// to check that no route bypasses the table.
func (s *Server) RegisteredRoutes() []RouteSpec {
	var out []RouteSpec
	for _, r := range s.e.Routes() {
		out = append(out, RouteSpec{Method: r.Method, Path: r.Path})
	}
	return out
}
