// Package web is Koyomi's HTTP layer: one echo route table for the GUI
// (server-rendered templ pages, htmx fragments) and the JSON REST API, with
// sessions, CSRF protection, role checks, login throttling and a single error
// handler that maps the fault categories to HTTP status codes.
//
// Handlers are thin: they decode and validate input, call the ops service,
// and render a view-model. Roles: viewer < operator, viewer < designer,
// admin ⊇ all; every route names the role it needs in the route table, and a
// test walks the role × route matrix.
//
// Input hygiene: a request whose path, query, form fields or JSON strings
// hold a NUL byte or invalid UTF-8 is refused with 422 naming the field
// before any handler runs (the store refuses such text too, on both
// databases). The client address (login throttle) is the peer's, unless the
// peer is one of Params.TrustedProxies, whose X-Forwarded-For is believed.
// A new session is saved before a page carries its CSRF token, so a
// database that takes no writes is reported as such, not as a CSRF failure.
package web
