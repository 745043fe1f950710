package jobnet_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

func TestTitleRoundTrip(t *testing.T) {
	src := "kind: Jobnet\nname: payroll\ntitle: 給与計算\nfolder: f\nunits:\n  - {name: sum, title: 集計, kind: job, job: {type: noop}}\n"
	b, err := jobnet.ParseFile("t.yaml", []byte(src))
	require.NoError(t, err)
	out, err := jobnet.Encode(b)
	require.NoError(t, err)
	t.Log(string(out))
	b2, err := jobnet.ParseFile("o.yaml", out)
	require.NoError(t, err)
	require.Equal(t, "給与計算", b2.Jobnets[0].Title)
	require.Equal(t, "集計", b2.Jobnets[0].Units[0].Title)
}
