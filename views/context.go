// Package views holds the templ components of the web GUI: layout/ (the page
// frame), components/ (shared pieces) and pages/ (one view-model and template
// per page). Components read the request's PageContext (user, language, CSRF
// token, flash) from the context the web layer sets.
package views

import "context"

// Flash is a one-time message shown at the top of the next page.
type Flash struct {
	Kind string // success, error, info
	Text string
}

// PageContext is what every page needs about the request.
type PageContext struct {
	Username string
	Role     string
	Lang     string
	CSRF     string
	Path     string
	Flash    *Flash
	Version  string
}

type ctxKey struct{}

// WithPage returns ctx carrying pc.
func WithPage(ctx context.Context, pc PageContext) context.Context {
	return context.WithValue(ctx, ctxKey{}, pc)
}

// Page returns the request's PageContext.
func Page(ctx context.Context) PageContext {
	pc, _ := ctx.Value(ctxKey{}).(PageContext)
	if pc.Lang == "" {
		pc.Lang = "en"
	}
	return pc
}

// Can reports whether the current user's role reaches the given one
// (viewer < operator < designer < admin; operator and designer are
// separate branches: an operator cannot design and a designer cannot operate,
// admin can do both).
func Can(ctx context.Context, need string) bool {
	role := Page(ctx).Role
	switch need {
	case "viewer":
		return role != ""
	case "operator":
		return role == "operator" || role == "admin"
	case "designer":
		return role == "designer" || role == "admin"
	case "admin":
		return role == "admin"
	}
	return false
}
