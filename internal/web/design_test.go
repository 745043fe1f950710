package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

const designCalendar = `kind: Calendar
name: company
time_zone: Asia/Tokyo
base_time: "05:00"
closed_weekdays: [sat, sun]
`

// seedCalendar stores a calendar jobnets can use.
func seedCalendar(t *testing.T, ts *testServer) {
	t.Helper()
	b, err := jobnet.ParseFile("cal.yaml", []byte(designCalendar))
	require.NoError(t, err)
	_, err = ts.Ops.Apply(context.Background(), ops.System, b, false)
	require.NoError(t, err)
}

// postJSON posts a body with the session's CSRF token in the header.
func (c *client) postJSON(path string, body []byte) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(string(body)))
	require.NoError(c.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", c.csrf)
	resp, err := c.hc.Do(req)
	require.NoError(c.t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b)
}

func threeJobs(cycle bool) *jobnet.Jobnet {
	job := func(name, cmd string) jobnet.Unit {
		return jobnet.Unit{Name: name, Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: cmd}}}
	}
	j := &jobnet.Jobnet{Folder: "sales", Name: "nightly", Net: jobnet.Net{
		Units: []jobnet.Unit{job("extract", "echo e"), job("load", "echo l"), job("report", "echo r")},
		Edges: []jobnet.Edge{{From: "extract", To: "load"}, {From: "load", To: "report"}},
	}}
	if cycle {
		j.Edges = append(j.Edges, jobnet.Edge{From: "report", To: "extract"})
	}
	return j
}

func TestDesignFlow(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ts := newTestServer(t, d)
			seedCalendar(t, ts)
			c := ts.client(t).login("admin", adminPassword)
			ctx := context.Background()

			resp, body := c.get("/jobnets")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, body, `data-testid="jobnets-empty"`)
			require.Contains(t, body, "koyomi apply -f examples/")

			// A folder with a bad name re-renders the form with the name kept.
			resp, body = c.post("/jobnets/folders", url.Values{"name": {"bad name<script>"}, "calendar": {"company"}})
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
			require.Contains(t, body, "bad name&lt;script&gt;")
			require.NotContains(t, body, "<script>x")

			resp, body = c.post("/jobnets/folders", url.Values{"name": {"sales"}, "calendar": {"company"}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
			resp, body = c.post("/jobnets/folders", url.Values{"name": {"sales"}})
			require.Equal(t, http.StatusConflict, resp.StatusCode, body)

			resp, body = c.post("/jobnets", url.Values{"folder": {"sales"}, "name": {"nightly"}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
			require.Equal(t, "/jobnets/sales/nightly", resp.Header.Get("Location"))
			jv, err := ts.Store.JobnetByPath(ctx, "sales", "nightly", 0)
			require.NoError(t, err)
			require.Equal(t, 1, jv.Version)
			require.Empty(t, jv.Jobnet.Units)

			resp, body = c.get("/jobnets?folder=sales")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, body, `data-testid="jobnet-row-sales-nightly"`)

			resp, body = c.get("/jobnets/sales/nightly")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, body, `data-testid="palette"`)
			require.Contains(t, body, `id="ed-data"`)

			// A valid definition becomes version 2; the same again changes nothing.
			def, err := json.Marshal(threeJobs(false))
			require.NoError(t, err)
			resp, body = c.postJSON("/jobnets/sales/nightly", def)
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			require.Equal(t, "2", resp.Header.Get("X-Koyomi-Version"))
			require.Contains(t, body, `data-unchanged="false"`)
			resp, body = c.postJSON("/jobnets/sales/nightly", def)
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			require.Contains(t, body, `data-unchanged="true"`)
			vs, err := ts.Store.JobnetVersions(ctx, "sales", "nightly")
			require.NoError(t, err)
			require.Len(t, vs, 2)

			// A cycle is refused with a message naming its units; nothing is saved.
			def, err = json.Marshal(threeJobs(true))
			require.NoError(t, err)
			resp, body = c.postJSON("/jobnets/sales/nightly", def)
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
			require.Contains(t, body, "cycle: extract → load → report → extract")
			require.Contains(t, body, `data-units="extract`)
			vs, err = ts.Store.JobnetVersions(ctx, "sales", "nightly")
			require.NoError(t, err)
			require.Len(t, vs, 2)

			// A missing command is pinned to its unit.
			bad := threeJobs(false)
			bad.Units[1].Job.Local.Command = ""
			def, _ = json.Marshal(bad)
			resp, body = c.postJSON("/jobnets/sales/nightly", def)
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
			require.Contains(t, body, `data-unit="load"`)

			// YAML with a syntax error keeps the text and names line:column.
			broken := "kind: Jobnet\nname: nightly\nfolder: sales\nunits:\n  - name: a\n    kind: [job\n"
			resp, body = c.post("/jobnets/sales/nightly/yaml", url.Values{"yaml": {broken}})
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode, body)
			require.Regexp(t, `jobnet\.yaml:\d+:\d+`, body)
			require.Contains(t, body, "kind: [job")

			// YAML preview turns YAML into the canvas JSON, laid out.
			y, err := jobnet.EncodeJobnet(threeJobs(false))
			require.NoError(t, err)
			resp, body = c.post("/jobnets/sales/nightly/preview", url.Values{"yaml": {string(y)}})
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			var got jobnet.Jobnet
			require.NoError(t, json.Unmarshal([]byte(body), &got))
			require.Len(t, got.Units, 3)
			require.NotNil(t, got.Units[2].Position)
			require.Equal(t, ops.LayoutLeft+2*ops.LayoutColumn, got.Units[2].Position.X)

			// Saving edited YAML makes version 3 with a changed command.
			edited := strings.Replace(string(y), "echo l", "echo load-v3", 1)
			resp, body = c.post("/jobnets/sales/nightly/yaml", url.Values{"yaml": {edited}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)

			// The diff of 2 → 3 shows the change.
			resp, body = c.get("/jobnets/sales/nightly/versions?from=2&to=3")
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			require.Contains(t, body, `data-testid="diff-line"`)
			require.Contains(t, body, "units[load].job.local.command")
			require.Contains(t, body, "echo load-v3")
			resp, body = c.get("/jobnets/sales/nightly/versions/1")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, body, `data-testid="old-version"`)
			require.NotContains(t, body, `data-testid="palette"`)

			// The properties form applies typed fields and reports bad ones.
			unit, _ := json.Marshal(threeJobs(false).Units[0])
			resp, body = c.post("/jobnets/sales/nightly/unit", url.Values{"unit": {string(unit)}, "path": {"extract"}, "name": {"extract2"},
				"job.type": {"local"}, "local.command": {"run.sh"}, "retry.count": {"3"}, "retry.interval": {"1m"}, "retry.on": {"abnormal"}})
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			require.Contains(t, body, "data-applied")
			require.Contains(t, body, `&#34;name&#34;:&#34;extract2&#34;`)
			require.NotContains(t, body, `&#34;keep_children&#34;`)
			resp, body = c.post("/jobnets/sales/nightly/unit", url.Values{"unit": {string(unit)}, "path": {"extract"}, "name": {"extract"},
				"job.type": {"local"}, "local.command": {"run.sh"}, "local.keep_children": {"true"}})
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			require.Contains(t, body, `&#34;keep_children&#34;:true`)
			require.Regexp(t, `name="local.keep_children" value="true" checked`, body)
			resp, body = c.post("/jobnets/sales/nightly/unit", url.Values{"unit": {string(unit)}, "path": {"extract"}, "name": {"extract"},
				"job.type": {"local"}, "retry.count": {"three"}})
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			require.NotContains(t, body, "data-applied")
			require.Contains(t, body, `value="three"`)
			require.Contains(t, body, "not a whole number")
		})
	}
}

