package jobnet

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

const hashBase = `kind: Jobnet
name: nightly
folder: sales
units:
  - {name: extract, kind: job, job: {type: local, local: {command: echo e}, retry: {count: 2, on: [abnormal, failed_to_start]}}}
  - {name: load, kind: job, job: {type: local, local: {command: echo l}, end: {mode: thresholds}}}
edges:
  - {from: extract, to: load}
schedule:
  - {name: daily, kind: daily, closed: skip, start: ["25:30"]}
`

// Same meaning: other field order, units reordered, defaults spelled out.
const hashReordered = `folder: sales
kind: Jobnet
schedule:
  - {start: ["25:30"], kind: daily, name: daily}
edges:
  - {to: load, from: extract, kind: normal}
name: nightly
units:
  - {kind: job, name: load, job: {local: {command: echo l}, type: local}}
  - {name: extract, job: {retry: {on: [failed_to_start, abnormal], count: 2}, type: local, local: {command: echo e}}, kind: job}
`

func parseJobnet(t *testing.T, src string) *Jobnet {
	t.Helper()
	b, err := ParseFile("t.yaml", []byte(src))
	require.NoError(t, err)
	require.Len(t, b.Jobnets, 1)
	return &b.Jobnets[0]
}

func TestHashStable(t *testing.T) {
	a := parseJobnet(t, hashBase)
	b := parseJobnet(t, hashReordered)
	require.Equal(t, Hash(a), Hash(b))
	ca, err := Canonical(a)
	require.NoError(t, err)
	cb, err := Canonical(b)
	require.NoError(t, err)
	require.JSONEq(t, string(ca), string(cb))
	require.Len(t, Hash(a), 64)

	changed := parseJobnet(t, strings.Replace(hashBase, "echo l", "echo L", 1))
	require.NotEqual(t, Hash(a), Hash(changed))
	retry := parseJobnet(t, strings.Replace(hashBase, "count: 2", "count: 3", 1))
	require.NotEqual(t, Hash(a), Hash(retry))

	// Normalizing does not touch the input.
	require.Equal(t, EdgeNormal, b.Edges[0].Kind)
	require.Equal(t, "load", b.Units[0].Name)
}

func TestDiff(t *testing.T) {
	old := parseJobnet(t, hashBase)
	require.Empty(t, Diff(old, parseJobnet(t, hashReordered)))

	newer := parseJobnet(t, `kind: Jobnet
name: nightly
folder: sales
calendar: jp-company
units:
  - {name: extract, kind: job, job: {type: local, local: {command: echo e}, retry: {count: 3}}}
  - {name: report, kind: job, job: {type: local, local: {command: echo r}}}
  - name: post
    kind: jobnet
    net:
      units:
        - {name: a, kind: job, job: {type: noop}}
        - {name: b, kind: job, job: {type: noop}}
      edges: [{from: a, to: b}]
edges:
  - {from: extract, to: report}
  - {from: report, to: post, kind: recovery}
schedule:
  - {name: daily, kind: daily, start: ["26:00"]}
  - {name: monthly, kind: day, day: 1}
`)
	var got []string
	for _, c := range Diff(old, newer) {
		got = append(got, c.String())
	}
	require.Equal(t, []string{
		"added calendar: jp-company",
		"changed units[extract].job.retry.count: 2 → 3",
		"removed units[load]: job",
		"added units[post]: jobnet",
		"added units[post/a]: job",
		"added units[post/b]: job",
		"added units[report]: job",
		"added edges: extract → report",
		"added edges: report → post (recovery)",
		"removed edges: extract → load",
		"added units[post].net.edges: a → b",
		`changed schedule[daily].start: ["25:30"] → ["26:00"]`,
		"added schedule[monthly]: day",
	}, got)
}
