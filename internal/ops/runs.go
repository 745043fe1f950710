package ops

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// Operator operations on generations (runs) and their units. Changes need
// the operator or admin role; each is checked against jobrun's transition
// tables and audited in the same transaction (store/operations.go). Audit
// targets are "run/<id>" and "run/<id>/<unit path>".

func canOperate(a Actor, what string) error {
	if a.Role != store.RoleOperator && a.Role != store.RoleAdmin {
		return fmt.Errorf("%s: needs the operator or admin role: %w", what, fault.ErrForbidden)
	}
	return nil
}

func runTarget(id, unit string) string {
	if unit == "" {
		return "run/" + id
	}
	return "run/" + id + "/" + unit
}

func (s *Service) entry(a Actor, action, id, unit, detail string) store.AuditEntry {
	return store.AuditEntry{Actor: a.Username, Action: action, Target: runTarget(id, unit), Detail: detail}
}

// Generations lists generations.
func (s *Service) Generations(ctx context.Context, q store.GenerationQuery) ([]store.Generation, error) {
	return s.store.Generations(ctx, q)
}

// GenerationDetail is a generation with everything its page shows.
type GenerationDetail struct {
	Generation store.Generation
	// Units are empty until the generation started.
	Units []store.UnitRun
	// Jobnet is the pinned jobnet version.
	Jobnet store.JobnetVersion
	// Audit lists the operations on the generation and its units, newest first.
	Audit []store.AuditEntry
}

// GenerationDetail returns one generation with its units, pinned jobnet
// version and audit entries.
func (s *Service) GenerationDetail(ctx context.Context, id string) (GenerationDetail, error) {
	var d GenerationDetail
	var err error
	if d.Generation, err = s.store.Generation(ctx, id); err != nil {
		return d, err
	}
	if d.Units, err = s.store.UnitRuns(ctx, id); err != nil {
		return d, err
	}
	if d.Jobnet, err = s.store.JobnetVersionByID(ctx, d.Generation.JobnetID, d.Generation.JobnetVersion); err != nil {
		return d, fmt.Errorf("generation %s: %w", id, err)
	}
	if d.Audit, err = s.store.AuditLog(ctx, store.AuditQuery{Target: runTarget(id, ""), Limit: 1000}); err != nil {
		return d, err
	}
	return d, nil
}

// Logs reads a unit's log through its executor from cursor ("" = the start).
func (s *Service) Logs(ctx context.Context, unitID int64, cursor string) (dispatch.LogChunk, error) {
	u, err := s.store.UnitRunByID(ctx, unitID)
	if err != nil {
		return dispatch.LogChunk{}, err
	}
	return s.logsOf(ctx, u, cursor)
}

// UnitLogs is Logs for a unit named by its generation and path.
func (s *Service) UnitLogs(ctx context.Context, runID, unit, cursor string) (dispatch.LogChunk, error) {
	return s.AttemptLogs(ctx, runID, unit, 0, cursor)
}

func (s *Service) unit(ctx context.Context, runID, path string) (store.UnitRun, error) {
	us, err := s.store.UnitRuns(ctx, runID)
	if err != nil {
		return store.UnitRun{}, err
	}
	for _, u := range us {
		if u.Path == path {
			return u, nil
		}
	}
	if _, err := s.store.Generation(ctx, runID); err != nil {
		return store.UnitRun{}, err
	}
	if len(us) == 0 {
		return store.UnitRun{}, fmt.Errorf("unit %q of generation %s: the generation has not started, so it has no units yet: %w", path, runID, fault.ErrConflict)
	}
	return store.UnitRun{}, fmt.Errorf("generation %s has no unit %q: %w", runID, path, fault.ErrNotFound)
}

func (s *Service) logsOf(ctx context.Context, u store.UnitRun, cursor string) (dispatch.LogChunk, error) {
	if u.Handle == nil {
		return dispatch.LogChunk{}, fmt.Errorf("unit %q of generation %s has no log: it has not been dispatched (%s): %w", u.Path, u.GenerationID, u.State, fault.ErrConflict)
	}
	ex, err := s.logExecutor(u.Path, *u.Handle)
	if err != nil {
		return dispatch.LogChunk{}, err
	}
	c, err := ex.Logs(ctx, *u.Handle, cursor, 0)
	if err != nil {
		return c, fmt.Errorf("logs of unit %q of generation %s: %w", u.Path, u.GenerationID, err)
	}
	return c, nil
}

