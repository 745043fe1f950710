package ecs_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// The worked example in examples/cloud/ecs parses, validates against the other
// examples, and its ecs jobs name the connection docs/ecs.md configures.
func TestExampleJobnet(t *testing.T) {
	b, err := jobnet.Load(false, "../../../examples", "../../../examples/cloud/ecs")
	require.NoError(t, err)
	require.Empty(t, jobnet.Validate(b, jobnet.Known{Connections: []string{"prod-tokyo"}}))
	var ecsJobs int
	for _, j := range b.Jobnets {
		jobnet.Walk(&j.Net, func(_ string, u *jobnet.Unit) {
			if u.Job != nil && u.Job.Type == jobnet.JobECS {
				ecsJobs++
				require.Equal(t, "prod-tokyo", u.Job.ECS.Connection)
				require.NotEmpty(t, u.Job.ECS.Subnets)
			}
		})
	}
	require.Equal(t, 2, ecsJobs)
}
