package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// `run status` labels its columns and prints every time with its zone, in
// KOYOMI_TZ when set; a zone that does not exist is refused.
func TestRunStatusLabelsColumnsAndZone(t *testing.T) {
	srv := newAPIServer(t, nil)
	cli := func(zone string, args ...string) (string, error) {
		return srv.cliEnv(map[string]string{"KOYOMI_TZ": zone}, args...)
	}
	out, err := cli("", "apply", "-f", "../../examples")
	require.NoError(t, err, out)
	out, err = cli("", "run", "now", "sales/nightly", "--date", "2026-04-01")
	require.NoError(t, err, out)
	id := strings.Fields(out)[0]

	out, err = cli("Asia/Tokyo", "run", "status", "--date", "2026-04-01")
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 2, out)
	for _, col := range []string{"RUN-ID", "JOBNET", "BUSINESS DATE", "START (BUSINESS DAY)", "RULE", "STATE", "SCHEDULED AT"} {
		require.Contains(t, lines[0], col)
	}
	require.Regexp(t, `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST`, lines[1])
	out, err = cli("America/New_York", "run", "status", id)
	require.NoError(t, err)
	require.Regexp(t, `scheduled  \d{4}-\d\d-\d\d \d\d:\d\d:\d\d E[SD]T`, out)

	_, err = cli("Mars/Olympus", "run", "status", id)
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.ErrorContains(t, err, "KOYOMI_TZ")
}

// `migrate status` prints when each migration was applied with its zone.
func TestMigrateStatusShowsTheZone(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	cli := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		env := map[string]string{"KOYOMI_DATA_DIR": data, "KOYOMI_TZ": "Asia/Tokyo"}
		err := run(ctx, args, func(k string) string { return env[k] }, strings.NewReader(""), &out, &errb)
		return out.String(), err
	}
	out, err := cli("migrate", "up")
	require.NoError(t, err, out)
	out, err = cli("migrate", "status")
	require.NoError(t, err, out)
	require.Regexp(t, `(?m)^\d+\s+applied\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST\s`, out)
}
