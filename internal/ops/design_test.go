package ops

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

func units(names ...string) []jobnet.Unit {
	out := make([]jobnet.Unit, len(names))
	for i, n := range names {
		out[i] = jobnet.Unit{Name: n, Kind: jobnet.UnitJob}
	}
	return out
}

func TestLayoutNet(t *testing.T) {
	pos := func(x, y int) *jobnet.Position { return &jobnet.Position{X: x, Y: y} }
	col := func(d int) int { return LayoutLeft + d*LayoutColumn }
	row := func(r int) int { return LayoutTop + r*LayoutRow }
	tests := []struct {
		name string
		net  jobnet.Net
		want map[string]*jobnet.Position
	}{
		{"chain", jobnet.Net{Units: units("a", "b", "c"), Edges: []jobnet.Edge{{From: "a", To: "b"}, {From: "b", To: "c"}}},
			map[string]*jobnet.Position{"a": pos(col(0), row(0)), "b": pos(col(1), row(0)), "c": pos(col(2), row(0))}},
		{"diamond by longest path", jobnet.Net{Units: units("a", "b", "c", "d"), Edges: []jobnet.Edge{{From: "a", To: "b"}, {From: "a", To: "c"}, {From: "b", To: "d"}, {From: "c", To: "d"}, {From: "a", To: "d"}}},
			map[string]*jobnet.Position{"a": pos(col(0), row(0)), "b": pos(col(1), row(0)), "c": pos(col(1), row(1)), "d": pos(col(2), row(0))}},
		{"unconnected units stack in layer 0", jobnet.Net{Units: units("x", "y")},
			map[string]*jobnet.Position{"x": pos(col(0), row(0)), "y": pos(col(0), row(1))}},
		{"a cycle still yields positions", jobnet.Net{Units: units("a", "b"), Edges: []jobnet.Edge{{From: "a", To: "b"}, {From: "b", To: "a"}}},
			map[string]*jobnet.Position{"a": pos(col(1), row(0)), "b": pos(col(0), row(0))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := tt.net
			require.True(t, LayoutNet(&n))
			for _, u := range n.Units {
				require.Equal(t, tt.want[u.Name], u.Position, u.Name)
			}
			require.False(t, LayoutNet(&n), "a laid-out net is left alone")
		})
	}
}

func TestLayoutNetKeepsPositionsAndAvoidsThem(t *testing.T) {
	n := jobnet.Net{Units: units("a", "b")}
	n.Units[0].Position = &jobnet.Position{X: LayoutLeft, Y: LayoutTop}
	n.Units = append(n.Units, jobnet.Unit{Name: "sub", Kind: jobnet.UnitJobnet, Net: &jobnet.Net{Units: units("inner")}})
	require.True(t, LayoutNet(&n))
	require.Equal(t, &jobnet.Position{X: LayoutLeft, Y: LayoutTop}, n.Units[0].Position)
	require.Equal(t, &jobnet.Position{X: LayoutLeft, Y: LayoutTop + LayoutRow}, n.Units[1].Position)
	require.Equal(t, &jobnet.Position{X: LayoutLeft, Y: LayoutTop + 2*LayoutRow}, n.Units[2].Position)
	require.Equal(t, &jobnet.Position{X: LayoutLeft, Y: LayoutTop}, n.Units[2].Net.Units[0].Position)
}

func TestPinProblems(t *testing.T) {
	j := &jobnet.Jobnet{Folder: "f", Name: "n", Net: jobnet.Net{
		Units: append(units("a", "b"), jobnet.Unit{Name: "sub", Kind: jobnet.UnitJobnet, Net: &jobnet.Net{Units: units("x", "y"), Edges: []jobnet.Edge{{From: "x", To: "y"}}}}),
		Edges: []jobnet.Edge{{From: "a", To: "b"}},
	}}
	ps := fault.Problems{
		{Path: "jobnets[f/n].units[a].job.local.command", Message: "required"},
		{Path: "jobnets[f/n].units[sub].net.units[x].job", Message: "required"},
		{Path: "jobnets[f/n].edges", Message: "cycle: a → b → a"},
		{Path: "jobnets[f/n].units[sub].net.edges[0].kind", Message: "bad kind"},
		{Path: "jobnets[f/n].calendar", Message: "unknown"},
	}
	got := PinProblems(j, ps)
	require.Equal(t, "a", got[0].Unit)
	require.Equal(t, "sub/x", got[1].Unit)
	require.Equal(t, []string{"a", "b"}, got[2].Units)
	require.Equal(t, "a", got[2].Unit)
	require.Equal(t, []string{"sub/x", "sub/y"}, got[3].Units)
	require.Equal(t, "sub", got[3].Unit)
	require.Equal(t, "", got[4].Unit)
}

func TestRulesSummary(t *testing.T) {
	require.Equal(t, "", RulesSummary(nil))
	require.Equal(t, "day 25 before -2; +1 more", RulesSummary([]jobnet.Rule{{Kind: jobnet.RuleDay, Day: 25, Closed: jobnet.SubstituteBefore, Offset: -2}, {Kind: jobnet.RuleDaily}}))
}