func TestDesignViewerIsReadOnly(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ts := newTestServer(t, d)
			seedCalendar(t, ts)
			ctx := context.Background()
			admin := ops.Actor{Username: "admin", Role: store.RoleAdmin}
			require.NoError(t, ts.Ops.CreateFolder(ctx, admin, jobnet.Folder{Name: "sales", Calendar: "company"}))
			_, err := ts.Ops.SaveJobnet(ctx, admin, threeJobs(false))
			require.NoError(t, err)
			_, err = ts.Ops.CreateUser(ctx, admin, "watcher", "watcher-pass-1", store.RoleViewer)
			require.NoError(t, err)

			c := ts.client(t).login("watcher", "watcher-pass-1")
			resp, body := c.get("/jobnets/sales/nightly")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, body, `data-editable="false"`)
			require.NotContains(t, body, `data-testid="palette"`)
			require.NotContains(t, body, `data-testid="save"`)
			resp, _ = c.get("/jobnets/sales/nightly/unit?path=load")
			require.Equal(t, http.StatusOK, resp.StatusCode)

			def, _ := json.Marshal(threeJobs(false))
			resp, _ = c.postJSON("/jobnets/sales/nightly", def)
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
			resp, _ = c.post("/jobnets/folders", url.Values{"name": {"x"}})
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
			resp, _ = c.post("/jobnets", url.Values{"folder": {"sales"}, "name": {"x"}})
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
			resp, _ = c.post("/jobnets/sales/nightly/yaml", url.Values{"yaml": {"kind: Jobnet"}})
			require.Equal(t, http.StatusForbidden, resp.StatusCode)
		})
	}
}
