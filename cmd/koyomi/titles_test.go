package main

import (
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/web"
)

// TestRunStatusShowsTitles: the titles people read (売上夜間バッチ, as a
// JP1 import or the examples give them) come with `run status` and the
// API, from the server and from the database file; in the tables they come
// last, since a wide character shifts the columns after it.
func TestRunStatusShowsTitles(t *testing.T) {
	ctx := context.Background()
	check := func(t *testing.T, status func(args ...string) string, id string) {
		t.Helper()
		lines := strings.Split(strings.TrimSpace(status("run", "status", "--date", "2026-04-01")), "\n")
		require.Len(t, lines, 2)
		require.True(t, strings.HasSuffix(lines[0], "TITLE"), lines[0])
		require.True(t, strings.HasSuffix(lines[1], "売上夜間バッチ"), lines[1])
		out := status("run", "status", id)
		require.Contains(t, out, "title      売上夜間バッチ\n")
		var extract string
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "extract ") {
				extract = l
			}
		}
		require.True(t, strings.HasSuffix(extract, "受注抽出"), out)
	}

	t.Run("server", func(t *testing.T) {
		srv := newAPIServer(t, nil)
		st, hs, tok := srv.st, srv.url, srv.tok
		cli := func(args ...string) string {
			t.Helper()
			out, err := srv.cli(args...)
			require.NoError(t, err)
			return out
		}
		cli("apply", "-f", "../../examples")
		id := strings.Fields(cli("run", "now", "sales/nightly", "--date", "2026-04-01"))[0]
		require.NoError(t, st.StartGeneration(ctx, id, time.Now()), "its units exist once it started")
		check(t, cli, id)

		get := func(path string, v any) {
			req, _ := http.NewRequest(http.MethodGet, hs+path, nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			defer resp.Body.Close()
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
		}
		var g web.APIGeneration
		get("/api/v1/generations/"+id, &g)
		require.Equal(t, "売上夜間バッチ", g.Title)
		titles := map[string]string{}
		for _, u := range g.Units {
			titles[u.Path] = u.Title
		}
		require.Equal(t, "DWHロード", titles["load"])
		var list struct{ Generations []web.APIGeneration }
		get("/api/v1/generations?date=2026-04-01", &list)
		require.Len(t, list.Generations, 1)
		require.Equal(t, "売上夜間バッチ", list.Generations[0].Title)
	})

	t.Run("database", func(t *testing.T) {
		dir := dbDir(t)
		cli := func(args ...string) string {
			t.Helper()
			out, errOut, err := koyomi(t, dir, args...)
			require.NoError(t, err, errOut)
			return out
		}
		cli("apply", "-f", "../../examples")
		id := strings.Fields(cli("run", "now", "sales/nightly", "--date", "2026-04-01"))[0]
		st, err := store.Open(ctx, store.Config{URL: "sqlite:" + filepath.Join(dir, "koyomi.db")})
		require.NoError(t, err)
		require.NoError(t, st.StartGeneration(ctx, id, time.Now()), "its units exist once it started")
		require.NoError(t, st.Close())
		check(t, cli, id)
	})
}

// TestRunStatusDefaultsToCurrentBusinessDate: without --date, `run status`
// lists the business date it is now on the calendar (what `run now`
// started), not the machine's date: at 06:00 in Tokyo that is the same
// day, at 02:00 (before the 05:00 base time) the day before, and in UTC it
// may be another day altogether.
func TestRunStatusDefaultsToCurrentBusinessDate(t *testing.T) {
	check := func(t *testing.T, cli func(args ...string) string) {
		t.Helper()
		cli("apply", "-f", "../../examples")
		id := strings.Fields(cli("run", "now", "sales/nightly"))[0]
		require.Contains(t, cli("run", "status"), id)
		require.Contains(t, cli("run", "status", "sales/nightly"), id)
	}
	t.Run("server", func(t *testing.T) {
		srv := newAPIServer(t, nil)
		check(t, func(args ...string) string {
			t.Helper()
			out, err := srv.cli(args...)
			require.NoError(t, err)
			return out
		})
	})
	t.Run("database", func(t *testing.T) {
		dir := dbDir(t)
		check(t, func(args ...string) string {
			t.Helper()
			out, errOut, err := koyomi(t, dir, args...)
			require.NoError(t, err, errOut)
			return out
		})
	})
}

// TestGenerationsAPIDate: the generations API takes a date or "current"
// and names what it listed; anything else is refused with what it takes.
func TestGenerationsAPIDate(t *testing.T) {
	srv := newAPIServer(t, nil)
	_, err := srv.cli("apply", "-f", "../../examples")
	require.NoError(t, err)
	get := func(q string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, srv.url+"/api/v1/generations?"+q, nil)
		req.Header.Set("Authorization", "Bearer "+srv.tok)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		var body map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		return resp.StatusCode, body
	}
	code, body := get("date=2026-04-01")
	require.Equal(t, http.StatusOK, code)
	require.Equal(t, "2026-04-01", body["business_date"])
	code, body = get("date=current&jobnet=sales/nightly")
	require.Equal(t, http.StatusOK, code)
	require.Regexp(t, `^\d{4}-\d\d-\d\d$`, body["business_date"])
	code, body = get("date=yesterday")
	require.Equal(t, http.StatusUnprocessableEntity, code)
	require.Equal(t, `date "yesterday": want YYYY-MM-DD, or current for the business date it is now: invalid`, body["error"])
	code, body = get("date=current&jobnet=nope/x")
	require.Equal(t, http.StatusNotFound, code)
	require.Equal(t, `jobnet "nope/x": not found`, body["error"])
}
