package jobnet

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

func TestParseFileStrict(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want []string
	}{
		{"unknown field in a job spec", `kind: Jobnet
name: nightly
folder: sales
units:
  - name: extract
    kind: job
    job:
      type: local
      local:
        comand: echo hi
`, []string{`payroll.yaml:10:9: unknown field "comand" in job.local`}},
		{"unknown top-level field and wrong shapes", `kind: Jobnet
name: nightly
folder: sales
colour: blue
units:
  - name: a
    kind: job
    position: {x: left, y: 3}
    job: {type: local, local: {command: x}, retry: {count: three}}
schedule:
  - kind: day
    day: 25
    start: ["25:61"]
    weekdays: [mon, funday]
`, []string{
			`payroll.yaml:4:1: unknown field "colour" in Jobnet`,
			`payroll.yaml:8:19: position.x: want an integer, got "left"`,
			`payroll.yaml:9:60: job.retry.count: want an integer, got "three"`,
			`payroll.yaml:13:13: start: invalid time "25:61": want HH:MM between 00:00 and 47:59`,
			`payroll.yaml:14:21: weekdays: invalid weekday "funday": want mon, tue, wed, thu, fri, sat or sun`,
		}},
		{"duplicate field", "kind: Pool\nname: a\nslots: 1\nname: b\n",
			[]string{`payroll.yaml:4:1: duplicate field "name" in Pool (first at line 2)`}},
		{"unknown kind", "kind: Jobnets\nname: a\n",
			[]string{`payroll.yaml:1:7: unknown kind "Jobnets": want Folder, Jobnet, Calendar, Pool or Connection`}},
		{"missing kind", "name: a\n---\n- 1\n", []string{
			`payroll.yaml:1:1: document: missing kind (Folder, Jobnet, Calendar, Pool or Connection)`,
			`payroll.yaml:3:1: document: want a mapping with kind: Folder, Jobnet, Calendar, Pool or Connection, got a list`,
		}},
		{"calendar fields", "kind: Calendar\nname: c\nbase_time: 5\noverrides:\n  - {date: 2026-02-30, open: yes}\n", []string{
			`payroll.yaml:3:12: base_time: invalid time "5": want HH:MM between 00:00 and 47:59`,
			`payroll.yaml:5:12: date: invalid date "2026-02-30": want an existing date as YYYY-MM-DD`,
			`payroll.yaml:5:30: open: want true or false, got "yes"`,
		}},
		{"bad duration and merge key", "kind: Jobnet\nname: n\nfolder: f\nbase: &b {type: noop}\nunits:\n  - name: a\n    kind: job\n    job:\n      <<: *b\n      timeout: {after: soon}\n", []string{
			`payroll.yaml:4:1: unknown field "base" in Jobnet`,
			`payroll.yaml:9:7: job: merge keys (<<) are not supported; repeat the fields`,
			`payroll.yaml:10:24: job.timeout.after: invalid duration "soon": want e.g. 90s, 15m, 1h30m`,
		}},
		{"syntax error", "kind: Pool\nname: a\n  slots: 1\n", []string{
			`payroll.yaml:3:3: invalid YAML: mapping values are not allowed in this context`,
		}},
		{"tab indentation", "kind: Pool\nunits:\n\t- a\n", []string{
			`payroll.yaml:3:1: invalid YAML: found character that cannot start any token`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFile("payroll.yaml", []byte(tt.src))
			require.Error(t, err)
			require.ErrorIs(t, err, fault.ErrInvalid)
			ps, ok := fault.AsProblems(err)
			require.True(t, ok)
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestParseFileAccepts(t *testing.T) {
	src := `# comment only document
---
kind: Pool
name: p
slots: 3
---
kind: Folder
name: f
calendar: c
---
kind: Jobnet
name: n
folder: f
anchors: &x echo hi
units:
  - name: a
    kind: job
    job: {type: local, local: {command: echo hi}, env: {A: "1"}, timeout: {after: 1h30m}}
`
	_, err := ParseFile("ok.yaml", []byte(src))
	require.Error(t, err, "unknown field anchors")

	src2 := "kind: Pool\nname: p\nslots: 3\n---\n---\nkind: Folder\nname: f\ncalendar: c\n"
	b, err := ParseFile("ok.yaml", []byte(src2))
	require.NoError(t, err)
	require.Equal(t, &Bundle{Pools: []Pool{{Name: "p", Slots: 3}}, Folders: []Folder{{Name: "f", Calendar: "c"}}}, b)

	b, err = ParseFile("empty.yaml", nil)
	require.NoError(t, err)
	require.Zero(t, b.Len())
}

func TestParseFileBoundsAliases(t *testing.T) {
	for src, want := range map[string]string{
		"kind: Jobnet\nname: n\nfolder: f\nunits: &u [{name: a, kind: jobnet, net: {units: *u}}]\n": "loop.yaml:4:49: net.units: alias *u refers to a value that contains it (a recursive alias)",
		aliasBomb(): "aliases expand to more than 1000000 values (an alias bomb?)",
		"kind: Jobnet\nname: n\nfolder: f\nunits: " + strings.Repeat("[{name: a, kind: jobnet, net: {units: ", 70) + "[]" + strings.Repeat("}}]", 70) + "\n": "nested more than 256 levels deep",
	} {
		_, err := ParseFile("loop.yaml", []byte(src))
		require.Error(t, err)
		require.Contains(t, err.Error(), want)
		require.ErrorIs(t, err, fault.ErrInvalid)
	}
	// Aliases that expand moderately are fine.
	b, err := ParseFile("ok.yaml", []byte("kind: Jobnet\nname: n\nfolder: f\nunits:\n  - &a {name: a, kind: job, job: &j {type: local, local: {command: x}}}\n  - {name: b, kind: job, job: *j}\n"))
	require.NoError(t, err)
	require.Equal(t, "x", b.Jobnets[0].Units[1].Job.Local.Command)
}

// aliasBomb nests 9 aliases per level, 8 levels deep: 9^8 units once expanded.
func aliasBomb() string {
	var b strings.Builder
	b.WriteString("kind: Jobnet\nname: n\nfolder: f\nunits:\n  - &l0 {name: a, kind: job}\n")
	for i := 1; i <= 8; i++ {
		prev := fmt.Sprintf("*l%d", i-1)
		fmt.Fprintf(&b, "  - &l%d {name: a, kind: jobnet, net: {units: [%s]}}\n", i, strings.TrimSuffix(strings.Repeat(prev+", ", 9), ", "))
	}
	return b.String()
}

func TestParseFileKeepChildren(t *testing.T) {
	b, err := ParseFile("k.yaml", []byte("kind: Jobnet\nname: n\nfolder: f\nunits: [{name: a, kind: job, job: {type: local, local: {command: x, keep_children: true}}}]\n"))
	require.NoError(t, err)
	require.True(t, b.Jobnets[0].Units[0].Job.Local.KeepChildren)
	data, err := Encode(b)
	require.NoError(t, err)
	require.Contains(t, string(data), "keep_children: true")
	_, err = ParseFile("k.yaml", []byte("kind: Jobnet\nname: n\nfolder: f\nunits: [{name: a, kind: job, job: {type: local, local: {command: x, keep_children: sometimes}}}]\n"))
	require.ErrorContains(t, err, "k.yaml:4:")
}
