package jobrun

import (
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

func TestJudge(t *testing.T) {
	th := func(w, a int) jobnet.EndJudgment {
		return jobnet.EndJudgment{WarningThreshold: w, AbnormalThreshold: a}
	}
	tests := []struct {
		end  jobnet.EndJudgment
		exit int
		want JobState
	}{
		{jobnet.EndJudgment{}, 0, en},
		{jobnet.EndJudgment{}, 1, ea},
		{jobnet.EndJudgment{}, -1, ea},
		{th(4, 8), 4, en},
		{th(4, 8), 5, ew},
		{th(4, 8), 8, ew},
		{th(4, 8), 9, ea},
		{th(0, 8), 1, ew},
		{th(4, 0), 2, ea}, // an abnormal threshold below the warning one wins
		{jobnet.EndJudgment{Mode: jobnet.EndAlwaysNormal}, 255, en},
		{jobnet.EndJudgment{Mode: jobnet.EndAlwaysNormal}, -9, en},
	}
	for _, tt := range tests {
		require.Equal(t, tt.want, Judge(tt.end, tt.exit), "%+v exit %d", tt.end, tt.exit)
	}
}

func TestTimeoutState(t *testing.T) {
	for endAs, want := range map[string]JobState{"": ea, "abnormal": ea, "warning": ew, "normal": en, "ended_warning": ew} {
		got, err := TimeoutState(&jobnet.Timeout{EndAs: endAs})
		require.NoError(t, err)
		require.Equal(t, want, got, endAs)
	}
	_, err := TimeoutState(&jobnet.Timeout{EndAs: "sideways"})
	require.ErrorIs(t, err, fault.ErrInvalid)
}

func TestRetryDecision(t *testing.T) {
	end := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	r := &jobnet.Retry{Count: 2, Interval: jobnet.Duration(5 * time.Minute)}
	tests := []struct {
		r       *jobnet.Retry
		outcome jobnet.Outcome
		try     int
		retry   bool
		at      time.Time
	}{
		{nil, jobnet.OutcomeAbnormal, 1, false, time.Time{}},
		{r, jobnet.OutcomeAbnormal, 1, true, end.Add(5 * time.Minute)},
		{r, jobnet.OutcomeFailedToStart, 2, true, end.Add(5 * time.Minute)},
		{r, jobnet.OutcomeAbnormal, 3, false, time.Time{}},
		{r, jobnet.OutcomeTimeout, 1, false, time.Time{}},
		{r, jobnet.OutcomeUnknown, 1, false, time.Time{}},
		{&jobnet.Retry{Count: 1, On: []jobnet.Outcome{jobnet.OutcomeTimeout}}, jobnet.OutcomeTimeout, 1, true, end},
		{&jobnet.Retry{Count: 1, On: []jobnet.Outcome{jobnet.OutcomeTimeout}}, jobnet.OutcomeAbnormal, 1, false, time.Time{}},
	}
	for i, tt := range tests {
		retry, at := RetryDecision(tt.r, tt.outcome, tt.try, end)
		require.Equal(t, tt.retry, retry, "case %d", i)
		require.Equal(t, tt.at, at, "case %d", i)
	}
	o, ok := OutcomeOf(ea, false)
	require.True(t, ok)
	require.Equal(t, jobnet.OutcomeAbnormal, o)
	o, _ = OutcomeOf(ew, true)
	require.Equal(t, jobnet.OutcomeTimeout, o)
	_, ok = OutcomeOf(ki, false)
	require.False(t, ok)
}

func TestEvalJudgment(t *testing.T) {
	code := func(n int) *int { return &n }
	vars := map[string]string{"MODE": "full", "COUNT": "10", "DIR": "/data", VarBusinessDate: "2026-04-01"}
	stat := func(p string) bool { return p == "/data/20260401.done" }
	tests := []struct {
		name string
		j    jobnet.Judgment
		in   JudgmentInput
		want bool
		err  bool
	}{
		{"exit eq", jobnet.Judgment{Kind: jobnet.JudgeExitCode, Op: "eq", Value: "3"}, JudgmentInput{ExitCode: code(3)}, true, false},
		{"exit default op", jobnet.Judgment{Kind: jobnet.JudgeExitCode, Value: "3"}, JudgmentInput{ExitCode: code(4)}, false, false},
		{"exit gt", jobnet.Judgment{Kind: jobnet.JudgeExitCode, Op: "gt", Value: "3"}, JudgmentInput{ExitCode: code(4)}, true, false},
		{"exit le", jobnet.Judgment{Kind: jobnet.JudgeExitCode, Op: "le", Value: "3"}, JudgmentInput{ExitCode: code(4)}, false, false},
		{"exit missing", jobnet.Judgment{Kind: jobnet.JudgeExitCode, Value: "3"}, JudgmentInput{}, false, true},
		{"exit bad value", jobnet.Judgment{Kind: jobnet.JudgeExitCode, Value: "x"}, JudgmentInput{ExitCode: code(1)}, false, true},
		{"bad op", jobnet.Judgment{Kind: jobnet.JudgeExitCode, Op: "~", Value: "1"}, JudgmentInput{ExitCode: code(1)}, false, true},
		{"var string eq", jobnet.Judgment{Kind: jobnet.JudgeVariable, Variable: "MODE", Value: "full"}, JudgmentInput{Vars: vars}, true, false},
		{"var string ne", jobnet.Judgment{Kind: jobnet.JudgeVariable, Variable: "MODE", Op: "ne", Value: "full"}, JudgmentInput{Vars: vars}, false, false},
		{"var numeric lt", jobnet.Judgment{Kind: jobnet.JudgeVariable, Variable: "COUNT", Op: "lt", Value: "9"}, JudgmentInput{Vars: vars}, false, false},
		{"var string lt", jobnet.Judgment{Kind: jobnet.JudgeVariable, Variable: "MODE", Op: "lt", Value: "g"}, JudgmentInput{Vars: vars}, true, false},
		{"var missing", jobnet.Judgment{Kind: jobnet.JudgeVariable, Variable: "NOPE"}, JudgmentInput{Vars: vars}, false, true},
		{"file exists with macros", jobnet.Judgment{Kind: jobnet.JudgeFileExists, Path: "${DIR}/${KOYOMI_BUSINESS_DATE:yyyymmdd}.done"}, JudgmentInput{Vars: vars, Stat: stat}, true, false},
		{"file absent", jobnet.Judgment{Kind: jobnet.JudgeFileExists, Path: "/data/x"}, JudgmentInput{Vars: vars, Stat: stat}, false, false},
		{"file no stat", jobnet.Judgment{Kind: jobnet.JudgeFileExists, Path: "/data/x"}, JudgmentInput{Vars: vars}, false, true},
		{"unknown kind", jobnet.Judgment{Kind: "weather"}, JudgmentInput{}, false, true},
	}
	for _, tt := range tests {
		got, err := EvalJudgment(tt.j, tt.in)
		if tt.err {
			require.ErrorIs(t, err, fault.ErrInvalid, tt.name)
			continue
		}
		require.NoError(t, err, tt.name)
		require.Equal(t, tt.want, got, tt.name)
	}
}

func TestDelayFlags(t *testing.T) {
	tokyo, err := time.LoadLocation("Asia/Tokyo")
	require.NoError(t, err)
	midnight := time.Date(2026, 4, 1, 0, 0, 0, 0, tokyo)
	sched := time.Date(2026, 4, 1, 22, 0, 0, 0, tokyo)
	at := func(s string) *calendar.ClockTime {
		c, err := calendar.ParseClockTime(s)
		require.NoError(t, err)
		return &c
	}
	ts := func(h, m int) time.Time {
		return midnight.Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute)
	}
	startAt := &jobnet.DelayMonitor{Start: &jobnet.Deadline{At: at("22:30")}}
	endAt := &jobnet.DelayMonitor{End: &jobnet.Deadline{At: at("25:00")}} // 01:00 the next day
	endAfter := &jobnet.DelayMonitor{End: &jobnet.Deadline{After: jobnet.Duration(time.Hour)}}
	maxDur := &jobnet.DelayMonitor{MaxDuration: jobnet.Duration(30 * time.Minute)}
	zero := time.Time{}
	tests := []struct {
		name                   string
		d                      *jobnet.DelayMonitor
		started, ended, now    time.Time
		startDelayed, endDelay bool
		next                   time.Time
	}{
		{"not started before the start deadline", startAt, zero, zero, ts(22, 29), false, false, ts(22, 30)},
		{"not started at the start deadline", startAt, zero, zero, ts(22, 30), true, false, zero},
		{"started on time", startAt, ts(22, 30), zero, ts(23, 0), false, false, zero},
		{"started late", startAt, ts(22, 31), zero, ts(23, 0), true, false, zero},
		{"bypassed is not start-delayed", startAt, zero, ts(23, 0), ts(23, 30), false, false, zero},
		{"end deadline past midnight, still running", endAt, ts(22, 0), zero, ts(24, 59), false, false, ts(25, 0)},
		{"end deadline past midnight reached", endAt, ts(22, 0), zero, ts(25, 0), false, true, zero},
		{"ended before the end deadline", endAt, ts(22, 0), ts(24, 30), ts(26, 0), false, false, zero},
		{"ended after the end deadline", endAt, ts(22, 0), ts(25, 1), ts(26, 0), false, true, zero},
		{"relative end from the scheduled start", endAfter, ts(22, 10), zero, ts(22, 59), false, false, ts(23, 0)},
		{"relative end reached", endAfter, ts(22, 10), zero, ts(23, 0), false, true, zero},
		{"max duration running", maxDur, ts(22, 10), zero, ts(22, 39), false, false, ts(22, 40)},
		{"max duration exceeded", maxDur, ts(22, 10), zero, ts(22, 40), false, true, zero},
		{"max duration ran long", maxDur, ts(22, 10), ts(22, 41), ts(23, 0), false, true, zero},
		{"max duration ran exactly", maxDur, ts(22, 10), ts(22, 40), ts(23, 0), false, false, zero},
		{"no monitor", nil, zero, zero, ts(23, 0), false, false, zero},
	}
	for _, tt := range tests {
		s, e := DelayFlags(tt.d, sched, midnight, tt.started, tt.ended, tt.now)
		require.Equal(t, tt.startDelayed, s, tt.name+": start")
		require.Equal(t, tt.endDelay, e, tt.name+": end")
		require.True(t, tt.next.Equal(NextDelayCheck(tt.d, sched, midnight, tt.started, tt.ended, tt.now)), tt.name+": next")
	}
}

