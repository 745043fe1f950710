package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// TestClientModeTalksToTheServer runs apply and run subcommands with
// --server/--token against a real server on a real database.
func TestClientModeTalksToTheServer(t *testing.T) {
	ctx := context.Background()
	srv := newAPIServer(t, nil)
	svc, cli := srv.svc, srv.cli

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
	err = run(ctx, []string{"run", "status", "--server", srv.url, "--token", "koyomi_wrong"}, func(string) string { return "" }, strings.NewReader(""), &o2, &e2)
	require.ErrorIs(t, err, fault.ErrUnauthenticated)
}
