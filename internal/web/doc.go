// Package web is Koyomi's HTTP layer: one echo route table for the GUI
// (server-rendered templ pages, htmx fragments) and the JSON REST API, with
// sessions, CSRF protection, role checks, login throttling and a single error
// handler that maps the fault categories to HTTP status codes.
//
// Handlers are thin: they decode and validate input, call the ops service,
// and render a view-model. Roles: viewer < operator, viewer < designer,
// admin ⊇ all; every route names the role it needs in the route table, and a
// test walks the role × route matrix.
package web