// Absolute deadlines follow the wall clock across a DST change.
func TestDeadlineDST(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	midnight := time.Date(2026, 3, 8, 0, 0, 0, 0, ny) // clocks jump 02:00 → 03:00
	c, err := calendar.ParseClockTime("09:00")
	require.NoError(t, err)
	dl, ok := Deadline(&jobnet.Deadline{At: &c}, midnight, midnight)
	require.True(t, ok)
	require.Equal(t, time.Date(2026, 3, 8, 9, 0, 0, 0, ny), dl)
	require.Equal(t, 8*time.Hour, dl.Sub(midnight))
}

func TestVariablesAndExpand(t *testing.T) {
	vars := Variables(GenVars{
		BusinessDate: calendar.MustParseDate("2026-04-01"), Jobnet: "sales/daily", Job: "load/extract",
		RunID: "r-17", Attempt: 2, Params: map[string]string{"REGION": "ap-northeast-1", "KOYOMI_JOB": "spoof"},
	})
	require.Equal(t, map[string]string{
		"KOYOMI_BUSINESS_DATE": "2026-04-01", "KOYOMI_JOBNET": "sales/daily", "KOYOMI_JOB": "load/extract",
		"KOYOMI_RUN_ID": "r-17", "KOYOMI_ATTEMPT": "2", "REGION": "ap-northeast-1",
	}, vars)
	tests := []struct {
		in, want, err string
	}{
		{"plain", "plain", ""},
		{"run ${KOYOMI_JOB} in ${REGION}", "run load/extract in ap-northeast-1", ""},
		{"cost $$5 and $$${REGION}", "cost $5 and $ap-northeast-1", ""},
		{"echo $HOME $1 $", "echo $HOME $1 $", ""},
		{"echo $${HOME}", "echo ${HOME}", ""},
		{"/in/${KOYOMI_BUSINESS_DATE:yyyymmdd}.csv", "/in/20260401.csv", ""},
		{"${KOYOMI_BUSINESS_DATE:yy/mm/dd}", "26/04/01", ""},
		{"${HOME}", "", `column 1: unknown variable "HOME"`},
		{"ab ${REGION", "", `column 4: unterminated macro`},
		{"${1X}", "", `bad variable name "1X"`},
		{"${REGION:yyyymmdd}", "", `needs a date value`},
		{"${KOYOMI_BUSINESS_DATE:yyyyqq}", "", `unknown token at "qq"`},
	}
	for _, tt := range tests {
		got, err := Expand(tt.in, vars)
		if tt.err != "" {
			require.ErrorIs(t, err, fault.ErrInvalid, tt.in)
			require.ErrorContains(t, err, tt.err, tt.in)
			continue
		}
		require.NoError(t, err, tt.in)
		require.Equal(t, tt.want, got, tt.in)
	}
}

