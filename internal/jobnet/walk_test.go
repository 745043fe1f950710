package jobnet

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWalkPaths(t *testing.T) {
	net := &Net{Units: []Unit{
		localJob("extract", "x"),
		{Name: "sub", Kind: UnitJobnet, Net: &Net{Units: []Unit{
			localJob("a", "x"),
			{Name: "deeper", Kind: UnitJobnet, Net: &Net{Units: []Unit{localJob("z", "x")}}},
		}}},
		localJob("report", "x"),
	}}
	var paths []string
	Walk(net, func(p string, u *Unit) { paths = append(paths, p) })
	require.Equal(t, []string{"extract", "sub", "sub/a", "sub/deeper", "sub/deeper/z", "report"}, paths)

	u, err := FindUnit(net, "sub/deeper/z")
	require.NoError(t, err)
	require.Equal(t, "z", u.Name)
	_, err = FindUnit(net, "sub/nope/z")
	require.EqualError(t, err, `unit "sub/nope/z": no unit "sub/nope"`)
}

func TestTopo(t *testing.T) {
	tests := []struct {
		name  string
		units []string
		edges [][2]string
		want  []string
		cycle string
	}{
		{"chain", []string{"report", "load", "extract", "transform"},
			[][2]string{{"extract", "transform"}, {"transform", "load"}, {"load", "report"}},
			[]string{"extract", "transform", "load", "report"}, ""},
		{"ties keep definition order", []string{"b", "a", "c"}, [][2]string{{"b", "c"}},
			[]string{"b", "a", "c"}, ""},
		{"diamond", []string{"start", "left", "right", "join"},
			[][2]string{{"start", "right"}, {"start", "left"}, {"left", "join"}, {"right", "join"}},
			[]string{"start", "left", "right", "join"}, ""},
		{"two-unit cycle", []string{"extract", "load"}, [][2]string{{"extract", "load"}, {"load", "extract"}},
			nil, "cycle: extract → load → extract"},
		{"cycle downstream of a free unit", []string{"a", "b", "c", "d"},
			[][2]string{{"a", "b"}, {"b", "c"}, {"c", "d"}, {"d", "b"}},
			nil, "cycle: b → c → d → b"},
		{"cycle with a tail hanging off it", []string{"tail", "x", "y"},
			[][2]string{{"y", "tail"}, {"x", "y"}, {"y", "x"}},
			nil, "cycle: x → y → x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			net := &Net{}
			for _, u := range tt.units {
				net.Units = append(net.Units, localJob(u, "x"))
			}
			for _, e := range tt.edges {
				net.Edges = append(net.Edges, Edge{From: e[0], To: e[1]})
			}
			got, err := Topo(net)
			if tt.cycle != "" {
				var ce *CycleError
				require.True(t, errors.As(err, &ce))
				require.EqualError(t, err, tt.cycle)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestTitles(t *testing.T) {
	net := &Net{Units: []Unit{
		{Name: "a", Title: "抽出"},
		{Name: "b"},
		{Name: "sub", Title: "月次", Net: &Net{Units: []Unit{{Name: "c", Title: "集計"}, {Name: "d"}}}},
	}}
	got := Titles(net)
	want := map[string]string{"a": "抽出", "sub": "月次", "sub/c": "集計"}
	if len(got) != len(want) {
		t.Fatalf("Titles = %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("Titles[%q] = %q, want %q", k, got[k], v)
		}
	}
}
