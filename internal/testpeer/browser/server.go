package browser

import (
	"context"
	"net/http/httptest"
	"testing"

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
	st := storetest.Open(t, dialect, nil)
	svc := ops.New(ops.Params{Store: st})
	if _, _, err := svc.EnsureAdmin(context.Background(), AdminPassword); err != nil {
		t.Fatalf("create admin: %v", err)
	}
	ws := web.New(web.Params{Ops: svc, Sessions: st, DB: st, BaseURL: "http://koyomi.test", Version: "test"})
	hs := httptest.NewServer(ws.Handler())
	t.Cleanup(hs.Close)
	return &Server{URL: hs.URL, Store: st, Ops: svc, Web: ws}
}
