package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/japanese"

	"github.com/koyomi-dev/koyomi/calendars"
	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

var update = flag.Bool("update", false, "rewrite golden files")

// koyomi runs the CLI in-process with a private data directory.
func koyomi(t *testing.T, dataDir string, args ...string) (string, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	getenv := func(k string) string {
		switch k {
		case "KOYOMI_DATA_DIR":
			return dataDir
		case "USER":
			return "tester"
		}
		return ""
	}
	err := run(context.Background(), args, getenv, strings.NewReader(""), &out, &errb)
	return out.String(), errb.String(), err
}

// dbDir returns a data directory with a migrated embedded database.
func dbDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	_, _, err := koyomi(t, dir, "migrate", "up")
	require.NoError(t, err)
	return dir
}

func TestPlanOfExamplesGolden(t *testing.T) {
	out, _, err := koyomi(t, t.TempDir(), "plan", "-f", "../../examples", "--from", "2026-01-01", "--to", "2026-12-31", "-o", "json")
	require.NoError(t, err)
	var rows []planRunJSON
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	require.NotEmpty(t, rows)
	golden := filepath.Join("testdata", "plan-examples-2026.golden.json")
	if *update {
		require.NoError(t, os.WriteFile(golden, []byte(out), 0o644))
	}
	want, err := os.ReadFile(golden)
	require.NoError(t, err)
	require.Equal(t, string(want), out, "run with -update after an intended change")
}

// The JP1 worked example over a real year: payroll calculation two open days
// before a payday on the 25th that shifts to the previous open day.
func TestPayrollCalcDates(t *testing.T) {
	out, _, err := koyomi(t, t.TempDir(), "plan", "-f", "../../examples", "--jobnet", "hr/payroll-calc", "--from", "2026-01-01", "--to", "2026-12-31", "-o", "json")
	require.NoError(t, err)
	var rows []planRunJSON
	require.NoError(t, json.Unmarshal([]byte(out), &rows))
	var dates []string
	for _, r := range rows {
		dates = append(dates, r.BusinessDate)
	}
	// Paydays: 01-23 (25th Sun), 02-25, 03-25, 04-24 (Sat), 05-25, 06-25, 07-24 (Sat),
	// 08-25, 09-25, 10-23 (Sun), 11-25, 12-25; minus two open days (Japanese
	// holidays and weekends skipped).
	require.Equal(t, []string{"2026-01-21", "2026-02-20", "2026-03-23", "2026-04-22", "2026-05-21", "2026-06-23",
		"2026-07-22", "2026-08-21", "2026-09-18", "2026-10-21", "2026-11-20", "2026-12-23"}, dates)
}

func TestCalendarShowJPMatchesCabinetOffice(t *testing.T) {
	data, err := os.ReadFile("../../../shared/data/syukujitsu.csv")
	if err == nil {
		data, err = japanese.ShiftJIS.NewDecoder().Bytes(data)
		require.NoError(t, err)
	} else {
		data = calendars.JapanCSV()
	}
	recs, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	require.NoError(t, err)
	want := map[string]string{}
	for _, r := range recs[1:] {
		d, err := parseSlashDate(r[0])
		require.NoError(t, err, r[0])
		want[d] = r[1]
	}
	out, _, err := koyomi(t, dbDir(t), "calendar", "show", "jp", "--from", "1955-01-01", "--to", "2027-12-31", "--closed", "-o", "json")
	require.NoError(t, err)
	var days []dayJSON
	require.NoError(t, json.Unmarshal([]byte(out), &days))
	got := map[string]string{}
	for _, d := range days {
		got[d.Date] = strings.TrimSuffix(strings.TrimPrefix(d.Reason, "closed: "), " (jp)")
	}
	require.Len(t, got, len(want))
	require.Equal(t, want, got)
}

func parseSlashDate(s string) (string, error) {
	var y, m, d int
	parts := strings.Split(s, "/")
	if len(parts) != 3 {
		return "", fault.ErrInvalid
	}
	for i, p := range []*int{&y, &m, &d} {
		if err := json.Unmarshal([]byte(strings.TrimLeft(parts[i], "0")), p); err != nil {
			return "", err
		}
	}
	return calendar.NewDate(y, timeMonth(m), d).String(), nil
}

