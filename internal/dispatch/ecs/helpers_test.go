package ecs_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch/ecs"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/testpeer/ecsfake"
)

const (
	testCluster = "batch"
	testFamily  = "nightly"
	logGroup    = "/koyomi/nightly"
)

// stages holds the lines of staged jobs by gate name.
type stages struct {
	mu    sync.Mutex
	lines map[string][2][]string
}

func (s *stages) add(gate string, first, second []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lines == nil {
		s.lines = map[string][2][]string{}
	}
	s.lines[gate] = [2][]string{first, second}
}

func (s *stages) get(gate string) [2][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lines[gate]
}

// scriptFor turns a container command into what the fake task does:
//
//	exit N           runs two steps, exits N
//	sleep            runs until stopped
//	staged GATE      prints the first lines, waits for the gate, prints the second, exits 0
//	printenv NAME    prints $NAME, exits 0
//	pull-fails       fails to start (CannotPullContainerError)
func scriptFor(st *stages) func(ecsfake.Launch) ecsfake.Script {
	return func(l ecsfake.Launch) ecsfake.Script {
		if len(l.Command) == 0 {
			return ecsfake.Script{RunSteps: 1}
		}
		switch l.Command[0] {
		case "exit":
			code, _ := strconv.Atoi(l.Command[1])
			return ecsfake.Script{ExitCode: code, RunSteps: 2}
		case "sleep":
			return ecsfake.Script{}
		case "staged":
			ls := st.get(l.Command[1])
			return ecsfake.Script{Logs: ls[0], ExitLogs: ls[1], Gate: l.Command[1]}
		case "printenv":
			return ecsfake.Script{Logs: []string{l.Env[l.Command[1]]}, RunSteps: 1}
		case "pull-fails":
			return ecsfake.Script{FailToStart: "CannotPullContainerError: pull image manifest has been retried 5 time(s): not found"}
		}
		return ecsfake.Script{RunSteps: 1}
	}
}

func newFake(t testing.TB, cfg ecsfake.Config) *ecsfake.Fake {
	t.Helper()
	f := ecsfake.New(cfg)
	t.Cleanup(f.Close)
	f.AddCluster(testCluster)
	no := false
	f.RegisterTaskDefinition(ecsfake.TaskDefinition{
		Family:                  testFamily,
		RequiresCompatibilities: []string{"FARGATE"},
		CPU:                     "256",
		Memory:                  "512",
		Containers: []ecsfake.ContainerDefinition{
			{Name: "log-router", Image: "fluent-bit", Essential: &no},
			{Name: "app", Image: "example/app:1", LogDriver: "awslogs", LogOptions: map[string]string{
				"awslogs-group": logGroup, "awslogs-region": cfg.Region, "awslogs-stream-prefix": "koyomi",
			}},
		},
	})
	return f
}

func testConfig(f *ecsfake.Fake) ecs.Config {
	return ecs.Config{
		Connections: []ecs.Connection{{Name: "main", Region: f.Region(), EndpointURL: f.URL}},
		Credentials: credentials.NewStaticCredentialsProvider("AKIDKOYOMITEST", "not-a-secret", ""),
		MaxAttempts: 4,
		MaxBackoff:  time.Millisecond,
		// Tests about other things start hundreds of tasks at once.
		Rates: ecs.Rates{RunTask: 1e6, DescribeTasks: 1e6, GetLogEvents: 1e6, Other: 1e6},
	}
}

func newExecutor(t testing.TB, f *ecsfake.Fake, mods ...func(*ecs.Config)) *ecs.Executor {
	t.Helper()
	cfg := testConfig(f)
	for _, m := range mods {
		m(&cfg)
	}
	ex, err := ecs.New(cfg)
	require.NoError(t, err)
	return ex
}

func ecsJob(command ...string) jobnet.Job {
	return jobnet.Job{Type: jobnet.JobECS, ECS: &jobnet.ECSSpec{
		Connection:     "main",
		Cluster:        testCluster,
		TaskDefinition: testFamily,
		LaunchType:     "FARGATE",
		Subnets:        []string{"subnet-0a1b2c"},
		SecurityGroups: []string{"sg-0d4e5f"},
		Command:        command,
	}}
}