func (s *Service) logExecutor(path string, h dispatch.Handle) (dispatch.Executor, error) {
	if s.exec == nil {
		return nil, fmt.Errorf("logs of unit %q: no executors configured: %w", path, fault.ErrConflict)
	}
	ex, err := s.exec.For(jobnet.JobType(h.Executor))
	if err != nil {
		return nil, fmt.Errorf("logs of unit %q: %w", path, err)
	}
	return ex, nil
}

// Attempt is one attempt of a unit: each dispatch (the first run, a retry,
// a run after a rerun) has its own execution and its own log.
type Attempt struct {
	N        int
	State    string // a jobrun.JobState, or store.AttemptRetried
	ExitCode *int
	Reason   string
	// Current: the unit's latest attempt (the unit run itself).
	Current            bool
	StartedAt, EndedAt *time.Time
	// Handle reads the attempt's log (nil: it never started).
	Handle *dispatch.Handle
}

// UnitAttempts lists the attempts of a unit, oldest first; the last is the
// latest (Current while the unit run holds it, not after a rerun reset it).
// Attempts of a local job that ended before earlier attempts
// were kept are found by their dispatch key, which is derived from the
// attempt number.
func (s *Service) UnitAttempts(ctx context.Context, runID, unit string) ([]Attempt, error) {
	u, err := s.unit(ctx, runID, unit)
	if err != nil {
		return nil, err
	}
	return s.attemptsOf(ctx, u)
}

func (s *Service) attemptsOf(ctx context.Context, u store.UnitRun) ([]Attempt, error) {
	if u.Attempt == 0 {
		return nil, nil
	}
	kept, err := s.store.UnitAttempts(ctx, u.GenerationID, u.Path)
	if err != nil {
		return nil, err
	}
	byN := map[int]store.UnitAttempt{}
	for _, a := range kept {
		byN[a.Attempt] = a
	}
	install := ""
	out := make([]Attempt, 0, u.Attempt)
	for n := 1; n <= u.Attempt; n++ {
		// The unit run holds attempt u.Attempt unless a rerun reset it
		// (no dispatch key) and kept it among the earlier ones.
		if n == u.Attempt && u.DispatchKey != "" {
			out = append(out, Attempt{N: n, State: string(u.State), ExitCode: u.ExitCode, Reason: u.Reason, Current: true,
				StartedAt: u.StartedAt, EndedAt: u.EndedAt, Handle: u.Handle})
			continue
		}
		if a, ok := byN[n]; ok {
			out = append(out, Attempt{N: n, State: a.State, ExitCode: a.ExitCode, Reason: a.Reason, StartedAt: a.StartedAt, EndedAt: a.EndedAt, Handle: a.Handle})
			continue
		}
		if u.Handle == nil || u.Handle.Executor != string(jobnet.JobLocal) {
			continue
		}
		if install == "" {
			if install, err = s.store.InstallationID(ctx); err != nil {
				return nil, err
			}
		}
		out = append(out, Attempt{N: n, Handle: &dispatch.Handle{Executor: string(jobnet.JobLocal), ID: jobrun.DispatchKey(install, u.GenerationID, u.Path, n)}})
	}
	return out, nil
}

// attemptHandle returns the handle of attempt n of a unit (0: the latest
// that started).
func (s *Service) attemptHandle(ctx context.Context, u store.UnitRun, n int) (dispatch.Handle, error) {
	if (n == 0 || n == u.Attempt) && u.Handle != nil {
		return *u.Handle, nil
	}
	if n < 0 || n > u.Attempt {
		return dispatch.Handle{}, fmt.Errorf("attempt %d of unit %q: the unit has had %d attempt(s): %w", n, u.Path, u.Attempt, fault.ErrNotFound)
	}
	as, err := s.attemptsOf(ctx, u)
	if err != nil {
		return dispatch.Handle{}, err
	}
	for i := len(as) - 1; i >= 0; i-- {
		a := as[i]
		if n == 0 && a.Handle != nil || a.N == n && n != 0 {
			if a.Handle == nil {
				return dispatch.Handle{}, fmt.Errorf("attempt %d of unit %q has no log: it never started: %w", n, u.Path, fault.ErrConflict)
			}
			return *a.Handle, nil
		}
	}
	if n == 0 {
		return dispatch.Handle{}, fmt.Errorf("unit %q of generation %s has no log: it has not been dispatched (%s): %w", u.Path, u.GenerationID, u.State, fault.ErrConflict)
	}
	return dispatch.Handle{}, fmt.Errorf("attempt %d of unit %q: not recorded: %w", n, u.Path, fault.ErrNotFound)
}

