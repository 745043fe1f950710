package web_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/calendars"
	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// calFixture is a calendar "corp" (Sat/Sun closed, UTC), folder hr on it and
// jobnet hr/payday: the 15th, moved before a closed day, at 09:00.
const calFixture = `kind: Calendar
name: corp
closed_weekdays: [sat, sun]
---
kind: Folder
name: hr
calendar: corp
---
kind: Jobnet
name: payday
folder: hr
units:
  - name: pay
    kind: job
    job:
      type: local
      local:
        command: echo pay
schedule:
  - name: payday
    kind: day
    day: 15
    closed: before
    start: ["09:00"]
`

func applyFixture(t *testing.T, ts *testServer, text string) {
	t.Helper()
	b, err := jobnet.ParseFile("fixture.yaml", []byte(text))
	require.NoError(t, err)
	_, err = ts.Ops.Apply(context.Background(), ops.Actor{Username: "admin", Role: store.RoleAdmin}, b, false)
	require.NoError(t, err)
}

// upload posts a multipart form with one file.
func (c *client) upload(path string, fields url.Values, file string, data []byte) (*http.Response, string) {
	c.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	require.NoError(c.t, w.WriteField("_csrf", c.csrf))
	for k, vs := range fields {
		for _, v := range vs {
			require.NoError(c.t, w.WriteField(k, v))
		}
	}
	fw, err := w.CreateFormFile("file", file)
	require.NoError(c.t, err)
	_, _ = fw.Write(data)
	require.NoError(c.t, w.Close())
	resp, err := c.hc.Post(c.base+path, w.FormDataContentType(), &buf)
	require.NoError(c.t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if m := csrfRe.FindSubmatch(b); m != nil {
		c.csrf = string(m[1])
	}
	if resp.StatusCode == http.StatusSeeOther {
		// As a browser does: the preview is a page of its own.
		return c.get(resp.Header.Get("Location"))
	}
	return resp, string(b)
}

// dayCell returns the class and title of a day's cell in a grid.
func dayCell(t *testing.T, body, grid, date string) (class, title string) {
	t.Helper()
	i := strings.Index(body, `id="`+grid+`"`)
	require.GreaterOrEqual(t, i, 0, "grid %s missing", grid)
	re := regexp.MustCompile(`class="(d [^"]*)" title="([^"]*)" data-date="` + date + `"`)
	m := re.FindStringSubmatch(body[i:])
	require.NotNil(t, m, "day %s missing in %s", date, grid)
	return m[1], m[2]
}

func TestCalendarCreateToggleSettingsExport(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ts := newTestServer(t, d)
			c := ts.client(t).login("admin", adminPassword)
			_, body := c.get("/calendars")
			require.Contains(t, body, `data-testid="cal-empty"`)
			require.Contains(t, body, "<code>jp</code>", "built-in sets are listed")

			// Bad name and zone: the form comes back with both messages and the typed values.
			resp, body := c.post("/calendars", url.Values{"name": {"<b>x</b>"}, "time_zone": {"Mars/Olympus"}, "closed_weekdays": {"sat", "sun"}})
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			require.Contains(t, body, `data-testid="err-name"`)
			require.Contains(t, body, `value="Mars/Olympus"`)
			require.NotContains(t, body, "<b>x</b>")

			resp, body = c.post("/calendars", url.Values{"name": {"corp"}, "time_zone": {"Asia/Tokyo"}, "closed_weekdays": {"sat", "sun"}, "holiday_sets": {"jp"}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
			require.Equal(t, "/calendars/corp", resp.Header.Get("Location"))

			_, body = c.get("/calendars/corp?year=2026")
			require.Contains(t, body, "Calendar corp created.")
			cls, _ := dayCell(t, body, "cal-year", "2026-05-15")
			require.Equal(t, "d open", cls)
			cls, title := dayCell(t, body, "cal-year", "2026-05-04")
			require.Equal(t, "d closed-holiday", cls)
			require.Equal(t, "closed: みどりの日 (jp)", title)
			cls, _ = dayCell(t, body, "cal-year", "2026-05-16")
			require.Equal(t, "d closed-weekly", cls)

			// The note form, then the toggle: a new version with the day closed.
			_, body = c.get("/calendars/corp/day/2026-05-15")
			require.Contains(t, body, `data-testid="day-form"`)
			resp, _ = c.post("/calendars/corp/day/2026-05-15", url.Values{"note": {"maintenance"}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			def, v, err := ts.Ops.CalendarDef(context.Background(), "corp")
			require.NoError(t, err)
			require.Equal(t, 2, v)
			require.Equal(t, []calendar.OverrideDef{{Date: calendar.MustParseDate("2026-05-15"), Note: "maintenance"}}, def.Overrides)
			_, body = c.get("/calendars/corp?year=2026")
			cls, title = dayCell(t, body, "cal-year", "2026-05-15")
			require.Equal(t, "d closed-override", cls)
			require.Equal(t, "closed: override &#39;maintenance&#39;", title)

			// Toggling again removes the override (the day is open by pattern).
			req, _ := http.NewRequest(http.MethodPost, ts.URL+"/calendars/corp/day/2026-05-15", strings.NewReader(url.Values{"_csrf": {c.csrf}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("HX-Request", "true")
			hr, err := c.hc.Do(req)
			require.NoError(t, err)
			hb, _ := io.ReadAll(hr.Body)
			hr.Body.Close()
			require.Equal(t, http.StatusOK, hr.StatusCode)
			require.Contains(t, string(hb), `hx-swap-oob="true"`)
			cls, _ = dayCell(t, string(hb), "cal-year", "2026-05-15")
			require.Equal(t, "d open", cls)
			def, v, _ = ts.Ops.CalendarDef(context.Background(), "corp")
			require.Equal(t, 3, v)
			require.Empty(t, def.Overrides)

			// Settings: bad zone and base day 31 are named; nothing is saved.
			resp, body = c.post("/calendars/corp/settings", url.Values{"time_zone": {"Asia/Nowhere"}, "base_day": {"31"}, "base_time": {"05:00"}, "closed_weekdays": {"sun"}})
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			require.Contains(t, body, `data-testid="err-time_zone"`)
			require.Contains(t, body, `data-testid="err-base_day"`)
			require.Contains(t, body, `value="Asia/Nowhere"`)
			require.Contains(t, body, `value="05:00"`)
			_, v, _ = ts.Ops.CalendarDef(context.Background(), "corp")
			require.Equal(t, 3, v)
			resp, _ = c.post("/calendars/corp/settings", url.Values{"time_zone": {"Asia/Tokyo"}, "base_day": {"21"}, "base_time": {"05:00"}, "closed_weekdays": {"sat", "sun"}, "holiday_sets": {"jp"}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			def, v, _ = ts.Ops.CalendarDef(context.Background(), "corp")
			require.Equal(t, 4, v)
			require.Equal(t, 21, def.BaseDay)
			require.Equal(t, calendar.ClockTime(5*60), def.BaseTime)

			// Exports of the shown year.
			resp, body = c.get("/calendars/corp/export.ics?year=2026")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Equal(t, "text/calendar; charset=utf-8", resp.Header.Get("Content-Type"))
			require.Equal(t, `attachment; filename="corp-2026.ics"`, resp.Header.Get("Content-Disposition"))
			require.Contains(t, body, "BEGIN:VCALENDAR")
			require.Contains(t, body, "20260504")
			resp, body = c.get("/calendars/corp/export.csv?year=2026")
			require.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
			require.Contains(t, resp.Header.Get("Content-Disposition"), "attachment")
			require.Contains(t, body, "2026-05-04,みどりの日 (jp)")
			require.NotContains(t, body, "2025-")
			resp, _ = c.get("/calendars/corp/export.csv?year=99999")
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
		})
	}
}

var (
	contentRe = regexp.MustCompile(`name="content" value="([^"]*)"`)
	shaRe     = regexp.MustCompile(`name="sha256" value="([^"]*)"`)
	uploadRe  = regexp.MustCompile(`name="upload" value="([^"]*)"`)
)

func confirmForm(t *testing.T, body string, extra url.Values) url.Values {
	t.Helper()
	cm, sm := contentRe.FindStringSubmatch(body), shaRe.FindStringSubmatch(body)
	require.NotNil(t, cm, "no confirm form")
	require.NotNil(t, sm)
	f := url.Values{"content": {cm[1]}, "sha256": {sm[1]}, "file_name": {"upload.csv"}}
	if um := uploadRe.FindStringSubmatch(body); um != nil {
		f.Set("upload", um[1])
	}
	for k, v := range extra {
		f[k] = v
	}
	return f
}

func TestCalendarImportPreviewAndConfirm(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ts := newTestServer(t, d)
			applyFixture(t, ts, calFixture)
			c := ts.client(t).login("admin", adminPassword)
			_, body := c.get("/calendars/corp/import")
			require.Contains(t, body, `data-testid="import-form"`)

			csv := []byte("date,name\n2026-05-15,company holiday\n2026-13-40,bad row\n2026-06-01,foundation day\n")
			resp, body := c.upload("/calendars/corp/import", url.Values{"from": {"2026-01-01"}}, "days.csv", csv)
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			require.Contains(t, body, "days.csv:3")

			resp, body = c.upload("/calendars/corp/import", url.Values{"from": {"2026-01-01"}, "skip_bad": {"1"}}, "days.csv", csv)
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			require.Contains(t, body, `data-testid="import-skipped"`)
			require.Contains(t, body, "days.csv:3")
			require.Contains(t, body, `<b data-testid="import-read">2</b>`)
			require.Contains(t, body, `<b data-testid="import-changed">2</b>`)
			// The payday run of 2026-05-15 moves to the 14th.
			require.Contains(t, body, "hr/payday")
			require.Contains(t, body, "2026-05-14 09:00")
			_, v, _ := ts.Ops.CalendarDef(context.Background(), "corp")
			require.Equal(t, 1, v, "a preview saves nothing")

			// A tampered confirm is refused.
			f := confirmForm(t, body, url.Values{"skip_bad": {"1"}, "from": {"2026-01-01"}})
			bad := url.Values{}
			for k, vs := range f {
				bad[k] = vs
			}
			bad.Set("content", "ZGF0ZSxuYW1lCjIwMjYtMDctMDEseAo=")
			resp, body2 := c.post("/calendars/corp/import/confirm", bad)
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			require.Contains(t, body2, "checksum")

			resp, _ = c.post("/calendars/corp/import/confirm", f)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			require.Equal(t, "/calendars/corp?year=2026", resp.Header.Get("Location"))
			_, body = c.get(resp.Header.Get("Location"))
			require.Contains(t, body, "Imported 2 days; calendar version 2.")
			def, v, _ := ts.Ops.CalendarDef(context.Background(), "corp")
			require.Equal(t, 2, v)
			require.Len(t, def.Overrides, 2)
			require.Equal(t, "company holiday", def.Overrides[0].Note)

			// Oversized files get a clear message.
			resp, body = c.upload("/calendars/corp/import", nil, "big.csv", bytes.Repeat([]byte("x"), 2<<20+1))
			require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)
			require.Contains(t, body, "2 MiB")
		})
	}
}

func syukujitsu(t *testing.T) []byte {
	if b, err := os.ReadFile("/work/shared/data/syukujitsu.csv"); err == nil {
		return b
	}
	return calendars.JapanCSV()
}

func TestCalendarImportShiftJIS(t *testing.T) {
	data := syukujitsu(t)
	want := 0
	for _, line := range strings.Split(string(data), "\n") {
		if strings.HasPrefix(line, "2026/") || strings.HasPrefix(line, "2027/") {
			want++
		}
	}
	require.Positive(t, want)
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ts := newTestServer(t, d)
			applyFixture(t, ts, calFixture)
			c := ts.client(t).login("admin", adminPassword)
			c.get("/calendars/corp/import")
			resp, body := c.upload("/calendars/corp/import", url.Values{"from": {"2026-01-01"}}, "syukujitsu.csv", data)
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
			require.Contains(t, body, `<b data-testid="import-read">`+strconv.Itoa(want)+`</b>`)
			require.Contains(t, body, "元日")
			require.Contains(t, body, `<b data-testid="import-bad">0</b>`)
			// The preview is a GET of its own; another user cannot open it.
			preview := resp.Request.URL.RequestURI()
			require.Contains(t, preview, "/calendars/corp/import/preview/")
			_, err := ts.Ops.CreateUser(context.Background(), ops.System, "dana", "dana-password-1", store.RoleDesigner)
			require.NoError(t, err)
			other, _ := ts.client(t).login("dana", "dana-password-1").get(preview)
			require.Equal(t, http.StatusNotFound, other.StatusCode)
			resp, _ = c.post("/calendars/corp/import/confirm", confirmForm(t, body, url.Values{"from": {"2026-01-01"}}))
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			gone, _ := c.get(preview)
			require.Equal(t, http.StatusNotFound, gone.StatusCode, "the file is dropped once imported")
			def, v, _ := ts.Ops.CalendarDef(context.Background(), "corp")
			require.Equal(t, 2, v)
			require.Len(t, def.Overrides, want)
			cal, err := ts.Ops.BuildCalendar(context.Background(), "corp")
			require.NoError(t, err)
			require.Equal(t, "closed: override '憲法記念日'", cal.Status(calendar.MustParseDate("2026-05-03")).Reason)
		})
	}
}

