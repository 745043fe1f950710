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

func TestTitlesAndSafeNames(t *testing.T) {
	require.Equal(t, "load", jobnet.SafeName("load"))
	require.Regexp(t, `^u-[0-9a-f]{8}$`, jobnet.SafeName("給与計算"))
	require.Regexp(t, `^load-[0-9a-f]{8}$`, jobnet.SafeName("日次 load"))
	require.NotEqual(t, jobnet.SafeName("給与計算"), jobnet.SafeName("給与集計"))

	b, err := jobnet.ParseFile("t.yaml", []byte(`kind: Calendar
name: c
time_zone: Asia/Tokyo
---
kind: Folder
name: f
calendar: c
---
kind: Jobnet
name: payroll
title: 給与計算
folder: f
units:
  - {name: sum, title: "集計", kind: job, job: {type: noop}}
  - {name: bad, title: " 改行\n", kind: job, job: {type: noop}}
`))
	require.NoError(t, err)
	require.Equal(t, "給与計算", b.Jobnets[0].DisplayName())
	require.Equal(t, "集計", b.Jobnets[0].Units[0].DisplayName())
	require.Equal(t, "bad", (&jobnet.Unit{Name: "bad"}).DisplayName())
	ps := jobnet.Validate(b, jobnet.Known{})
	require.Len(t, ps, 1, ps.Error())
	require.Equal(t, "jobnets[f/payroll].units[bad].title", ps[0].Path)
}
