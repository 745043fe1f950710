package jobrun_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
)

func TestCheckMacrosFindsWhatWouldFailAtRunTime(t *testing.T) {
	local := func(cmd string) *jobnet.Job {
		return &jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: cmd}}
	}
	j := &jobnet.Jobnet{Folder: "f", Name: "n", Params: map[string]string{"REGION": "tokyo"},
		Net: jobnet.Net{Units: []jobnet.Unit{
			{Name: "ok", Kind: jobnet.UnitJob, Job: local("run ${KOYOMI_BUSINESS_DATE:yyyymmdd} ${REGION} $HOME $${X}")},
			{Name: "sub", Kind: jobnet.UnitJobnet, Net: &jobnet.Net{Units: []jobnet.Unit{
				{Name: "load", Kind: jobnet.UnitJob, Job: local("load ${DAY}")},
			}}},
			{Name: "fmt", Kind: jobnet.UnitJob, Job: local("x ${KOYOMI_BUSINESS_DATE:qq}")},
			{Name: "open", Kind: jobnet.UnitJob, Job: local("x ${REGION")},
			{Name: "j", Kind: jobnet.UnitJudgment, Judgment: &jobnet.Judgment{Kind: jobnet.JudgeVariable, Variable: "MODE", Op: "eq", Value: "${REGION}"}},
		}}}
	ps := jobrun.CheckMacros(j)
	paths := map[string]string{}
	for _, p := range ps {
		paths[p.Path] = p.Message
	}
	require.Len(t, paths, 4, "%v", ps)
	require.Contains(t, paths["units[sub].net.units[load].job.local.command"], `unknown variable "DAY"`)
	require.Contains(t, paths["units[fmt].job.local.command"], "unknown token")
	require.Contains(t, paths["units[open].job.local.command"], "unterminated")
	require.Contains(t, paths["units[j].judgment.variable"], `"MODE"`)
}
