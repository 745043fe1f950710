package jobrun

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// Abbreviations keep the explicit table readable.
const (
	wt = StateWaiting
	hd = StateHeld
	qu = StateQueued
	st = StateStarting
	rn = StateRunning
	en = StateEndedNormal
	ew = StateEndedWarning
	ea = StateEndedAbnormal
	ki = StateKilled
	fs = StateFailedToStart
	ue = StateUnknownEnd
	by = StateBypassed
)

// allowedJob is the whole job transition table, written out: every
// (cause, from, to) not listed must be refused.
var allowedJob = map[Cause][][2]JobState{
	CauseEvaluate: {
		{wt, qu}, {wt, by}, {wt, rn}, {wt, en}, {wt, ew}, {wt, ea}, {wt, ki},
		{rn, en}, {rn, ew}, {rn, ea}, {rn, ki},
		{hd, by},
	},
	CauseJudged:      {{wt, en}, {wt, ea}},
	CauseDispatch:    {{qu, st}},
	CauseStarted:     {{qu, rn}, {st, rn}},
	CauseExited:      {{st, en}, {st, ew}, {st, ea}, {rn, en}, {rn, ew}, {rn, ea}},
	CauseTimeout:     {{st, en}, {st, ew}, {st, ea}, {rn, en}, {rn, ew}, {rn, ea}},
	CauseStartFailed: {{qu, fs}, {st, fs}, {rn, fs}},
	CauseLost:        {{st, ue}, {rn, ue}},
	CauseRetry:       {{qu, wt}, {st, wt}, {rn, wt}},
	CauseHold:        {{wt, hd}, {qu, hd}},
	CauseRelease:     {{hd, wt}},
	CauseKill:        {{wt, ki}, {hd, ki}, {qu, ki}, {st, ki}, {rn, ki}},
	CauseRerun:       {{qu, wt}, {en, wt}, {ew, wt}, {ea, wt}, {ki, wt}, {fs, wt}, {ue, wt}, {by, wt}},
	CauseMark: {
		{wt, en}, {hd, en}, {qu, en}, {st, en}, {rn, en}, {ew, en}, {ea, en}, {ki, en}, {fs, en}, {ue, en}, {by, en},
		{wt, by}, {hd, by}, {qu, by}, {st, by}, {rn, by}, {ea, by}, {ki, by}, {fs, by}, {ue, by},
	},
	CauseConfirm: nil,
	CauseStart:   nil,
	CauseCancel:  nil,
	CauseSkip:    nil,
}

func TestJobTransitionsExhaustive(t *testing.T) {
	require.Len(t, allowedJob, len(Causes), "every cause has a row")
	for _, c := range Causes {
		want := map[[2]JobState]bool{}
		for _, p := range allowedJob[c] {
			want[p] = true
		}
		for _, from := range JobStates {
			for _, to := range JobStates {
				ok := want[[2]JobState{from, to}]
				require.Equal(t, ok, CanTransition(from, to, c), "%s: %s → %s", c, from, to)
				got, err := Transition("load", from, to, c)
				if ok {
					require.NoError(t, err)
					require.Equal(t, to, got)
				} else {
					require.ErrorIs(t, err, fault.ErrConflict, "%s: %s → %s", c, from, to)
					require.Equal(t, from, got)
				}
			}
		}
	}
}

const (
	gp = GenPlanned
	gw = GenWaiting
	gh = GenHeld
	gr = GenRunning
	gn = GenEndedNormal
	gv = GenEndedWarning
	ga = GenEndedAbnormal
	gk = GenKilled
	gs = GenSkipped
	gx = GenNotExecuted
)

