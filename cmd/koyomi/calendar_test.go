package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// importFixtures are the real-world style files of internal/calendar and
// the zone of the calendar each is imported into; calendar_import tests of
// package web read the same table from the same files.
var importFixtures = []struct{ file, zone, want, nameColumn string }{
	{"thunderbird-us.ics", "America/New_York", "thunderbird-us.want", ""},
	{"google-export.ics", "Asia/Tokyo", "google-export.want", ""},
	{"us-opm.ics", "America/New_York", "us-opm.want", ""},
	{"aws-ssm-change-calendar.ics", "America/Los_Angeles", "aws-ssm-change-calendar.want", ""},
	{"uk-bank-holidays.ics", "Europe/London", "uk-bank-holidays.want", ""},
	{"argentina.ics", "America/Argentina/Buenos_Aires", "argentina.want", ""},
	{"holidays-ja-en.csv", "Asia/Tokyo", "holidays-ja-en.en.want", "en"},
	{"holidays-name-type.csv", "UTC", "holidays-name-type.want", ""},
}

const importDir = "../../internal/calendar/testdata/import"

func wantLines(t *testing.T, name string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(importDir, name))
	require.NoError(t, err)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimRight(l, "\r"); l != "" && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return out
}

// TestCalendarImportRealWorldFiles imports each file with the CLI into an
// empty calendar in its zone and compares the closed days day by day.
func TestCalendarImportRealWorldFiles(t *testing.T) {
	dir := dbDir(t)
	defs := filepath.Join(t.TempDir(), "cals.yaml")
	var yaml strings.Builder
	for i, f := range importFixtures {
		if i > 0 {
			yaml.WriteString("---\n")
		}
		yaml.WriteString("kind: Calendar\nname: c" + string(rune('a'+i)) + "\ntime_zone: " + f.zone + "\n")
	}
	require.NoError(t, os.WriteFile(defs, []byte(yaml.String()), 0o644))
	_, _, err := koyomi(t, dir, "apply", "-f", defs)
	require.NoError(t, err)
	for i, f := range importFixtures {
		t.Run(f.file, func(t *testing.T) {
			name := "c" + string(rune('a'+i))
			args := []string{"calendar", "import", filepath.Join(importDir, f.file), "--into", name,
				"--from", "2026-01-01", "--to", "2027-12-31", "--skip-bad"}
			if f.nameColumn != "" {
				args = append(args, "--name-column", f.nameColumn)
			}
			out, _, err := koyomi(t, dir, args...)
			require.NoError(t, err)
			require.Contains(t, out, "imported: calendar "+name+" is now version 2")
			require.Equal(t, wantLines(t, f.want), closedDays(t, dir, name))
		})
	}
}

// closedDays lists a calendar's closed days of 2026-2027 as "date name".
func closedDays(t *testing.T, dir, name string) []string {
	t.Helper()
	out, _, err := koyomi(t, dir, "calendar", "show", name, "--from", "2026-01-01", "--to", "2027-12-31", "--closed", "-o", "json")
	require.NoError(t, err)
	var days []dayJSON
	require.NoError(t, json.Unmarshal([]byte(out), &days))
	var got []string
	for _, d := range days {
		n := strings.TrimPrefix(d.Reason, "closed: override")
		n = strings.TrimSuffix(strings.TrimPrefix(n, " '"), "'")
		got = append(got, strings.TrimSpace(d.Date+" "+n))
	}
	return got
}

func TestCalendarImportReportsEventsAndRange(t *testing.T) {
	dir := dbDir(t)
	defs := filepath.Join(t.TempDir(), "cal.yaml")
	require.NoError(t, os.WriteFile(defs, []byte("kind: Calendar\nname: ops\ntime_zone: America/Los_Angeles\n"), 0o644))
	_, _, err := koyomi(t, dir, "apply", "-f", defs)
	require.NoError(t, err)
	file := filepath.Join(importDir, "aws-ssm-change-calendar.ics")

	_, _, err = koyomi(t, dir, "calendar", "import", file, "--into", "ops", "--dry-run")
	require.Error(t, err)
	require.Contains(t, err.Error(), `aws-ssm-change-calendar.ics:45: UID "c1d2e3f4-a5b6-4c7d-8e9f-0a1b2c3d4e5f": timed event 20260612T220000Z – 20260613T060000Z does not cover whole days`)

	out, _, err := koyomi(t, dir, "calendar", "import", file, "--into", "ops", "--dry-run", "--skip-bad")
	require.NoError(t, err)
	require.Contains(t, out, "read over 2026-03-30 .. ")
	require.Contains(t, out, "(default: first event to 10 years ahead; choose with --from/--to)")
	require.Contains(t, out, "aws-ssm-change-calendar.ics:45: UID")
	require.Contains(t, out, "dry run: nothing written")

	_, _, err = koyomi(t, dir, "calendar", "import", file, "--into", "ops", "--from", "2027-01-01", "--to", "2026-01-01")
	require.ErrorIs(t, err, errUsage)
}

// TestCalendarExportImportRoundTrip: export, import into another calendar,
// export again: the same file.
func TestCalendarExportImportRoundTrip(t *testing.T) {
	dir := dbDir(t)
	defs := filepath.Join(t.TempDir(), "cal.yaml")
	require.NoError(t, os.WriteFile(defs, []byte(`kind: Calendar
name: src
time_zone: Asia/Tokyo
closed_weekdays: [sun]
holiday_sets: [jp]
overrides:
  - {date: 2026-12-31, note: "year end"}
  - {date: 2026-08-13}
---
kind: Calendar
name: dst
time_zone: Asia/Tokyo
`), 0o644))
	_, _, err := koyomi(t, dir, "apply", "-f", defs)
	require.NoError(t, err)
	for _, format := range []string{"csv", "ics"} {
		first, _, err := koyomi(t, dir, "calendar", "export", "src", "--format", format, "--from", "2026-01-01", "--to", "2026-12-31")
		require.NoError(t, err)
		f := filepath.Join(t.TempDir(), "out."+format)
		require.NoError(t, os.WriteFile(f, []byte(first), 0o644))
		_, _, err = koyomi(t, dir, "calendar", "import", f, "--into", "dst")
		require.NoError(t, err)
		again, _, err := koyomi(t, dir, "calendar", "export", "dst", "--format", format, "--from", "2026-01-01", "--to", "2026-12-31")
		require.NoError(t, err)
		if format == "ics" { // the calendar's name is in the UIDs
			first = strings.ReplaceAll(first, "src", "dst")
			first = dropStamps(first)
			again = dropStamps(again)
		}
		require.Equal(t, first, again, format)
	}
}

func dropStamps(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\r\n") {
		if !strings.HasPrefix(l, "DTSTAMP:") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\r\n")
}