// attemptLog finds the executor and handle of the log of attempt n of a
// unit (0: the current one).
func (s *Service) attemptLog(ctx context.Context, runID, unit string, n int) (dispatch.Executor, dispatch.Handle, error) {
	u, err := s.unit(ctx, runID, unit)
	if err != nil {
		return nil, dispatch.Handle{}, err
	}
	h, err := s.attemptHandle(ctx, u, n)
	if err != nil {
		return nil, dispatch.Handle{}, err
	}
	ex, err := s.logExecutor(unit, h)
	return ex, h, err
}

// AttemptLogs is UnitLogs for attempt n of the unit (0: the current one).
func (s *Service) AttemptLogs(ctx context.Context, runID, unit string, n int, cursor string) (dispatch.LogChunk, error) {
	ex, h, err := s.attemptLog(ctx, runID, unit, n)
	if err != nil {
		return dispatch.LogChunk{}, err
	}
	c, err := ex.Logs(ctx, h, cursor, 0)
	if err != nil {
		return c, fmt.Errorf("logs of unit %q of generation %s: %w", unit, runID, err)
	}
	return c, nil
}

// LogTailMax bounds what AttemptLogTail reads through an executor that
// cannot read from the end.
const LogTailMax = 256 << 20

// AttemptLogTail reads the log of attempt n of a unit (0: the current one)
// after cursor, or, when more than limit bytes follow, its last limit bytes
// with Skipped set (dispatch.LogTailer). An executor that cannot read from
// the end is read through, keeping the end.
func (s *Service) AttemptLogTail(ctx context.Context, runID, unit string, n int, cursor string, limit int) (dispatch.LogChunk, error) {
	ex, h, err := s.attemptLog(ctx, runID, unit, n)
	if err != nil {
		return dispatch.LogChunk{}, err
	}
	if t, ok := ex.(dispatch.LogTailer); ok {
		c, err := t.LogTail(ctx, h, cursor, limit)
		if err != nil {
			return c, fmt.Errorf("logs of unit %q of generation %s: %w", unit, runID, err)
		}
		return c, nil
	}
	var out dispatch.LogChunk
	var read int64
	for read < LogTailMax {
		c, err := ex.Logs(ctx, h, cursor, 0)
		if err != nil {
			if read > 0 {
				break
			}
			return c, fmt.Errorf("logs of unit %q of generation %s: %w", unit, runID, err)
		}
		read += int64(len(c.Data))
		out.Data = append(out.Data, c.Data...)
		if over := len(out.Data) - limit; over > 0 {
			out.Skipped += int64(over)
			out.Data = out.Data[over:]
		}
		if c.Next != "" {
			cursor = c.Next
		}
		if !c.More || len(c.Data) == 0 {
			break
		}
	}
	out.Next = cursor
	if out.Skipped > 0 {
		if i := bytes.IndexByte(out.Data, '\n'); i >= 0 && i+1 < len(out.Data) {
			out.Skipped += int64(i + 1)
			out.Data = out.Data[i+1:]
		}
	}
	return out, nil
}

// Hold holds a generation (unit "") or one of its units.
func (s *Service) Hold(ctx context.Context, a Actor, runID, unit string) error {
	if err := canOperate(a, "hold"); err != nil {
		return err
	}
	if unit == "" {
		return s.store.HoldGeneration(ctx, runID, s.entry(a, "run.hold", runID, "", ""))
	}
	return s.store.HoldUnit(ctx, runID, unit, s.entry(a, "unit.hold", runID, unit, ""))
}