var allowedGen = map[Cause][][2]GenState{
	CauseConfirm:  {{gp, gw}},
	CauseStart:    {{gw, gr}},
	CauseHold:     {{gp, gh}, {gw, gh}, {gr, gh}},
	CauseRelease:  {{gh, gw}, {gh, gr}},
	CauseCancel:   {{gp, gx}, {gw, gx}, {gh, gx}},
	CauseSkip:     {{gp, gs}, {gw, gs}, {gh, gs}},
	CauseEvaluate: {{gr, gn}, {gr, gv}, {gr, ga}, {gr, gk}, {gh, gn}, {gh, gv}, {gh, ga}, {gh, gk}},
	CauseKill:     {{gr, gk}, {gh, gk}},
	CauseRerun:    {{gn, gr}, {gv, gr}, {ga, gr}, {gk, gr}},
	CauseMark: {
		{gn, gv}, {gn, ga}, {gn, gk}, {gv, gn}, {gv, ga}, {gv, gk},
		{ga, gn}, {ga, gv}, {ga, gk}, {gk, gn}, {gk, gv}, {gk, ga},
	},
	CauseJudged: nil, CauseDispatch: nil, CauseStarted: nil, CauseExited: nil, CauseTimeout: nil,
	CauseStartFailed: nil, CauseLost: nil, CauseRetry: nil,
}

func TestGenTransitionsExhaustive(t *testing.T) {
	require.Len(t, allowedGen, len(Causes), "every cause has a row")
	for _, c := range Causes {
		want := map[[2]GenState]bool{}
		for _, p := range allowedGen[c] {
			want[p] = true
		}
		for _, from := range GenStates {
			for _, to := range GenStates {
				ok := want[[2]GenState{from, to}]
				require.Equal(t, ok, CanTransitionGen(from, to, c), "%s: %s → %s", c, from, to)
				_, err := TransitionGen("r-17", from, to, c)
				if ok {
					require.NoError(t, err)
				} else {
					require.ErrorIs(t, err, fault.ErrConflict)
				}
			}
		}
	}
}

func TestTransitionMessages(t *testing.T) {
	tests := []struct {
		from, to JobState
		cause    Cause
		want     string
	}{
		{rn, wt, CauseRerun, `cannot rerun unit "load": it is running`},
		{en, hd, CauseHold, `cannot hold unit "load": it ended normally`},
		{en, by, CauseMark, `cannot mark unit "load" bypassed: it ended normally`},
		{by, ki, CauseKill, `cannot kill unit "load": it was bypassed`},
	}
	for _, tt := range tests {
		_, err := Transition("load", tt.from, tt.to, tt.cause)
		require.ErrorIs(t, err, fault.ErrConflict)
		require.Equal(t, tt.want, strings.TrimSuffix(err.Error(), ": conflict"))
	}
	_, err := TransitionGen("r-17", gn, gk, CauseKill)
	require.EqualError(t, err, `cannot kill generation "r-17": it ended normally: conflict`)

	_, err = Transition("load", "bogus", wt, CauseRerun)
	require.ErrorIs(t, err, fault.ErrInvalid)
	_, err = Transition("load", en, wt, "bogus")
	require.ErrorIs(t, err, fault.ErrInvalid)
	_, err = TransitionGen("r", "bogus", gr, CauseStart)
	require.ErrorIs(t, err, fault.ErrInvalid)
}

func TestStatePredicates(t *testing.T) {
	for _, s := range JobStates {
		require.True(t, s.Valid())
		n := 0
		for _, b := range []bool{s.IsPending(), s.IsActive(), s.IsTerminal()} {
			if b {
				n++
			}
		}
		require.Equal(t, 1, n, "%s is exactly one of pending, active, terminal", s)
		if s.EndedOK() || s.EndedAbnormally() {
			require.True(t, s.IsTerminal(), s)
		}
	}
	require.False(t, JobState("done").Valid())
	require.True(t, StateKilled.EndedAbnormally())
	require.False(t, StateBypassed.EndedAbnormally())
	require.False(t, StateBypassed.EndedOK())
	for _, s := range GenStates {
		require.True(t, s.Valid())
		n := 0
		for _, b := range []bool{s.IsPending(), s.IsActive(), s.IsTerminal()} {
			if b {
				n++
			}
		}
		require.Equal(t, 1, n, "%s is exactly one of pending, active, terminal", s)
	}
	require.True(t, GenKilled.Ran())
	require.False(t, GenSkipped.Ran())
}
