package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/web"
)

// apiServer is a real server on a fresh SQLite store, with an admin and
// their API token, for the CLI's client mode.
type apiServer struct {
	t   *testing.T
	st  *store.Store
	svc *ops.Service
	url string
	tok string
}

// newAPIServer starts it; with is applied to its web.Params.
func newAPIServer(t *testing.T, with func(*web.Params)) *apiServer {
	t.Helper()
	st := storetest.Open(t, store.DialectSQLite, nil)
	svc := ops.New(ops.Params{Store: st})
	p := web.Params{Ops: svc, Sessions: st, DB: st}
	if with != nil {
		with(&p)
	}
	hs := httptest.NewServer(web.New(p).Handler())
	t.Cleanup(hs.Close)
	return &apiServer{t: t, st: st, svc: svc, url: hs.URL, tok: adminToken(t, st, svc)}
}

// adminToken creates the first admin and an API token of theirs.
func adminToken(t *testing.T, st *store.Store, svc *ops.Service) string {
	t.Helper()
	ctx := context.Background()
	_, _, err := svc.EnsureAdmin(ctx, "correct-horse-9")
	require.NoError(t, err)
	admin, err := st.UserByName(ctx, "admin")
	require.NoError(t, err)
	tok, _, err := svc.CreateToken(ctx, ops.Actor{UserID: admin.ID, Username: "admin", Role: store.RoleAdmin}, "cli")
	require.NoError(t, err)
	return tok
}

// cli runs the CLI against the server (KOYOMI_SERVER and KOYOMI_TOKEN set,
// a data dir it must not use) and returns its standard output.
func (a *apiServer) cli(args ...string) (string, error) {
	return a.cliEnv(nil, args...)
}

// cliEnv is cli with more environment variables.
func (a *apiServer) cliEnv(env map[string]string, args ...string) (string, error) {
	var out, errb bytes.Buffer
	dataDir := a.t.TempDir() // never used in client mode
	getenv := func(k string) string {
		if v, ok := env[k]; ok {
			return v
		}
		switch k {
		case "KOYOMI_SERVER":
			return a.url
		case "KOYOMI_TOKEN":
			return a.tok
		case "KOYOMI_DATA_DIR":
			return dataDir
		}
		return ""
	}
	err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errb)
	return out.String(), err
}
