package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/runner"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// opsDefs: f/batch runs extract → load → report; load fails (exit 3) until
// the file $FIXED exists; hold-me waits behind a sleeper.
func opsDefs(fixed string) string {
	return fmt.Sprintf(`kind: Calendar
name: company
time_zone: Asia/Tokyo
base_time: "05:00"
---
kind: Folder
name: f
calendar: company
---
kind: Jobnet
name: batch
folder: f
units:
  - name: extract
    kind: job
    job: {type: local, local: {command: "echo extracting rows; echo second line"}}
  - name: load
    kind: job
    job: {type: local, local: {command: "echo loading; test -f %s || { echo 'input missing' >&2; exit 3; }"}}
  - name: report
    kind: job
    job: {type: local, local: {command: "echo report ready"}}
edges:
  - {from: extract, to: load}
  - {from: load, to: report}
---
kind: Jobnet
name: slow
folder: f
units:
  - name: sleeper
    kind: job
    job: {type: local, local: {command: "sleep 60"}}
  - name: after
    kind: job
    job: {type: local, local: {command: "echo after"}}
edges:
  - {from: sleeper, to: after}
`, fixed)
}

type opsEnv struct {
	ts     *testServer
	run    *runner.Runner
	fixed  string
	client *client
}

func newOpsEnv(t *testing.T, dialect string) *opsEnv {
	t.Helper()
	ts := newTestServer(t, dialect)
	fixed := filepath.Join(t.TempDir(), "input")
	b, err := jobnet.ParseFile("ops.yaml", []byte(opsDefs(fixed)))
	require.NoError(t, err)
	_, err = ts.Ops.Apply(context.Background(), ops.System, b, false)
	require.NoError(t, err)
	ex := newShellExec()
	ts.Ops.SetExecutors(dispatch.Registry{jobnet.JobLocal: ex})
	return &opsEnv{ts: ts, run: newOpsRunner(t, ts.Store, ex), fixed: fixed, client: ts.client(t).login("admin", adminPassword)}
}

func (e *opsEnv) detail(t *testing.T, id string) ops.GenerationDetail {
	t.Helper()
	d, err := e.ts.Ops.GenerationDetail(context.Background(), id)
	require.NoError(t, err)
	return d
}

func (e *opsEnv) unitState(t *testing.T, id, path string) jobrun.JobState {
	for _, u := range e.detail(t, id).Units {
		if u.Path == path {
			return u.State
		}
	}
	return ""
}