func TestApplyRejectsCycleAndUnknownCalendarAndChangesNothing(t *testing.T) {
	dir := dbDir(t)
	_, _, err := koyomi(t, dir, "apply", "-f", "../../examples")
	require.NoError(t, err)
	before, _, err := koyomi(t, dir, "export")
	require.NoError(t, err)

	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(`kind: Jobnet
name: nightly
folder: sales
calendar: no-such-calendar
units:
  - {name: a, kind: job, job: {type: local, local: {command: "echo a"}}}
  - {name: b, kind: job, job: {type: local, local: {command: "echo b"}}}
edges:
  - {from: a, to: b}
  - {from: b, to: a}
`), 0o644))
	_, _, err = koyomi(t, dir, "apply", "-f", bad)
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.Equal(t, 3, exitCode(err))
	require.Contains(t, err.Error(), `jobnets[sales/nightly].calendar: unknown calendar "no-such-calendar"`)
	require.Contains(t, err.Error(), `jobnets[sales/nightly].edges: cycle: a → b → a`)

	after, _, err := koyomi(t, dir, "export")
	require.NoError(t, err)
	require.Equal(t, before, after, "a failed apply changes nothing")
}

func TestApplyExportApplyIsANoop(t *testing.T) {
	dir := dbDir(t)
	_, _, err := koyomi(t, dir, "apply", "-f", "../../examples")
	require.NoError(t, err)
	exp := t.TempDir()
	_, _, err = koyomi(t, dir, "export", "-o", exp)
	require.NoError(t, err)
	out, _, err := koyomi(t, dir, "apply", "-f", exp)
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		require.Contains(t, line, "unchanged", line)
	}
}

func TestUnknownCommandAndBadFlags(t *testing.T) {
	_, _, err := koyomi(t, t.TempDir(), "frobnicate")
	require.Equal(t, 2, exitCode(err))
	_, _, err = koyomi(t, t.TempDir(), "plan", "--from", "2026-02-30")
	require.Equal(t, 2, exitCode(err))
	require.ErrorContains(t, err, "--from")
}

func timeMonth(m int) time.Month { return time.Month(m) }

func TestApplyRefusesAMacroThatWouldFailAtRunTime(t *testing.T) {
	dir := dbDir(t)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte(`kind: Calendar
name: c
time_zone: Asia/Tokyo
---
kind: Folder
name: f
calendar: c
---
kind: Jobnet
name: n
folder: f
units:
  - {name: a, kind: job, job: {type: local, local: {command: "echo ${DAY}"}}}
`), 0o644))
	_, _, err := koyomi(t, dir, "apply", "-f", bad)
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.Contains(t, err.Error(), `jobnets[f/n].units[a].job.local.command: column 6: unknown variable "DAY"`)
}

// `apply -f examples/` loads only what runs on this machine: no ECS or EKS
// job, no connection; the cloud examples are applied on their own, after.
func TestApplyExamplesIsLocalOnlyAndCloudExamplesApplyApart(t *testing.T) {
	dir := dbDir(t)
	out, _, err := koyomi(t, dir, "apply", "-f", "../../examples/")
	require.NoError(t, err, out)
	require.NotContains(t, out, "Connection")
	exp, _, err := koyomi(t, dir, "export")
	require.NoError(t, err)
	for _, cloud := range []string{"type: ecs", "type: eks", "kind: Connection"} {
		require.NotContains(t, exp, cloud)
	}

	out, _, err = koyomi(t, dir, "apply", "-f", "../../examples/cloud/ecs", "-f", "../../examples/cloud/eks")
	require.NoError(t, err, out)
	require.Contains(t, out, "prod-tokyo")
	require.Contains(t, out, "prod-eks")
	require.Contains(t, out, "accounting/nightly-ledger")

	// -R reads subdirectories: the whole tree in one transaction.
	fresh := dbDir(t)
	out, _, err = koyomi(t, fresh, "apply", "-R", "-f", "../../examples")
	require.NoError(t, err, out)
	require.Contains(t, out, "prod-eks")
}
