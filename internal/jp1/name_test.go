package jp1

import (
	"testing"

	"github.com/stretchr/testify/require"
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
