package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/deadline"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/web"
)

func TestRunForecastDatabaseMode(t *testing.T) {
	dir := dbDir(t)
	out, _, err := koyomi(t, dir, "apply", "-f", "../../examples")
	require.NoError(t, err, out)
	out, _, err = koyomi(t, dir, "run", "now", "sales/nightly", "--date", "2026-04-01")
	require.NoError(t, err, out)
	id := strings.Fields(out)[0]

	out, _, err = koyomi(t, dir, "run", "forecast", "--date", "2026-04-01", "-o", "json")
	require.NoError(t, err, out)
	var r deadline.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	require.Equal(t, "2026-04-01", r.Date.String())
	g, ok := r.Find(id)
	require.True(t, ok, out)
	require.Equal(t, "sales/nightly", g.Jobnet)
	require.NotEmpty(t, g.Units)
	require.NotEmpty(t, g.CriticalPath)

	out, _, err = koyomi(t, dir, "run", "forecast", "--date", "2026-04-01")
	require.NoError(t, err, out)
	require.Contains(t, out, "CRITICAL PATH")
	require.Contains(t, out, id)

	out, _, err = koyomi(t, dir, "run", "forecast", "--date", "2026-04-02")
	require.NoError(t, err, out)
	require.Equal(t, "no generations on business date 2026-04-02\n", out)

	_, _, err = koyomi(t, dir, "run", "forecast", "-o", "yaml")
	require.ErrorIs(t, err, errUsage)
	_, _, err = koyomi(t, dir, "run", "forecast", id)
	require.ErrorIs(t, err, errUsage)
}

func TestRunForecastServerMode(t *testing.T) {
	ctx := context.Background()
	st := storetest.Open(t, store.DialectSQLite, nil)
	svc := ops.New(ops.Params{Store: st})
	tok := adminToken(t, st, svc)
	fc, err := deadline.New(deadline.Params{Store: st})
	require.NoError(t, err)
	hs := httptest.NewServer(web.New(web.Params{Ops: svc, Sessions: st, DB: st, Forecast: fc}).Handler())
	t.Cleanup(hs.Close)
	bare := httptest.NewServer(web.New(web.Params{Ops: svc, Sessions: st, DB: st}).Handler())
	t.Cleanup(bare.Close)
	cli := func(server string, args ...string) (string, error) {
		var out, errb bytes.Buffer
		getenv := func(k string) string {
			switch k {
			case "KOYOMI_SERVER":
				return server
			case "KOYOMI_TOKEN":
				return tok
			}
			return ""
		}
		err := run(ctx, args, getenv, strings.NewReader(""), &out, &errb)
		return out.String(), err
	}
	out, err := cli(hs.URL, "apply", "-f", "../../examples")
	require.NoError(t, err, out)
	out, err = cli(hs.URL, "run", "now", "sales/nightly", "--date", "2026-04-01")
	require.NoError(t, err, out)
	id := strings.Fields(out)[0]

	out, err = cli(hs.URL, "run", "forecast", "--date", "2026-04-01", "-o", "json")
	require.NoError(t, err, out)
	var r deadline.Report
	require.NoError(t, json.Unmarshal([]byte(out), &r))
	_, ok := r.Find(id)
	require.True(t, ok, out)
	out, err = cli(hs.URL, "run", "forecast", "--date", "2026-04-01")
	require.NoError(t, err, out)
	require.Contains(t, out, id)

	_, err = cli(bare.URL, "run", "forecast", "--date", "2026-04-01")
	require.ErrorIs(t, err, fault.ErrNotFound)
}
