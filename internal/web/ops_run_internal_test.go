package web

import (
	"testing"

	assert "github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

func TestFlowOrder(t *testing.T) {
	job := func(name string) jobnet.Unit { return jobnet.Unit{Name: name, Kind: jobnet.UnitJob} }
	nested := jobnet.Unit{Name: "inner", Kind: jobnet.UnitJobnet, Net: &jobnet.Net{
		Units: []jobnet.Unit{job("x"), job("y")},
		Edges: []jobnet.Edge{{From: "y", To: "x"}},
	}}
	j := &jobnet.Jobnet{Net: jobnet.Net{
		Units: []jobnet.Unit{job("report"), job("extract"), nested, job("load")},
		Edges: []jobnet.Edge{{From: "extract", To: "load"}, {From: "load", To: "inner"}, {From: "inner", To: "report"}},
	}}
	assert.Equal(t, map[string]int{"extract": 0, "load": 1, "inner": 2, "inner/y": 3, "inner/x": 4, "report": 5}, flowOrder(j))

	// Units ready together: by place on the graph (left to right, top to
	// bottom), not by where they are defined.
	at := func(u jobnet.Unit, x, y int) jobnet.Unit { u.Position = &jobnet.Position{X: x, Y: y}; return u }
	j = &jobnet.Jobnet{Net: jobnet.Net{
		Units: []jobnet.Unit{at(job("bottom"), 40, 300), at(job("right"), 400, 40), at(job("top"), 40, 40), at(job("end"), 600, 40)},
		Edges: []jobnet.Edge{{From: "bottom", To: "end"}, {From: "top", To: "end"}, {From: "right", To: "end"}},
	}}
	assert.Equal(t, map[string]int{"top": 0, "bottom": 1, "right": 2, "end": 3}, flowOrder(j))
}