// Release releases a held generation (unit "") or unit.
func (s *Service) Release(ctx context.Context, a Actor, runID, unit string) error {
	if err := canOperate(a, "release"); err != nil {
		return err
	}
	if unit == "" {
		return s.store.ReleaseGeneration(ctx, runID, s.entry(a, "run.release", runID, "", ""))
	}
	return s.store.ReleaseUnit(ctx, runID, unit, s.entry(a, "unit.release", runID, unit, ""))
}

// Kill kills a running generation (unit "") or one job of it. Running jobs
// get a kill request the runner carries out through their executor.
func (s *Service) Kill(ctx context.Context, a Actor, runID, unit string) error {
	if err := canOperate(a, "kill"); err != nil {
		return err
	}
	if unit == "" {
		return s.store.KillGeneration(ctx, runID, s.entry(a, "run.kill", runID, "", ""))
	}
	return s.store.KillUnit(ctx, runID, unit, s.entry(a, "unit.kill", runID, unit, ""))
}

// RerunRequest is an operator's rerun: a generation mode (from_abnormal,
// after_abnormal, from_top, warning_only) with Unit empty, or a unit mode
// (unit_alone, unit_with_successors, successors_only) with the unit path.
type RerunRequest struct {
	Mode jobrun.RerunMode
	Unit string
}

// Rerun resets the units the rerun mode selects (jobrun.PlanRerun on the
// pinned jobnet version) to waiting and the generation back to running.
func (s *Service) Rerun(ctx context.Context, a Actor, runID string, req RerunRequest) (jobrun.RerunPlan, error) {
	if err := canOperate(a, "rerun"); err != nil {
		return jobrun.RerunPlan{}, err
	}
	if req.Mode == "" {
		req.Mode = jobrun.RerunFromAbnormal
	}
	g, err := s.store.Generation(ctx, runID)
	if err != nil {
		return jobrun.RerunPlan{}, err
	}
	v, err := s.store.JobnetVersionByID(ctx, g.JobnetID, g.JobnetVersion)
	if err != nil {
		return jobrun.RerunPlan{}, fmt.Errorf("rerun generation %s: %w", runID, err)
	}
	us, err := s.store.UnitRuns(ctx, runID)
	if err != nil {
		return jobrun.RerunPlan{}, err
	}
	if len(us) == 0 {
		return jobrun.RerunPlan{}, fmt.Errorf("cannot rerun generation %q: it has not started (%s): %w", runID, g.State, fault.ErrConflict)
	}
	states := make([]jobrun.UnitRun, len(us))
	expect := make(map[string]jobrun.JobState, len(us))
	for i, u := range us {
		states[i] = u.Core()
		expect[u.Path] = u.State
	}
	p, err := jobrun.PlanRerun(v.Jobnet.Net, states, jobrun.RerunRequest{Mode: req.Mode, Unit: req.Unit})
	if err != nil {
		return p, fmt.Errorf("rerun generation %s: %w", runID, err)
	}
	detail := fmt.Sprintf("mode %s; reset %s", req.Mode, strings.Join(p.Reset, ", "))
	if len(p.MarkEndedNormal) > 0 {
		detail += "; marked ended normally " + strings.Join(p.MarkEndedNormal, ", ")
	}
	if err := s.store.RerunUnits(ctx, runID, p, expect, s.entry(a, "run.rerun", runID, req.Unit, detail)); err != nil {
		return p, err
	}
	return p, nil
}

