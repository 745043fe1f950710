package web_test

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// TestCalendarImportRealWorldFilesThroughForm imports the real-world style
// files through the import form and compares the closed days with the same
// independent lists the CLI import is compared with (cmd/koyomi), so that
// the GUI and the CLI give the same result.
func TestCalendarImportRealWorldFilesThroughForm(t *testing.T) {
	const dir = "../calendar/testdata/import"
	files := []struct{ file, zone, want, nameColumn string }{
		{"thunderbird-us.ics", "America/New_York", "thunderbird-us.want", ""},
		{"google-export.ics", "Asia/Tokyo", "google-export.want", ""},
		{"us-opm.ics", "America/New_York", "us-opm.want", ""},
		{"aws-ssm-change-calendar.ics", "America/Los_Angeles", "aws-ssm-change-calendar.want", ""},
		{"uk-bank-holidays.ics", "Europe/London", "uk-bank-holidays.want", ""},
		{"argentina.ics", "America/Argentina/Buenos_Aires", "argentina.want", ""},
		{"holidays-ja-en.csv", "Asia/Tokyo", "holidays-ja-en.en.want", "en"},
		{"holidays-name-type.csv", "UTC", "holidays-name-type.want", ""},
	}
	var fixture strings.Builder
	for i, f := range files {
		if i > 0 {
			fixture.WriteString("---\n")
		}
		fixture.WriteString("kind: Calendar\nname: c" + string(rune('a'+i)) + "\ntime_zone: " + f.zone + "\n")
	}
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ts := newTestServer(t, d)
			applyFixture(t, ts, fixture.String())
			c := ts.client(t).login("admin", adminPassword)
			for i, f := range files {
				name := "c" + string(rune('a'+i))
				data, err := os.ReadFile(filepath.Join(dir, f.file))
				require.NoError(t, err)
				fields := url.Values{"from": {"2026-01-01"}, "to": {"2027-12-31"}, "skip_bad": {"1"}, "name_column": {f.nameColumn}}
				c.get("/calendars/" + name + "/import")
				resp, body := c.upload("/calendars/"+name+"/import", fields, f.file, data)
				require.Equal(t, http.StatusOK, resp.StatusCode, body)
				if strings.HasSuffix(f.file, ".ics") {
					require.Contains(t, body, `data-testid="import-range">Read over 2026-01-01 to 2027-12-31<`)
				}
				form := confirmForm(t, body, fields)
				form.Set("file_name", f.file)
				resp, _ = c.post("/calendars/"+name+"/import/confirm", form)
				require.Equal(t, http.StatusSeeOther, resp.StatusCode, f.file)

				cal, err := ts.Ops.BuildCalendar(context.Background(), name)
				require.NoError(t, err)
				var got []string
				for _, s := range cal.ClosedDays(calendar.MustParseDate("2026-01-01"), calendar.MustParseDate("2027-12-31")) {
					got = append(got, strings.TrimSpace(s.Date.String()+" "+calendar.ExportName(s)))
				}
				require.Equal(t, readWantFile(t, filepath.Join(dir, f.want)), got, f.file)
			}
		})
	}
}

// TestCalendarImportFormDefaultRange: without dates the preview says over
// which range recurring events were read.
func TestCalendarImportFormDefaultRange(t *testing.T) {
	ts := newTestServer(t, storetest.Dialects[0])
	applyFixture(t, ts, calFixture)
	c := ts.client(t).login("admin", adminPassword)
	_, body := c.get("/calendars/corp/import")
	require.Contains(t, body, `name="from" value=""`, "no range is preselected: the default is the file's")
	data, err := os.ReadFile("../calendar/testdata/import/thunderbird-us.ics")
	require.NoError(t, err)
	resp, body := c.upload("/calendars/corp/import", nil, "us.ics", data)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Regexp(t, `data-testid="import-range">Read over 2010-01-01 to 20\d\d-12-31 \(default: first event to 10 years ahead`, body)
}

func readWantFile(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}