func TestExpandJob(t *testing.T) {
	vars := map[string]string{"D": "2026-04-01", "R": "r-17"}
	j := jobnet.Job{
		Type:  jobnet.JobECS,
		Env:   map[string]string{"OUT": "/out/${D:yyyymmdd}"},
		Local: &jobnet.LocalSpec{Command: "run ${R}", WorkDir: "/w/${R}"},
		ECS:   &jobnet.ECSSpec{Command: []string{"go", "${D}"}, Tags: map[string]string{"run": "${R}"}},
		EKS:   &jobnet.EKSSpec{Image: "img:${R}", Command: []string{"x"}, Args: []string{"--date=${D}"}, Labels: map[string]string{"run": "${R}"}},
	}
	got, err := ExpandJob(j, vars)
	require.NoError(t, err)
	require.Equal(t, "/out/20260401", got.Env["OUT"])
	require.Equal(t, "run r-17", got.Local.Command)
	require.Equal(t, "/w/r-17", got.Local.WorkDir)
	require.Equal(t, []string{"go", "2026-04-01"}, got.ECS.Command)
	require.Equal(t, "r-17", got.ECS.Tags["run"])
	require.Equal(t, "img:r-17", got.EKS.Image)
	require.Equal(t, []string{"--date=2026-04-01"}, got.EKS.Args)
	require.Equal(t, "r-17", got.EKS.Labels["run"])
	// The input is untouched.
	require.Equal(t, "run ${R}", j.Local.Command)
	require.Equal(t, "${D}", j.ECS.Command[1])
	require.Equal(t, "/out/${D:yyyymmdd}", j.Env["OUT"])

	j.Local.Command = "${NOPE}"
	j.EKS.Args = []string{"${ALSO}"}
	_, err = ExpandJob(j, vars)
	require.ErrorIs(t, err, fault.ErrInvalid)
	ps, ok := fault.AsProblems(err)
	require.True(t, ok)
	require.Equal(t, "local.command", ps[0].Path)
	require.Contains(t, ps[0].Message, `unknown variable "NOPE"`)
	require.Equal(t, "eks.args[0]", ps[1].Path)
}