// runNowForm starts a jobnet through the run-now form and returns the run id.
func (e *opsEnv) runNowForm(t *testing.T, jobnet string) string {
	t.Helper()
	e.client.get("/")
	resp, body := e.client.post("/runs", url.Values{"jobnet": {jobnet}, "params": {"REGION=kanto"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	loc := resp.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "/runs/"), loc)
	id, err := url.PathUnescape(strings.TrimPrefix(loc, "/runs/"))
	require.NoError(t, err)
	return id
}

func TestOpsTodayAndGenerationPage(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			e := newOpsEnv(t, d)
			c := e.client

			// Nothing yet: the empty state.
			_, body := c.get("/")
			require.Contains(t, body, `data-testid="today-empty"`)

			id := e.runNowForm(t, "f/batch")
			settle(t, e.run, func() bool { return e.detail(t, id).Generation.State.IsTerminal() })
			require.Equal(t, jobrun.GenEndedAbnormal, e.detail(t, id).Generation.State)

			// Today: counts, attention (with the failed unit) and the row.
			resp, body := c.get("/")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, body, `data-testid="count-ended_abnormal"`)
			require.Regexp(t, `data-testid="count-ended_abnormal"[^>]*><b>1</b>`, body)
			att := body[strings.Index(body, `id="today-attention"`):]
			att = att[:strings.Index(att, "</section>")]
			require.Contains(t, att, `data-run="`+id+`"`)
			require.Contains(t, att, "<code>load</code>")
			require.Contains(t, body, `data-testid="gen-row" data-run="`+id+`" data-state="ended_abnormal"`)

			// Filters: another state hides it; text finds it.
			_, body = c.get("/?state=running")
			require.NotContains(t, body, `data-testid="gen-row"`)
			_, body = c.get("/?q=BATCH")
			require.Contains(t, body, `data-run="`+id+`"`)
			_, body = c.get("/?q=nomatch")
			require.NotContains(t, body, `data-testid="gen-row"`)
			resp, _ = c.get("/?state=bogus")
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)

			// The live fragment carries the same pieces out of band.
			_, body = c.get("/today/live?" + url.Values{"q": {"batch"}}.Encode())
			require.Contains(t, body, `id="today-rows" data-testid="today-rows" hx-swap-oob="true"`)
			require.Contains(t, body, `id="today-counts"`)

			// Generation page: units, explanation, variables, graph, log.
			_, body = c.get("/runs/" + url.PathEscape(id) + "?unit=load")
			require.Contains(t, body, `data-unit="extract" data-state="ended_normal"`)
			require.Contains(t, body, `data-unit="load" data-state="ended_abnormal"`)
			require.Contains(t, body, `data-unit="report" data-state="bypassed"`)
			require.Regexp(t, `data-unit="report" data-state="bypassed"[^\n]*\n?[\s\S]{0,600}?not executed`, body, "JP1's English name of the state")
			require.Regexp(t, `data-unit="load"[\s\S]*?data-testid="unit-exit">3<`, body)
			require.Contains(t, body, `data-testid="run-explanation"`)
			require.Contains(t, body, "REGION")
			require.Contains(t, body, "KOYOMI_RUN_ID")
			require.Contains(t, body, `<svg class="ops-graph"`)
			require.Contains(t, body, "input missing")
			require.Contains(t, body, "run.now")

			// Download the log.
			resp, err := c.hc.Get(c.base + "/runs/" + url.PathEscape(id) + "/log.txt?unit=extract")
			require.NoError(t, err)
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			require.Equal(t, "extracting rows\nsecond line\n", string(raw))
			require.Contains(t, resp.Header.Get("Content-Disposition"), "attachment")

			// Kill of an ended unit: back to the generation page (its own
			// URL, so a reload repeats nothing) with the message; nothing changed.
			resp, _ = c.post("/runs/"+url.PathEscape(id)+"/units/kill?unit=extract", nil)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			require.Equal(t, "/runs/"+url.PathEscape(id)+"?unit=extract", resp.Header.Get("Location"))
			_, body = c.get(resp.Header.Get("Location"))
			require.Contains(t, body, `cannot kill unit &#34;extract&#34;`)
			require.Equal(t, jobrun.StateEndedNormal, e.unitState(t, id, "extract"))

			// Bad rerun mode: the message names the field.
			resp, _ = c.post("/runs/"+url.PathEscape(id)+"/rerun", url.Values{"mode": {"sideways"}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			_, body = c.get(resp.Header.Get("Location"))
			require.Contains(t, body, "mode")

			// Fix the input and rerun from the abnormal job: it ends normally.
			require.NoError(t, os.WriteFile(e.fixed, []byte("ok"), 0o600))
			resp, body = c.post("/runs/"+url.PathEscape(id)+"/rerun", url.Values{"mode": {"from_abnormal"}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
			settle(t, e.run, func() bool { return e.detail(t, id).Generation.State.IsTerminal() })
			det := e.detail(t, id)
			require.Equal(t, jobrun.GenEndedNormal, det.Generation.State)
			_, body = c.get("/runs/" + url.PathEscape(id))
			require.Contains(t, body, `data-testid="flash"`)
			require.Contains(t, body, "run.rerun")
			var actions []string
			for _, a := range det.Audit {
				actions = append(actions, a.Action)
			}
			require.Equal(t, []string{"run.rerun", "run.now"}, actions)
		})
	}
}

