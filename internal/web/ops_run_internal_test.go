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
}
