package jobnet

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

func TestParseDue(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"30:00", "30:00", ""},
		{"06:15", "06:15", ""},
		{"+3h", "+3h", ""},
		{"+90m", "+1h30m", ""},
		{"48:00", "", `invalid deadline "48:00"`},
		{"+0s", "", `invalid deadline "+0s"`},
		{"+-1h", "", `invalid deadline "+-1h"`},
		{"3h", "", `invalid deadline "3h"`},
		{"", "", `invalid deadline ""`},
	}
	for _, tt := range tests {
		d, err := ParseDue(tt.in)
		if tt.err != "" {
			require.ErrorContains(t, err, tt.err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, d.String())
	}
}

func TestDueInstant(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	date := calendar.NewDate(2026, 4, 1)
	start := date.At(22*time.Hour, tokyo)
	at, _ := ParseDue("30:00")
	require.Equal(t, time.Date(2026, 4, 2, 6, 0, 0, 0, tokyo), at.Instant(start, date, tokyo))
	rel, _ := ParseDue("+3h")
	require.Equal(t, time.Date(2026, 4, 2, 1, 0, 0, 0, tokyo), rel.Instant(start, date, tokyo))
}

func TestDeadlineDefinitions(t *testing.T) {
	src := `kind: Jobnet
name: nightly
folder: sales
deadline: "30:00"
schedule:
  - {name: weekday, kind: daily, start: ["22:00"]}
  - {name: monthend, kind: month_end, start: ["22:00"], deadline: +8h}
units:
  - name: load
    kind: job
    deadline: "29:00"
    job: {type: noop}
`
	b, err := ParseFile("n.yaml", []byte(src))
	require.NoError(t, err)
	j := b.Jobnets[0]
	require.Equal(t, "30:00", j.DueOf("weekday").String())
	require.Equal(t, "+8h", j.DueOf("monthend").String())
	require.Equal(t, "30:00", j.DueOf("run-now").String())
	require.Equal(t, "29:00", j.Units[0].Deadline.String())

	out, err := Encode(b)
	require.NoError(t, err)
	again, err := ParseFile("n.yaml", out)
	require.NoError(t, err)
	c1, err := Canonical(&b.Jobnets[0])
	require.NoError(t, err)
	c2, err := Canonical(&again.Jobnets[0])
	require.NoError(t, err)
	require.Equal(t, string(c1), string(c2))
	require.Contains(t, string(out), "deadline: \"30:00\"")

	_, err = ParseFile("n.yaml", []byte("kind: Jobnet\nname: n\nfolder: f\ndeadline: 6am\n"))
	require.ErrorContains(t, err, `n.yaml:4:11: deadline: invalid deadline "6am"`)
}

func TestValidateDeadlines(t *testing.T) {
	const jn = "jobnets[f/net]"
	b := validBundle()
	j := &b.Jobnets[0]
	j.Deadline = &Due{At: clock("30:00"), After: Duration(time.Hour)}
	j.Rules[0].Deadline = &Due{}
	j.Units = append(j.Units, Unit{Name: "w", Kind: UnitWait, Wait: &Wait{Jobnet: "other"}, Deadline: &Due{After: Duration(time.Hour)}})
	ps := Validate(b, Known{Jobnets: []string{"f/other"}})
	require.ErrorIs(t, ps.Err(), fault.ErrInvalid)
	require.Equal(t, fault.Problems{
		{Path: jn + ".deadline", Message: "set either a business-day time or a duration after the start, not both"},
		{Path: jn + ".schedule[0].deadline", Message: "set a business-day time (e.g. 30:00) or a duration after the start (e.g. +3h)"},
		{Path: jn + ".units[w].deadline", Message: "a deadline applies to job and jobnet units"},
	}, ps)
}

func FuzzParseDue(f *testing.F) {
	for _, s := range []string{"30:00", "+3h", "+90m", "47:59", "+1h30m0.5s", "48:00", "+", "+-1s", "5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDue(s)
		if err != nil {
			return
		}
		if (d.At == nil) == (d.After == 0) {
			t.Fatalf("ParseDue(%q) = %+v: exactly one of at and after must be set", s, d)
		}
		again, err := ParseDue(d.String())
		if err != nil {
			t.Fatalf("ParseDue(%q).String() = %q does not parse: %v", s, d.String(), err)
		}
		if again.String() != d.String() {
			t.Fatalf("round trip of %q: %q then %q", s, d.String(), again.String())
		}
	})
}
