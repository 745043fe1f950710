package calendar

import (
	"errors"
	"testing"
	"time"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/stretchr/testify/require"
)

func TestBuild(t *testing.T) {
	defs := map[string]Definition{
		"jp-base": {Name: "jp-base", TimeZone: "Asia/Tokyo", HolidaySets: []string{"jp"},
			ClosedWeekdays: []Weekday{6, 0}},
		"jp-company": {Name: "jp-company", Parent: "jp-base", BaseTime: 5 * 60, BaseDay: 21, MonthNaming: MonthNamingEnd,
			Overrides: []OverrideDef{{Date: d("2026-12-31"), Note: "year-end"}}},
	}
	c, err := Build(defs["jp-company"], MapResolver(defs))
	require.NoError(t, err)
	require.Equal(t, "Asia/Tokyo", c.Parent().Location().String())
	require.Equal(t, "Asia/Tokyo", c.Location().String(), "a child without a zone inherits its parent's")
	require.Equal(t, 21, c.BaseDay())
	require.Equal(t, MonthNamingEnd, c.MonthNaming())
	require.Equal(t, "closed: 元日 (jp) (from jp-base)", c.Status(d("2026-01-01")).Reason)
	require.Equal(t, "closed: override 'year-end'", c.Status(d("2026-12-31")).Reason)
}

func TestBuildProblems(t *testing.T) {
	tests := []struct {
		name string
		def  Definition
		defs map[string]Definition
		want []string
	}{
		{
			name: "everything wrong",
			def: Definition{Name: "jp-company", TimeZone: "Mars/Olympus", BaseTime: 24 * 60, BaseDay: 29, MonthNaming: "middle",
				HolidaySets: []string{"jp", "xx", "jp"}, ClosedWeekdays: []Weekday{9},
				Overrides: []OverrideDef{{Date: d("2026-01-01")}, {Date: d("2026-01-02")}, {Date: d("2026-01-01"), Open: true}}},
			want: []string{
				`calendars[jp-company].base_day: 29: must be 1-28`,
				`calendars[jp-company].base_time: 24:00: must be within 00:00-23:59`,
				`calendars[jp-company].closed_weekdays[0]: invalid weekday 9`,
				`calendars[jp-company].holiday_sets[1]: unknown holiday set "xx"`,
				`calendars[jp-company].holiday_sets[2]: holiday set "jp" repeats holiday_sets[0]`,
				`calendars[jp-company].month_naming: "middle": must be start or end`,
				`calendars[jp-company].overrides[2]: date 2026-01-01 repeats overrides[0]`,
				`calendars[jp-company].time_zone: unknown time zone "Mars/Olympus"`,
			},
		},
		{
			name: "unknown parent",
			def:  Definition{Name: "a", Parent: "nope"},
			want: []string{`calendars[a].parent: unknown calendar "nope"`},
		},
		{
			name: "own parent",
			def:  Definition{Name: "a", Parent: "a"},
			want: []string{`calendars[a].parent: calendar "a" cannot be its own parent`},
		},
		{
			name: "cycle",
			def:  Definition{Name: "a", Parent: "b"},
			defs: map[string]Definition{"b": {Name: "b", Parent: "c"}, "c": {Name: "c", Parent: "a"}, "a": {Name: "a", Parent: "b"}},
			want: []string{`calendars[c].parent: parent cycle: a → b → c → a`},
		},
		{
			name: "problem in parent",
			def:  Definition{Name: "a", Parent: "b", BaseDay: 30},
			defs: map[string]Definition{"b": {Name: "b", HolidaySets: []string{"zz"}}},
			want: []string{`calendars[a].base_day: 30: must be 1-28`, `calendars[b].holiday_sets[0]: unknown holiday set "zz"`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Build(tt.def, MapResolver(tt.defs))
			require.Error(t, err)
			require.True(t, errors.Is(err, fault.ErrInvalid))
			ps, ok := fault.AsProblems(err)
			require.True(t, ok)
			var got []string
			for _, p := range ps.Sorted() {
				got = append(got, p.String())
			}
			require.Equal(t, tt.want, got)
		})
	}
}

func TestBuildResolverFailure(t *testing.T) {
	boom := errors.New("database down")
	_, err := Build(Definition{Name: "a", Parent: "b"}, func(string) (*Definition, error) { return nil, boom })
	require.ErrorIs(t, err, boom)
	_, isProblems := fault.AsProblems(err)
	require.False(t, isProblems)
}

func TestChildInheritsParentZone(t *testing.T) {
	defs := map[string]Definition{
		"group": {Name: "group", TimeZone: "America/New_York", BaseTime: 5 * 60},
		"own":   {Name: "own", Parent: "group", TimeZone: "Asia/Tokyo"},
	}
	child, err := Build(Definition{Name: "branch", Parent: "group"}, MapResolver(defs))
	require.NoError(t, err)
	require.Equal(t, "America/New_York", child.Location().String())
	// 03:30 UTC is 23:30 the day before in New York (in UTC it would be 04-02).
	require.Equal(t, "2026-04-01", child.BusinessDate(time.Date(2026, 4, 2, 3, 30, 0, 0, time.UTC)).String())
	grand, err := Build(Definition{Name: "desk", Parent: "branch"}, MapResolver(map[string]Definition{"group": defs["group"], "branch": {Name: "branch", Parent: "group"}}))
	require.NoError(t, err)
	require.Equal(t, "America/New_York", grand.Location().String())
	own, err := Build(defs["own"], MapResolver(defs))
	require.NoError(t, err)
	require.Equal(t, "Asia/Tokyo", own.Location().String())
}
