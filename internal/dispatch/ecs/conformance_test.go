package ecs_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/dispatchtest"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/testpeer/ecsfake"
)

func TestConformance(t *testing.T) {
	st := &stages{}
	var gates atomic.Int64
	var (
		mu    sync.Mutex
		fakes []*ecsfake.Fake
	)
	// Gate names are unique, so a release opens its gate on every fake.
	openGate := func(gate string) {
		mu.Lock()
		defer mu.Unlock()
		for _, f := range fakes {
			f.OpenGate(gate)
		}
	}
	dispatchtest.Run(t, dispatchtest.Harness{
		Type: jobnet.JobECS,
		Setup: func(t *testing.T) dispatchtest.Backend {
			f := newFake(t, ecsfake.Config{Tick: 10 * time.Millisecond, ScriptFor: scriptFor(st)})
			mu.Lock()
			fakes = append(fakes, f)
			mu.Unlock()
			return dispatchtest.Backend{
				New:        func(t *testing.T) dispatch.Executor { return newExecutor(t, f) },
				Executions: func(*testing.T) int { return len(f.Tasks()) },
			}
		},
		ExitJob: func(_ *testing.T, code int) jobnet.Job { return ecsJob("exit", strconv.Itoa(code)) },
		StagedJob: func(t *testing.T, first, second []string) (jobnet.Job, func()) {
			gate := "gate-" + strconv.FormatInt(gates.Add(1), 10)
			st.add(gate, first, second)
			return ecsJob("staged", gate), func() { openGate(gate) }
		},
		LongJob:     func(*testing.T) jobnet.Job { return ecsJob("sleep") },
		StubbornJob: func(*testing.T) jobnet.Job { return ecsJob("sleep") },
		BadJob:      func(*testing.T) jobnet.Job { return ecsJob("pull-fails") },
		EnvJob:      func(_ *testing.T, name string) jobnet.Job { return ecsJob("printenv", name) },
		Grace:       200 * time.Millisecond,
		Timeout:     10 * time.Second,
	})
}