func TestOpsHoldReleaseKill(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			e := newOpsEnv(t, d)
			c := e.client
			id := e.runNowForm(t, "f/slow")
			settle(t, e.run, func() bool { return e.unitState(t, id, "sleeper") == jobrun.StateRunning })
			run := "/runs/" + url.PathEscape(id)

			// Hold and release the waiting successor.
			resp, body := c.post(run+"/units/hold?unit=after", nil)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
			require.Equal(t, jobrun.StateHeld, e.unitState(t, id, "after"))
			_, body = c.get(run)
			require.Contains(t, body, `data-unit="after" data-state="held"`)
			resp, body = c.post(run+"/units/release?unit=after", nil)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
			require.Equal(t, jobrun.StateWaiting, e.unitState(t, id, "after"))

			// Hold and release the generation.
			resp, _ = c.post(run+"/hold", nil)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			require.Equal(t, jobrun.GenHeld, e.detail(t, id).Generation.State)
			_, body = c.get("/")
			require.Contains(t, body, `data-run="`+id+`"`, "a held generation needs attention")
			resp, _ = c.post(run+"/release", nil)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			require.Equal(t, jobrun.GenRunning, e.detail(t, id).Generation.State)

			// Kill the running job: accepted, then the runner kills it.
			resp, body = c.post(run+"/units/kill?unit=sleeper", nil)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
			settle(t, e.run, func() bool { return e.unitState(t, id, "sleeper") == jobrun.StateKilled })
			settle(t, e.run, func() bool { return e.detail(t, id).Generation.State.IsTerminal() })

			// A viewer may look but not act.
			_, err := e.ts.Ops.CreateUser(context.Background(), ops.System, "vera", "viewer-pass-1", store.RoleViewer)
			require.NoError(t, err)
			v := e.ts.client(t).login("vera", "viewer-pass-1")
			_, body = v.get(run)
			require.NotContains(t, body, `data-testid="run-actions"`)
			resp, _ = v.post(run+"/hold", nil)
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
		})
	}
}

func TestOpsScheduleViews(t *testing.T) {
	e := newOpsEnv(t, store.DialectSQLite)
	id := e.runNowForm(t, "f/batch")
	g := e.detail(t, id).Generation
	_, body := e.client.get("/schedule?view=day&date=" + g.BusinessDate.String())
	require.Contains(t, body, `data-testid="gantt"`)
	require.Contains(t, body, `f/batch`)
	_, body = e.client.get("/schedule?view=month&date=" + g.BusinessDate.String())
	require.Contains(t, body, `data-date="`+g.BusinessDate.String()+`"`)
	require.Regexp(t, `data-date="`+g.BusinessDate.String()+`"[\s\S]*?<span class="mc"[^>]*>1</span>`, body)
	resp, _ := e.client.get("/schedule?date=2026-13-01")
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
}

// apiCall sends a bearer request and decodes the JSON answer.
func apiCall(t *testing.T, base, token, method, path, ctype, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out), string(raw))
	}
	return resp.StatusCode
}

