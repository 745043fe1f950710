package runner

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/store"
)

func TestDecideWatch(t *testing.T) {
	now := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	started := now.Add(-time.Minute)
	h := &dispatch.Handle{Executor: "ecs", ID: "arn"}
	job := jobnet.Unit{Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobECS}}
	timed := jobnet.Unit{Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobECS, Timeout: &jobnet.Timeout{After: jobnet.Duration(2 * time.Minute)}}}
	running := func(mod func(*store.RunUnit)) store.RunUnit {
		u := store.RunUnit{UnitRun: store.UnitRun{State: jobrun.StateRunning, Handle: h, StartedAt: &started}}
		if mod != nil {
			mod(&u)
		}
		return u
	}
	later := now.Add(time.Second)
	tests := []struct {
		name string
		in   watchInput
		want watchDecision
	}{
		{"a call is out", watchInput{Unit: running(func(u *store.RunUnit) { u.KillRequested = true }), Def: job, HasExecutor: true, InFlight: true}, watchDecision{}},
		{"wait unit", watchInput{Unit: running(nil), Def: jobnet.Unit{Kind: jobnet.UnitWait}}, watchDecision{Action: actWait}},
		{"starting without handle: start with the key",
			watchInput{Unit: store.RunUnit{UnitRun: store.UnitRun{State: jobrun.StateStarting}}, Def: job}, watchDecision{Action: actStart}},
		{"start backoff not over",
			watchInput{Unit: store.RunUnit{UnitRun: store.UnitRun{State: jobrun.StateStarting, NotBefore: &later}}, Def: job}, watchDecision{Wake: later}},
		{"no executor for the handle", watchInput{Unit: running(nil), Def: job}, watchDecision{Action: actLost}},
		{"kill requested", watchInput{Unit: running(func(u *store.RunUnit) { u.KillRequested = true }), Def: job, HasExecutor: true},
			watchDecision{Action: actCancel, Cause: store.CancelKill}},
		{"kill already sent: poll", watchInput{Unit: running(func(u *store.RunUnit) { u.KillRequested, u.CancelCause = true, store.CancelKill }), Def: job, HasExecutor: true},
			watchDecision{Action: actPoll}},
		{"timeout passed", watchInput{Unit: running(func(u *store.RunUnit) { s := now.Add(-3 * time.Minute); u.StartedAt = &s }), Def: timed, HasExecutor: true},
			watchDecision{Action: actCancel, Cause: store.CancelTimeout}},
		{"timeout ahead: poll, wake at the deadline", watchInput{Unit: running(nil), Def: timed, HasExecutor: true},
			watchDecision{Action: actPoll, Wake: started.Add(2 * time.Minute)}},
		{"polled, next poll later", watchInput{Unit: running(nil), Def: job, HasExecutor: true, Polled: true, NextPoll: later}, watchDecision{}},
		{"polled, next poll later, but notified", watchInput{Unit: running(nil), Def: job, HasExecutor: true, Polled: true, NextPoll: later, Hinted: true},
			watchDecision{Action: actPoll}},
		{"local job of another host: left alone", watchInput{Unit: running(nil), Def: job, HasExecutor: true, Away: true}, watchDecision{}},
		{"local job of another host, killed: recorded", watchInput{Unit: running(func(u *store.RunUnit) { u.KillRequested = true }), Def: job, HasExecutor: true, Away: true},
			watchDecision{Action: actKillAway}},
		{"next poll due", watchInput{Unit: running(nil), Def: job, HasExecutor: true, Polled: true, NextPoll: now}, watchDecision{Action: actPoll}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			require.Equal(t, tc.want, decideWatch(tc.in, now))
		})
	}
}

func TestLanes(t *testing.T) {
	data, err := json.Marshal(map[string]string{"connection": "prod", "cluster": "batch"})
	require.NoError(t, err)
	require.Equal(t, laneKey{executor: jobnet.JobECS, conn: "prod", kind: laneWatch}, watchLane(dispatch.Handle{Executor: "ecs", ID: "arn", Data: data}))
	require.Equal(t, laneKey{executor: jobnet.JobLocal, kind: laneWatch}, watchLane(dispatch.Handle{Executor: "local", ID: "k"}))
	require.Equal(t, laneKey{executor: jobnet.JobEKS, conn: "dev", kind: laneStart},
		startLane(jobnet.Job{Type: jobnet.JobEKS, EKS: &jobnet.EKSSpec{Connection: "dev"}}))
	require.Equal(t, laneKey{executor: jobnet.JobLocal, kind: laneStart}, startLane(jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: "true"}}))
}

func TestEndTime(t *testing.T) {
	now := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	started := now.Add(-time.Hour)
	rec := now.Add(-30 * time.Minute)
	require.Equal(t, rec, endTime(dispatch.Status{EndedAt: rec}, &started, now), "the executor's record")
	require.Equal(t, now, endTime(dispatch.Status{}, &started, now), "no record: when it was noticed")
	require.Equal(t, now, endTime(dispatch.Status{EndedAt: now.Add(time.Hour)}, &started, now), "never in the future")
	require.Equal(t, started, endTime(dispatch.Status{EndedAt: started.Add(-time.Second)}, &started, now), "never before the recorded start")
}

// TestLaneBound: a lane runs at most max calls at once and the others wait
// their turn; another lane is not held up by it.
func TestLaneBound(t *testing.T) {
	ls := newLanes(2)
	stuck := laneKey{executor: jobnet.JobECS, conn: "stuck", kind: laneStart}
	block := make(chan struct{})
	var inStuck = make(chan struct{}, 10)
	for range 5 {
		ls.submit(stuck, func() { inStuck <- struct{}{}; <-block })
	}
	<-inStuck
	<-inStuck
	done := make(chan struct{})
	ls.submit(laneKey{executor: jobnet.JobLocal, kind: laneStart}, func() { close(done) })
	<-done
	require.Len(t, inStuck, 0, "no third call on the stuck lane")
	close(block)
	ls.wait()
	require.Len(t, inStuck, 3)
}

func TestDeadNodes(t *testing.T) {
	nodes := []store.RunnerNode{
		{Node: "me", PID: 10, Start: 100},
		{Node: "same-process", PID: 10, Start: 100},
		{Node: "gone", PID: 11, Start: 200},
		{Node: "pid-reused", PID: 12, Start: 300},
		{Node: "alive", PID: 13, Start: 400},
	}
	starts := map[int]uint64{10: 100, 11: 0, 12: 999, 13: 400}
	require.Equal(t, []string{"gone", "pid-reused"}, deadNodes(nodes, "me", starts))
	require.Empty(t, deadNodes(nil, "me", starts))
}

// A notified outcome is recorded as it is unless the end's alert needs the
// log's tail from the executor.
func TestToldSuffices(t *testing.T) {
	def := jobnet.Unit{Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobLocal}}
	u := store.RunUnit{UnitRun: store.UnitRun{State: jobrun.StateRunning, Handle: &dispatch.Handle{Executor: "local", ID: "k"}}}
	code := func(c int) *int { return &c }
	require.True(t, toldSuffices(def, u, dispatch.Status{State: dispatch.StateExited, ExitCode: code(0)}), "ended normally")
	require.False(t, toldSuffices(def, u, dispatch.Status{State: dispatch.StateExited, ExitCode: code(3)}), "ended abnormally: the alert carries the tail")
	require.False(t, toldSuffices(def, u, dispatch.Status{State: dispatch.StateFailedToStart, Reason: "workdir"}), "failed to start")
	require.False(t, toldSuffices(def, u, dispatch.Status{State: dispatch.StateLost}), "unknown end")
}