// Mark marks a unit bypassed or ended normally. In an ended generation the
// generation's end state is judged again.
func (s *Service) Mark(ctx context.Context, a Actor, runID, unit string, to jobrun.JobState) error {
	if err := canOperate(a, "mark"); err != nil {
		return err
	}
	if to != jobrun.StateEndedNormal && to != jobrun.StateBypassed {
		return fault.Problems{{Path: "as", Message: fmt.Sprintf("%q: want bypassed or ended_normal", to)}}
	}
	g, err := s.store.Generation(ctx, runID)
	if err != nil {
		return err
	}
	us, err := s.store.UnitRuns(ctx, runID)
	if err != nil {
		return err
	}
	found := false
	detail := "as " + string(to)
	states := make([]jobrun.UnitRun, len(us))
	for i, u := range us {
		states[i] = u.Core()
		if u.Path == unit {
			found = true
			states[i].State = to
			if note := s.stopForMark(ctx, u); note != "" {
				detail += "; " + note
			}
		}
	}
	if !found {
		_, err := s.unit(ctx, runID, unit)
		return err
	}
	var genTo jobrun.GenState
	if g.State.Ran() {
		v, err := s.store.JobnetVersionByID(ctx, g.JobnetID, g.JobnetVersion)
		if err != nil {
			return err
		}
		step, err := jobrun.Evaluate(v.Jobnet.Net, states, s.now())
		if err != nil {
			return fmt.Errorf("judge generation %s again: %w", runID, err)
		}
		if step.Gen.IsTerminal() && g.State != jobrun.GenKilled {
			genTo = step.Gen
		}
	}
	return s.store.MarkUnit(ctx, runID, unit, to, genTo, s.entry(a, "unit.mark", runID, unit, detail))
}

// MarkStopGrace is the grace period of the stop that marking a starting
// or running unit asks of its execution.
const MarkStopGrace = 10 * time.Second

// stopForMark asks the execution of a starting or running unit to stop,
// so that a mark does not leave it running unwatched, and says what
// happened for the audit trail. The mark goes ahead whatever the backend
// answers: an operator can always end a unit, even when its backend is
// unreachable.
func (s *Service) stopForMark(ctx context.Context, u store.UnitRun) string {
	if u.State != jobrun.StateStarting && u.State != jobrun.StateRunning || u.Handle == nil {
		return ""
	}
	if s.exec == nil {
		return "its execution " + u.Handle.ID + " was not stopped: no executors configured"
	}
	ex, err := s.exec.For(jobnet.JobType(u.Handle.Executor))
	if err == nil {
		cctx, cancel := context.WithTimeout(ctx, MarkStopGrace+30*time.Second)
		err = ex.Cancel(cctx, *u.Handle, MarkStopGrace)
		cancel()
	}
	if err != nil {
		s.log.Warn("mark: stop the execution", "unit", u.Path, "generation", u.GenerationID, "execution", u.Handle.ID, "err", err)
		return "its execution " + u.Handle.ID + " could not be stopped: " + err.Error()
	}
	return "its execution " + u.Handle.ID + " was asked to stop"
}

// Retime changes the start time of a generation that has not started to
// the given clock time (00:00-47:59) of its business date in its calendar's
// zone. Re-plans leave it alone afterwards.
func (s *Service) Retime(ctx context.Context, a Actor, runID string, at calendar.ClockTime) (time.Time, error) {
	if err := canOperate(a, "change start time"); err != nil {
		return time.Time{}, err
	}
	g, err := s.store.Generation(ctx, runID)
	if err != nil {
		return time.Time{}, err
	}
	loc, err := s.zoneOf(ctx, g.Jobnet)
	if err != nil {
		return time.Time{}, err
	}
	t := g.BusinessDate.At(at.Duration(), loc)
	return t, s.store.RetimeGeneration(ctx, runID, t, s.entry(a, "run.retime", runID, "",
		fmt.Sprintf("start %s → %s (%s)", g.ScheduledAt.In(loc).Format("2006-01-02 15:04"), t.Format("2006-01-02 15:04"), at)))
}

// RetimeAt is Retime with an absolute instant.
func (s *Service) RetimeAt(ctx context.Context, a Actor, runID string, t time.Time) error {
	if err := canOperate(a, "change start time"); err != nil {
		return err
	}
	return s.store.RetimeGeneration(ctx, runID, t, s.entry(a, "run.retime", runID, "", "start → "+t.UTC().Format(time.RFC3339)))
}

// Cancel ends a generation that has not started as not executed.
func (s *Service) Cancel(ctx context.Context, a Actor, runID, reason string) error {
	if err := canOperate(a, "cancel"); err != nil {
		return err
	}
	if reason == "" {
		reason = "cancelled by " + a.Username
	}
	return s.store.CancelGeneration(ctx, runID, reason, s.entry(a, "run.cancel", runID, "", reason))
}

