package jobnet_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

func TestReferences(t *testing.T) {
	b, err := jobnet.ParseFile("refs.yaml", []byte(`kind: Jobnet
name: waiter
folder: sales
units:
  - {name: w, kind: wait, wait: {jobnet: nightly}}
  - name: sub
    kind: jobnet
    net:
      units:
        - {name: w2, kind: wait, wait: {jobnet: acct/close, unit: x}}
schedule:
  - {kind: day, day: 1, start: ["09:00"], exclusive_with: [sales/nightly]}
---
kind: Jobnet
name: other
folder: acct
units:
  - {name: w, kind: wait, wait: {jobnet: nightly}}
`))
	require.NoError(t, err)
	var js []*jobnet.Jobnet
	for i := range b.Jobnets {
		js = append(js, &b.Jobnets[i])
	}
	refs := jobnet.References(js, func(t string) bool { return t == "sales/nightly" })
	require.Equal(t, []jobnet.Reference{
		{From: "sales/waiter", Where: "units[w].wait", Target: "sales/nightly", Bare: true},
		{From: "sales/waiter", Where: "schedule[0].exclusive_with", Target: "sales/nightly"},
	}, refs, "acct/other's bare nightly is acct/nightly")
	refs = jobnet.References(js, func(t string) bool { return t == "acct/close" })
	require.Equal(t, []jobnet.Reference{{From: "sales/waiter", Where: "units[sub/w2].wait", Target: "acct/close"}}, refs)
}

func TestRelocatedQualifiesBareReferences(t *testing.T) {
	j := &jobnet.Jobnet{Folder: "sales", Name: "a",
		Net:   jobnet.Net{Units: []jobnet.Unit{{Name: "w", Kind: jobnet.UnitWait, Wait: &jobnet.Wait{Jobnet: "b"}}, {Name: "v", Kind: jobnet.UnitWait, Wait: &jobnet.Wait{Jobnet: "acct/c"}}}},
		Rules: []jobnet.Rule{{ExclusiveWith: []string{"d"}}}}
	c, err := jobnet.Relocated(j, "acct", "a2", false)
	require.NoError(t, err)
	require.Equal(t, "acct/a2", c.Path())
	require.Equal(t, "sales/b", c.Units[0].Wait.Jobnet)
	require.Equal(t, "acct/c", c.Units[1].Wait.Jobnet)
	require.Equal(t, []string{"sales/d"}, c.Rules[0].ExclusiveWith)
	require.Equal(t, "b", j.Units[0].Wait.Jobnet, "the original is not changed")
	c, err = jobnet.Relocated(j, "acct", "a", true)
	require.NoError(t, err)
	require.Equal(t, "b", c.Units[0].Wait.Jobnet)
	c, err = jobnet.Relocated(j, "sales", "a3", false)
	require.NoError(t, err)
	require.Equal(t, "b", c.Units[0].Wait.Jobnet)
}
