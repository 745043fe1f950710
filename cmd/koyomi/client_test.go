package main

import (
	"bytes"
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/web"
)

// TestClientModeTalksToTheServer runs apply and run subcommands with
// --server/--token against a real server on a real database.
func TestClientModeTalksToTheServer(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.DialectSQLite, nil)
	svc := ops.New(ops.Params{Store: st})
	_, _, err := svc.EnsureAdmin(ctx, "correct-horse-9")
	require.NoError(t, err)
	admin, err := st.UserByName(ctx, "admin")
	require.NoError(t, err)
	tok, _, err := svc.CreateToken(ctx, ops.Actor{UserID: admin.ID, Username: "admin", Role: store.RoleAdmin}, "cli")
	require.NoError(t, err)
	hs := httptest.NewServer(web.New(web.Params{Ops: svc, Sessions: st, DB: st}).Handler())
	t.Cleanup(hs.Close)

	cli := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		getenv := func(k string) string {
			switch k {
			case "KOYOMI_SERVER":
				return hs.URL
			case "KOYOMI_TOKEN":
				return tok
			case "KOYOMI_DATA_DIR":
				return t.TempDir() // never used in client mode
			}
			return ""
		}
		err := run(ctx, args, getenv, strings.NewReader(""), &out, &errb)
		return out.String(), err
	}

	out, err := cli("apply", "-f", "../../examples", "--dry-run")
	require.NoError(t, err, out)
	require.Contains(t, out, "nothing written")
	out, err = cli("apply", "-f", "../../examples")
	require.NoError(t, err, out)
	require.Contains(t, out, "sales/nightly")
	js, err := svc.DesignJobnets(ctx, "sales")
	require.NoError(t, err)
	require.NotEmpty(t, js, "the server stored the definitions")

	out, err = cli("run", "now", "sales/nightly", "--date", "2026-04-01", "--param", "REGION=kanto")
	require.NoError(t, err, out)
	id := strings.Fields(out)[0]
	out, err = cli("run", "status", "--date", "2026-04-01")
	require.NoError(t, err)
	require.Contains(t, out, id)
	out, err = cli("run", "status", id)
	require.NoError(t, err)
	require.Contains(t, out, "param      REGION=kanto")

	out, err = cli("run", "hold", id)
	require.NoError(t, err, out)
	g, err := svc.GenerationDetail(ctx, id)
	require.NoError(t, err)
	require.Equal(t, "held", string(g.Generation.State))
	_, err = cli("run", "release", id)
	require.NoError(t, err)

	// Server errors keep their category (exit codes) and message.
	_, err = cli("run", "kill", id)
	require.ErrorIs(t, err, fault.ErrConflict)
	_, err = cli("run", "status", "no-such-run")
	require.ErrorIs(t, err, fault.ErrNotFound)
	_, err = cli("run", "now", "sales/missing")
	require.ErrorIs(t, err, fault.ErrNotFound)
	_, err = cli("run", "retime", id, "--at", "49:00")
	require.ErrorIs(t, err, fault.ErrInvalid)
	out, err = cli("run", "cancel", id, "--reason", "not today")
	require.NoError(t, err, out)

	// A wrong token is refused.
	var o2, e2 bytes.Buffer
	err = run(ctx, []string{"run", "status", "--server", hs.URL, "--token", "koyomi_wrong"}, func(string) string { return "" }, strings.NewReader(""), &o2, &e2)
	require.ErrorIs(t, err, fault.ErrUnauthenticated)
}