func FuzzExpand(f *testing.F) {
	for _, s := range []string{"", "a ${X} b", "$$", "${X:yyyymmdd}", "${", "$${X}", "${X:}", "$"} {
		f.Add(s)
	}
	vars := map[string]string{"X": "2026-04-01"}
	f.Fuzz(func(t *testing.T, s string) {
		out, err := Expand(s, vars)
		if err != nil {
			require.ErrorIs(t, err, fault.ErrInvalid)
			return
		}
		if !regexp.MustCompile(`\$[{$]`).MatchString(s) {
			require.Equal(t, s, out, "text without macros is unchanged")
		}
	})
}

var keyRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9-]*[a-z0-9])?$`)

func TestDispatchKey(t *testing.T) {
	const inst = "3f9a2b1c0d4e"
	k := DispatchKey(inst, "r-17", "load/extract", 1)
	require.Regexp(t, `^3f9a2b1c0d4e-r-17-load-extract-1-[0-9a-f]{10}$`, k)
	require.Equal(t, k, DispatchKey(inst, "r-17", "load/extract", 1), "deterministic")
	require.NotEqual(t, k, DispatchKey(inst, "r-17", "load/extract", 2))
	require.NotEqual(t, DispatchKey(inst, "r-17", "load-extract", 1), k, "slugs alike, keys differ")
	require.NotEqual(t, DispatchKey(inst, "R-17", "load/extract", 1), k)
	other := DispatchKey("7c1d00e5aa21", "r-17", "load/extract", 1)
	require.NotEqual(t, other, k, "another installation never gets the same key")
	require.Regexp(t, `^7c1d00e5aa21-`, other)
	long := DispatchKey(inst, "0f8fad5b-d9cb-469f-a165-70867728950e", "very/deeply/nested/jobnet/with/a/rather/long/unit/name/indeed", 12)
	require.LessOrEqual(t, len(long), DispatchKeyMax)
	require.Regexp(t, `^3f9a2b1c0d4e-0f8fad5b-d9cb-very-deeply`, long)
	for _, in := range [][3]string{{"", "", ""}, {"", "---", "///"}, {"日本", "日本", "ジョブ"}, {inst, "A_B", "Z"}, {"x", "x", "-a-"}, {"a-very-long-installation-name-indeed", "r", "u"}} {
		k := DispatchKey(in[0], in[1], in[2], 0)
		require.Regexp(t, keyRE, k, "%q", in)
		require.LessOrEqual(t, len(k), DispatchKeyMax)
	}
}

func FuzzDispatchKey(f *testing.F) {
	f.Add("3f9a2b1c0d4e", "r-17", "load/extract", 1)
	f.Add("", "", "", 0)
	f.Fuzz(func(t *testing.T, inst, run, unit string, attempt int) {
		k := DispatchKey(inst, run, unit, attempt)
		require.LessOrEqual(t, len(k), DispatchKeyMax)
		require.Regexp(t, keyRE, k)
	})
}

func TestCapacityDecision(t *testing.T) {
	now := time.Date(2026, 4, 1, 2, 0, 0, 0, time.UTC)
	b := jobnet.CapacityBudget{Retries: 2, Interval: time.Minute}
	v := CapacityDecision(b, 1, now, "RESOURCE:MEMORY")
	require.True(t, v.Retry)
	require.Equal(t, now.Add(time.Minute), v.At)
	require.Equal(t, "waiting for capacity: try 1 of 3 refused; next try at 2026-04-01T02:01:00Z: RESOURCE:MEMORY", v.Reason)
	v = CapacityDecision(b, 2, now, "Capacity is unavailable")
	require.True(t, v.Retry)
	require.Contains(t, v.Reason, "try 2 of 3")
	v = CapacityDecision(b, 3, now, "Capacity is unavailable")
	require.False(t, v.Retry)
	require.Equal(t, "no capacity after 3 tries over 2m0s (capacity_retries 2, every 1m0s); last: Capacity is unavailable", v.Reason)
	// No retries: the first refusal ends it.
	require.False(t, CapacityDecision(jobnet.CapacityBudget{Interval: time.Second}, 1, now, "x").Retry)
}
