package browser

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/web"
)

// The first admin of a test server.
const (
	AdminUser     = ops.AdminUsername
	AdminPassword = "correct-horse-9"
)

// Server is a real Koyomi web server for a browser test.
type Server struct {
	URL   string
	Store *store.Store
	Ops   *ops.Service
	Web   *web.Server
}

// Admin is the ops actor of the first admin (to seed data through ops).
func (s *Server) Admin(t testing.TB) ops.Actor {
	t.Helper()
	u, err := s.Store.UserByName(context.Background(), AdminUser)
	if err != nil {
		t.Fatalf("admin user: %v", err)
	}
	return ops.Actor{UserID: u.ID, Username: u.Username, Role: u.Role}
}

// ServerForTest starts web.New with ops on a fresh database of the dialect
// (store.DialectSQLite or store.DialectPostgres) on 127.0.0.1:0; it stops
// when the test ends.
func ServerForTest(t testing.TB, dialect string) *Server {
	t.Helper()
	return ServerForTestAt(t, dialect, nil)
}

// ServerForTestAt is ServerForTest with the clock now for the store, ops
// and the web server (nil: time.Now). A clock a few hours off the real one
// keeps sessions valid (their cookies expire after web.SessionTTLDefault by
// that clock).
func ServerForTestAt(t testing.TB, dialect string, now func() time.Time) *Server {
	t.Helper()
	st := storetest.Open(t, dialect, now)
	svc := ops.New(ops.Params{Store: st, Now: now})
	if _, _, err := svc.EnsureAdmin(context.Background(), AdminPassword); err != nil {
		t.Fatalf("create admin: %v", err)
	}
	ws := web.New(web.Params{Ops: svc, Sessions: st, DB: st, BaseURL: "http://koyomi.test", Version: "test", Now: now})
	hs := httptest.NewServer(ws.Handler())
	t.Cleanup(hs.Close)
	return &Server{URL: hs.URL, Store: st, Ops: svc, Web: ws}
}