func TestOpsAPI(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			e := newOpsEnv(t, d)
			tok := e.ts.adminToken(t)
			base := e.ts.URL

			var apiErr struct {
				Error    string `json:"error"`
				Problems []struct{ Path, Message string }
			}
			require.Equal(t, http.StatusUnauthorized, apiCall(t, base, "", "GET", "/api/v1/generations", "", "", &apiErr))
			require.Equal(t, http.StatusUnauthorized, apiCall(t, base, "koyomi_wrong", "GET", "/api/v1/jobnets", "", "", nil))

			var jl struct {
				Jobnets []struct{ Folder, Name string }
			}
			require.Equal(t, http.StatusOK, apiCall(t, base, tok, "GET", "/api/v1/jobnets", "", "", &jl))
			require.Len(t, jl.Jobnets, 2)
			var jd struct {
				Version    int
				Definition struct{ Name string }
			}
			require.Equal(t, http.StatusOK, apiCall(t, base, tok, "GET", "/api/v1/jobnets/f/batch", "", "", &jd))
			require.Equal(t, "batch", jd.Definition.Name)

			// Run now, then wait for the failure.
			var g struct {
				ID, State, BusinessDate string `json:"-"`
			}
			var gen map[string]any
			require.Equal(t, http.StatusCreated, apiCall(t, base, tok, "POST", "/api/v1/jobnets/f/batch/run", "application/json", `{"params":{"A":"1"}}`, &gen))
			g.ID = gen["id"].(string)
			require.Equal(t, http.StatusUnprocessableEntity, apiCall(t, base, tok, "POST", "/api/v1/jobnets/f/batch/run", "application/json", `{"business_date":"x"}`, &apiErr))
			require.Equal(t, "business_date", apiErr.Problems[0].Path)
			settle(t, e.run, func() bool { return e.detail(t, g.ID).Generation.State.IsTerminal() })

			var list struct{ Generations []map[string]any }
			date := e.detail(t, g.ID).Generation.BusinessDate.String()
			require.Equal(t, http.StatusOK, apiCall(t, base, tok, "GET", "/api/v1/generations?date="+date+"&state=ended_abnormal", "", "", &list))
			require.Len(t, list.Generations, 1)
			require.Equal(t, http.StatusOK, apiCall(t, base, tok, "GET", "/api/v1/generations?date="+date+"&state=running", "", "", &list))
			require.Empty(t, list.Generations)

			var one struct {
				State string
				Units []struct {
					Path, State string
					ExitCode    *int `json:"exit_code"`
				}
			}
			require.Equal(t, http.StatusOK, apiCall(t, base, tok, "GET", "/api/v1/generations/"+g.ID, "", "", &one))
			require.Equal(t, "ended_abnormal", one.State)
			require.Len(t, one.Units, 3)

			var chunk struct{ Data, Next string }
			require.Equal(t, http.StatusOK, apiCall(t, base, tok, "GET", "/api/v1/generations/"+g.ID+"/units/load/logs", "", "", &chunk))
			require.Contains(t, chunk.Data, "input missing")
			require.Equal(t, http.StatusOK, apiCall(t, base, tok, "GET", "/api/v1/generations/"+g.ID+"/units/load/logs?cursor="+chunk.Next, "", "", &chunk))
			require.Empty(t, chunk.Data)
			require.Equal(t, http.StatusNotFound, apiCall(t, base, tok, "GET", "/api/v1/generations/"+g.ID+"/units/nope/logs", "", "", nil))

			// Actions: an ended unit cannot be killed; rerun after the fix.
			require.Equal(t, http.StatusConflict, apiCall(t, base, tok, "POST", "/api/v1/generations/"+g.ID+"/units/extract/kill", "", "", &apiErr))
			require.Contains(t, apiErr.Error, `cannot kill unit "extract"`)
			require.NoError(t, os.WriteFile(e.fixed, []byte("ok"), 0o600))
			var res struct {
				Message    string
				Generation struct{ State string }
			}
			require.Equal(t, http.StatusOK, apiCall(t, base, tok, "POST", "/api/v1/generations/"+g.ID+"/rerun", "application/json", `{"mode":"from_abnormal"}`, &res))
			require.Equal(t, "running", res.Generation.State)
			settle(t, e.run, func() bool { return e.detail(t, g.ID).Generation.State.IsTerminal() })
			require.Equal(t, jobrun.GenEndedNormal, e.detail(t, g.ID).Generation.State)
			require.Equal(t, http.StatusConflict, apiCall(t, base, tok, "POST", "/api/v1/generations/"+g.ID+"/cancel", "", "", nil))

			// Apply: YAML dry run, JSON bundle, and problems with paths.
			var applied struct {
				DryRun  bool `json:"dry_run"`
				Objects []struct{ Kind, Name, Change string }
			}
			yml := "kind: Jobnet\nname: extra\nfolder: f\nunits:\n  - {name: a, kind: job, job: {type: local, local: {command: \"true\"}}}\n"
			require.Equal(t, http.StatusOK, apiCall(t, base, tok, "POST", "/api/v1/definitions/apply?dry_run=true", "application/yaml", yml, &applied))
			require.True(t, applied.DryRun)
			require.Equal(t, http.StatusOK, apiCall(t, base, tok, "GET", "/api/v1/jobnets", "", "", &jl))
			require.Len(t, jl.Jobnets, 2, "a dry run writes nothing")
			require.Equal(t, http.StatusOK, apiCall(t, base, tok, "POST", "/api/v1/definitions/apply", "application/yaml", yml, &applied))
			require.Equal(t, http.StatusOK, apiCall(t, base, tok, "GET", "/api/v1/jobnets", "", "", &jl))
			require.Len(t, jl.Jobnets, 3)
			bundle := `{"jobnets":[{"name":"bad","folder":"f","units":[{"name":"a","kind":"job"}]}]}`
			require.Equal(t, http.StatusUnprocessableEntity, apiCall(t, base, tok, "POST", "/api/v1/definitions/apply", "application/json", bundle, &apiErr))
			require.NotEmpty(t, apiErr.Problems)

			// Calendars, days and plan.
			var cals struct{ Calendars []map[string]any }
			require.Equal(t, http.StatusOK, apiCall(t, base, tok, "GET", "/api/v1/calendars", "", "", &cals))
			require.Len(t, cals.Calendars, 1)
			var days struct {
				Days []struct {
					Date string
					Open bool
				}
			}
			require.Equal(t, http.StatusOK, apiCall(t, base, tok, "GET", "/api/v1/calendars/company/days?from=2026-05-01&to=2026-05-07", "", "", &days))
			require.Len(t, days.Days, 7)
			require.Equal(t, "2026-05-01", days.Days[0].Date)
			require.Equal(t, http.StatusNotFound, apiCall(t, base, tok, "GET", "/api/v1/calendars/nope/days", "", "", nil))
			var rows []map[string]any
			require.Equal(t, http.StatusOK, apiCall(t, base, tok, "GET", "/api/v1/plan?from=2026-05-01&to=2026-05-31", "", "", &rows))
			require.Empty(t, rows, "the jobnets have no schedule rules")
			require.Equal(t, http.StatusUnprocessableEntity, apiCall(t, base, tok, "GET", "/api/v1/plan?from=2026-05-31&to=2026-05-01", "", "", nil))
		})
	}
}

