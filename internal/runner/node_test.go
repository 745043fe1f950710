package runner_test

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/noop"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/runner"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// TestRestartWithAnotherNodeAdoptsAtOnce: a replica killed with SIGKILL
// and started again under a new node name (the default --node changes with
// the pid) takes up its predecessor's units at once, without waiting for
// their claims to expire; the units of a node whose process still runs are
// left to it.
func TestRestartWithAnotherNodeAdoptsAtOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		j := &jobnet.Jobnet{Name: "pair", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{nop("a"), nop("b")}}}
		g := submit(t, st, j, nil)
		now := time.Now()
		require.NoError(t, st.StartGeneration(ctx, g.ID, now))
		graph, err := jobrun.Compile(j.Net)
		require.NoError(t, err)
		us, err := st.UnitRuns(ctx, g.ID)
		require.NoError(t, err)
		states := make([]jobrun.UnitRun, len(us))
		for i, u := range us {
			states[i] = u.Core()
		}
		step, err := graph.Evaluate(states, now)
		require.NoError(t, err)
		require.NoError(t, st.ApplyStep(ctx, store.StepApply{GenID: g.ID, GenFrom: jobrun.GenRunning, Step: step, Now: now}))

		// "old" dispatched a and died; "live" dispatched b and still runs
		// (this very process).
		old, err := st.ClaimForDispatch(ctx, "old", "", 1, time.Minute, now)
		require.NoError(t, err)
		require.Len(t, old, 1)
		live, err := st.ClaimForDispatch(ctx, "live", "", 1, time.Minute, now)
		require.NoError(t, err)
		require.Len(t, live, 1)
		space := spaceOf(t)
		self := store.RunnerNode{Node: "live", Space: space, PID: os.Getpid(), Start: selfStart(t)}
		require.NoError(t, st.RegisterNode(ctx, self))
		gone := exec.Command("true")
		require.NoError(t, gone.Run())
		require.NoError(t, st.RegisterNode(ctx, store.RunnerNode{Node: "old", Space: self.Space, PID: gone.Process.Pid, Start: self.Start}))
		require.NoError(t, st.RegisterNode(ctx, store.RunnerNode{Node: "elsewhere", Space: "another-machine", PID: gone.Process.Pid, Start: 1}))

		r, err := runner.New(runner.Params{Store: st, Executors: dispatch.Registry{jobnet.JobNoop: noop.New(nil)}, Node: "new",
			PollInterval: time.Hour, ClaimLease: time.Minute, Logger: testLogger()})
		require.NoError(t, err)
		_, err = r.Pass(ctx)
		require.NoError(t, err)
		rus, err := st.RunUnitsOf(ctx, g.ID)
		require.NoError(t, err)
		by := map[string]store.RunUnit{}
		for _, u := range rus {
			by[u.Path] = u
		}
		require.Equal(t, "new", by[old[0].Path].ClaimedBy, "the dead node's unit is adopted at once")
		require.Equal(t, "live", by[live[0].Path].ClaimedBy, "a live node keeps its unit")
		require.Equal(t, jobrun.StateStarting, by[live[0].Path].State)
		nodes, err := st.RunnerNodes(ctx, self.Space)
		require.NoError(t, err)
		names := []string{}
		for _, n := range nodes {
			names = append(names, n.Node)
		}
		require.ElementsMatch(t, []string{"live", "new"}, names, "the dead node is forgotten, the new one recorded")
	})
}

func spaceOf(t *testing.T) string {
	t.Helper()
	boot, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	require.NoError(t, err)
	ns, err := os.Readlink("/proc/self/ns/pid")
	require.NoError(t, err)
	return strings.TrimSpace(string(boot)) + "/" + ns
}

// selfStart reads this process's start time (clock ticks since boot).
func selfStart(t *testing.T) uint64 {
	t.Helper()
	data, err := os.ReadFile("/proc/self/stat")
	require.NoError(t, err)
	s := string(data)
	fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	v, err := strconv.ParseUint(fields[19], 10, 64)
	require.NoError(t, err)
	return v
}