// zoneOf returns the time zone of a jobnet's calendar.
func (s *Service) zoneOf(ctx context.Context, path string) (*time.Location, error) {
	cat, err := s.Catalog(ctx)
	if err != nil {
		return nil, err
	}
	j, ok := cat.Jobnet(path)
	if !ok {
		return nil, fmt.Errorf("jobnet %q: %w", path, fault.ErrNotFound)
	}
	c, err := cat.CalendarOf(j)
	if err != nil {
		return nil, fmt.Errorf("calendar of jobnet %s: %w", path, err)
	}
	return c.Location(), nil
}

var paramName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// RunNowRequest starts a jobnet outside its schedule.
type RunNowRequest struct {
	// Jobnet is folder/name.
	Jobnet string
	// BusinessDate defaults to today's business date in the jobnet's calendar.
	BusinessDate *calendar.Date
	// Params are the generation's parameters (environment of every job).
	Params map[string]string
}

// RunNow creates a generation of the jobnet's current version for a business
// date, rule "manual", scheduled now, so the runner starts it at once. Its
// start clock is the time of day (relative to the business date's midnight
// in the calendar's zone; later than 23:59 for past dates), moved on by a
// minute while another manual run has it.
func (s *Service) RunNow(ctx context.Context, a Actor, req RunNowRequest) (store.Generation, error) {
	if err := canOperate(a, "run now"); err != nil {
		return store.Generation{}, err
	}
	var ps fault.Problems
	folder, name, ok := strings.Cut(req.Jobnet, "/")
	if !ok || folder == "" || name == "" {
		ps.Add("jobnet", "%q: want FOLDER/NAME", req.Jobnet)
	}
	keys := make([]string, 0, len(req.Params))
	for k := range req.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !paramName.MatchString(k) || strings.HasPrefix(k, "KOYOMI_") {
			ps.Add("params."+k, "parameter names are letters, digits and _ and must not start with KOYOMI_")
		}
		if err := store.CheckText(req.Params[k]); err != nil {
			ps.Add("params."+k, "%v", err)
		}
	}
	if err := ps.Err(); err != nil {
		return store.Generation{}, err
	}
	v, err := s.store.JobnetByPath(ctx, folder, name, 0)
	if err != nil {
		return store.Generation{}, err
	}
	cat, err := s.Catalog(ctx)
	if err != nil {
		return store.Generation{}, err
	}
	j, ok := cat.Jobnet(req.Jobnet)
	if !ok {
		return store.Generation{}, fmt.Errorf("jobnet %q: %w", req.Jobnet, fault.ErrNotFound)
	}
	c, err := cat.CalendarOf(j)
	if err != nil {
		return store.Generation{}, fmt.Errorf("calendar of jobnet %s: %w", req.Jobnet, err)
	}
	now := s.now()
	date := c.BusinessDate(now)
	if req.BusinessDate != nil {
		date = *req.BusinessDate
	}
	clock := calendar.ClockTime(max(0, int(now.Sub(date.At(0, c.Location()))/time.Minute)))
	detail := "business date " + date.String()
	if len(keys) > 0 {
		kv := make([]string, len(keys))
		for i, k := range keys {
			kv[i] = k + "=" + req.Params[k]
		}
		detail += "; params " + strings.Join(kv, " ")
	}
	g := store.Generation{JobnetID: v.JobnetID, JobnetVersion: v.Version, Jobnet: req.Jobnet, Folder: folder, BusinessDate: date,
		Rule: store.RuleManual, ScheduledAt: now.UTC(), State: jobrun.GenWaiting, Params: req.Params, Overlap: j.Overlap,
		Explanation: fmt.Sprintf("run now by %s for business date %s", a.Username, date)}
	for range 1000 {
		g.StartClock = clock
		g.ID = store.GenerationID(g.JobnetID, date, g.Rule, clock)
		out, err := s.store.CreateGeneration(ctx, g, s.entry(a, "run.now", g.ID, "", detail))
		if errors.Is(err, fault.ErrConflict) {
			clock++
			continue
		}
		return out, err
	}
	return store.Generation{}, fmt.Errorf("run %s now: no free start clock for %s: %w", req.Jobnet, date, fault.ErrConflict)
}

// SetExecutors sets the executors Logs reads through (the server builds
// them after the service). Call it before serving.
func (s *Service) SetExecutors(r dispatch.Registry) { s.exec = r }