func TestSchedulePreviewAndSave(t *testing.T) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ts := newTestServer(t, d)
			applyFixture(t, ts, calFixture)
			c := ts.client(t).login("admin", adminPassword)
			_, body := c.get("/jobnets/hr/payday/schedule?year=2026")
			require.Contains(t, body, `data-testid="sched-form"`)
			cls, title := dayCell(t, body, "sched-year", "2026-05-15")
			require.Contains(t, cls, "run")
			require.Contains(t, title, "09:00")
			// 2026-02-15 is a Sunday: the run is on Friday the 13th.
			cls, _ = dayCell(t, body, "sched-year", "2026-02-13")
			require.Contains(t, cls, "run")
			cls, _ = dayCell(t, body, "sched-year", "2026-02-15")
			require.NotContains(t, cls, "run")

			rule := func(day, closed string) url.Values {
				return url.Values{"year": {"2026"}, "count": {"1"}, "schedule[0].kind": {"day"}, "schedule[0].day": {day},
					"schedule[0].closed": {closed}, "schedule[0].start": {"08:30"}}
			}
			// Preview without saving: the 10th, skipped on closed days.
			_, body = c.post("/jobnets/hr/payday/schedule/preview", rule("10", "skip"))
			require.Contains(t, body, `id="sched-preview"`)
			require.NotContains(t, body, "<html")
			cls, _ = dayCell(t, body, "sched-year", "2026-01-09")
			require.NotContains(t, cls, "run")
			cls, _ = dayCell(t, body, "sched-year", "2026-02-10")
			require.Contains(t, cls, "run")
			require.Contains(t, body, `data-testid="sched-dropped"`)
			require.Contains(t, body, "2026-01-10")
			require.Contains(t, body, "9 runs on 9 days") // January 10 and October 10 are Saturdays, May 10 a Sunday
			_, v, _ := jobnetVersion(t, ts)
			require.Equal(t, 1, v)

			// Errors per field; what was typed stays.
			resp, body := c.post("/jobnets/hr/payday/schedule", url.Values{"op": {"save"}, "year": {"2026"}, "count": {"1"},
				"schedule[0].kind": {"day"}, "schedule[0].day": {"40"}, "schedule[0].start": {"9:00, 48:00"}})
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			require.Contains(t, body, `data-testid="err-start"`)
			require.Contains(t, body, `value="9:00, 48:00"`)
			resp, body = c.post("/jobnets/hr/payday/schedule", url.Values{"op": {"save"}, "year": {"2026"}, "count": {"1"},
				"schedule[0].kind": {"day"}, "schedule[0].day": {"40"}})
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			require.Contains(t, body, `data-testid="err-day"`)

			// Add a rule (not saved), then save.
			f := rule("10", "before")
			f.Set("op", "add")
			_, body = c.post("/jobnets/hr/payday/schedule", f)
			require.Contains(t, body, `data-testid="rule-1"`)
			resp, _ = c.post("/jobnets/hr/payday/schedule", url.Values{"op": {"save"}, "year": {"2026"}, "count": {"2"},
				"schedule[0].kind": {"day"}, "schedule[0].day": {"10"}, "schedule[0].closed": {"before"},
				"schedule[1].kind": {"weekdays"}, "schedule[1].weekdays": {"mon", "fri"}, "schedule[1].closed": {"skip"}, "schedule[1].start": {"18:00"}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			j, v, _ := jobnetVersion(t, ts)
			require.Equal(t, 2, v)
			require.Len(t, j.Rules, 2)
			require.Equal(t, 10, j.Rules[0].Day)
			require.Equal(t, jobnet.SubstituteBefore, j.Rules[0].Closed)
			require.Equal(t, []calendar.Weekday{1, 5}, j.Rules[1].Weekdays)
		})
	}
}

func jobnetVersion(t *testing.T, ts *testServer) (*jobnet.Jobnet, int, error) {
	t.Helper()
	v, err := ts.Ops.JobnetSchedule(context.Background(), "hr", "payday")
	require.NoError(t, err)
	return v.Jobnet, v.Version, nil
}