// TestOpsNoKillBeforeStart: a generation held before it started offers
// release and cancel but no kill.
func TestOpsNoKillBeforeStart(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			e := newOpsEnv(t, d)
			// The jobnet page offers run now.
			_, body := e.client.get("/jobnets/f/slow")
			require.Contains(t, body, `data-testid="jobnet-runnow-form"`)
			require.Contains(t, body, `name="jobnet" value="f/slow"`)
			id := e.runNowForm(t, "f/slow")
			run := "/runs/" + url.PathEscape(id)
			resp, body := e.client.post(run+"/hold", nil)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
			det := e.detail(t, id)
			require.Equal(t, jobrun.GenHeld, det.Generation.State)
			require.Nil(t, det.Generation.StartedAt)
			_, body = e.client.get(run)
			require.Contains(t, body, `data-testid="run-release"`)
			require.NotContains(t, body, `data-testid="run-kill"`)
			_, body = e.client.get("/?date=" + det.Generation.BusinessDate.String())
			require.Contains(t, body, id, "on Today")
			require.NotContains(t, body, `data-testid="kill-`+id+`"`, "Today offers no kill either")
			_, _ = e.client.post(run+"/kill", nil) // a kill posted anyway is refused
			require.Equal(t, jobrun.GenHeld, e.detail(t, id).Generation.State)
			require.ErrorIs(t, e.ts.Ops.Kill(context.Background(), ops.System, id, ""), fault.ErrConflict, "API and CLI go through ops.Kill")
			require.Equal(t, jobrun.GenHeld, e.detail(t, id).Generation.State)

			// Once it has started, kill is offered.
			resp, _ = e.client.post(run+"/release", nil)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			settle(t, e.run, func() bool { return e.unitState(t, id, "sleeper") == jobrun.StateRunning })
			_, body = e.client.get(run)
			require.Contains(t, body, `data-testid="run-kill"`)
		})
	}
}
