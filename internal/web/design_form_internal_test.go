package web

import (
	"net/url"
	"testing"

	r "github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// TestECSFormKeepsTaskSizeAndSecrets: the properties form edits the task
// size and keeps what it does not show (secrets, capacity budget).
func TestECSFormKeepsTaskSizeAndSecrets(t *testing.T) {
	orig := jobnet.Unit{Name: "load", Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobECS, ECS: &jobnet.ECSSpec{
		Cluster: "batch", TaskDefinition: "app", LaunchType: "FARGATE", TaskCPU: "1024", TaskMemory: "2048", CapacityRetries: 5,
		Secrets: map[string]string{"DB_PASSWORD": "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:db-AbC"}}}}
	vals, _ := unitValues(&orig)
	r.Equal(t, "1024", vals["ecs.task_cpu"])
	r.Equal(t, "2048", vals["ecs.task_memory"])
	f := url.Values{}
	for k, v := range vals {
		f.Set(k, v)
	}
	f.Set("ecs.task_memory", "4 GB")
	u, errs := unitFromForm(orig, f)
	r.Empty(t, errs)
	r.Equal(t, "1024", u.Job.ECS.TaskCPU)
	r.Equal(t, "4 GB", u.Job.ECS.TaskMemory)
	r.Equal(t, orig.Job.ECS.Secrets, u.Job.ECS.Secrets)
	r.Equal(t, 5, u.Job.ECS.CapacityRetries)
}
