package jp1

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

func TestKoyomiNames(t *testing.T) {
	require.Equal(t, "daily-load", koyomiName("daily-load"))
	require.Regexp(t, `^u-[0-9a-f]{8}$`, koyomiName("給与計算"))
	require.NotEqual(t, koyomiName("給与計算"), koyomiName("給与集計"))
	require.Regexp(t, `^load-[0-9a-f]{8}$`, koyomiName("日次_load"))
	taken := map[string]bool{}
	require.Equal(t, "a", uniqueName("a", taken))
	require.Equal(t, "a-2", uniqueName("a", taken))
	require.Equal(t, "u-ed03c9af", koyomiName("給与計算"), "names are stable across imports")

	long := joinFolder("a-rather-long-prefix.and-a-long-job-group", "and-another-long-job-group")
	require.Len(t, long, 64)
	require.NotEqual(t, long, joinFolder("a-rather-long-prefix.and-a-long-job-group", "and-another-long-job-groupX"))
}

// TestJapaneseNamesBecomeTitles: a jobnet and a job with Japanese names get
// safe identifiers and keep the JP1 names as their titles.
func TestJapaneseNamesBecomeTitles(t *testing.T) {
	units, err := Parse("jp.jp1", []byte(`unit=経理,,jp1admin,;
{
	ty=g;
	unit=給与計算,,jp1admin,;
	{
		ty=n;
		cm="毎月の給与";
		unit=集計,,jp1admin,;
		{
			ty=j;
			sc="/opt/batch/sum.sh";
		}
		unit=load,,jp1admin,;
		{
			ty=j;
			sc="/opt/batch/load.sh";
		}
		ar=(f=集計,t=load);
	}
}
`))
	require.NoError(t, err)
	b, _, err := Map(units, Options{})
	require.NoError(t, err)
	require.Len(t, b.Jobnets, 1)
	j := b.Jobnets[0]
	require.Equal(t, koyomiName("給与計算"), j.Name)
	require.Equal(t, "給与計算", j.Title)
	require.Equal(t, "毎月の給与", j.Description)
	require.Equal(t, "集計", j.Units[0].Title)
	require.Equal(t, koyomiName("集計"), j.Units[0].Name)
	require.Empty(t, j.Units[1].Title, "an ASCII name needs no title")
	require.Equal(t, []jobnet.Edge{{From: koyomiName("集計"), To: "load"}}, j.Edges)
}
