package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
)

// Why the runner cancelled an execution (RunUnit.CancelCause).
const (
	// CancelKill: an operator's kill request; the unit ends killed.
	CancelKill = "kill"
	// CancelTimeout: the job ran past its timeout; it ends as the timeout says.
	CancelTimeout = "timeout"
)

// RunUnit is a unit run with the runner's bookkeeping.
type RunUnit struct {
	UnitRun
	// CancelCause is CancelKill or CancelTimeout once the runner cancelled
	// the execution, else empty.
	CancelCause string
	// Tries counts dispatches since the unit last started fresh (1 for the
	// first try of a generation or of a rerun); retry policies count it.
	Tries int
	// StartErrors counts consecutive retryable dispatch failures of the
	// current attempt.
	StartErrors int
	// HostID is the host id of the runner that dispatched the current
	// attempt (ClaimForDispatch); empty before the first dispatch.
	HostID string
}

type runUnitRecord struct {
	Unit        unitRunRecord `gorm:"embedded"`
	CancelCause string
	Tries       int
	StartErrors int
	HostID      string
}

func (runUnitRecord) TableName() string { return "unit_runs" }

func (r runUnitRecord) domain() (RunUnit, error) {
	u, err := r.Unit.domain()
	if err != nil {
		return RunUnit{}, err
	}
	return RunUnit{UnitRun: u, CancelCause: r.CancelCause, Tries: r.Tries, StartErrors: r.StartErrors, HostID: r.HostID}, nil
}

func runUnits(recs []runUnitRecord) ([]RunUnit, error) {
	out := make([]RunUnit, 0, len(recs))
	for _, r := range recs {
		u, err := r.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// unitInFlight are the states that hold an execution (or a wait) open.
var unitInFlight = []string{string(jobrun.StateStarting), string(jobrun.StateRunning)}

func conflictf(format string, args ...any) error {
	return fmt.Errorf(format+": %w", append(args, fault.ErrConflict)...)
}

// StartGeneration moves a waiting generation whose start time came (and
// that is not held) to running and inserts its unit runs in their initial
// states, from the pinned jobnet version. Starting a generation that already
// runs with its units is a no-op; any other state is fault.ErrConflict.
func (s *Store) StartGeneration(ctx context.Context, genID string, now time.Time) error {
	g, err := s.Generation(ctx, genID)
	if err != nil {
		return err
	}
	v, err := s.JobnetVersionByID(ctx, g.JobnetID, g.JobnetVersion)
	if err != nil {
		return fmt.Errorf("start generation %s: %w", genID, err)
	}
	graph, err := jobrun.Compile(v.Jobnet.Net)
	if err != nil {
		return fmt.Errorf("start generation %s: jobnet %s version %d: %w", genID, g.Jobnet, g.JobnetVersion, err)
	}
	return s.StartGenerationWith(ctx, genID, now, v.Jobnet, graph)
}

// StartGenerationWith is StartGeneration with the pinned definition and its
// compiled graph supplied by the caller (the runner caches them).
func (s *Store) StartGenerationWith(ctx context.Context, genID string, now time.Time, def *jobnet.Jobnet, graph *jobrun.Graph) error {
	stamp := s.now()
	return s.tx(ctx, func(tx *gorm.DB) error {
		var rec generationRecord
		if err := s.lockForUpdate(tx.Where("id = ?", genID), false).Take(&rec).Error; err != nil {
			return translate(err, fmt.Sprintf("generation %q", genID))
		}
		if rec.State == string(jobrun.GenRunning) {
			var n int64
			if err := tx.Model(&unitRunRecord{}).Where("generation_id = ?", genID).Count(&n).Error; err != nil {
				return translate(err, "count unit runs")
			}
			if n > 0 {
				return nil
			}
		} else {
			if rec.State != string(jobrun.GenWaiting) || rec.Held {
				return conflictf("start generation %q: it is %s", genID, strings.ReplaceAll(rec.State, "_", " "))
			}
			if rec.ScheduledAt.After(now) {
				return conflictf("start generation %q: its start time %s has not come", genID, rec.ScheduledAt.Format(time.RFC3339))
			}
			res := tx.Model(&generationRecord{}).Where("id = ? AND state = ? AND held = ?", genID, jobrun.GenWaiting, false).
				Updates(map[string]any{"state": string(jobrun.GenRunning), "started_at": now.UTC(), "max_concurrent": def.MaxConcurrentJobs, "updated_at": stamp})
			if res.Error != nil {
				return translate(res.Error, "start generation "+genID)
			}
			if res.RowsAffected != 1 {
				return conflictf("start generation %q: changed meanwhile", genID)
			}
		}
		initial := graph.InitialStates()
		recs := make([]unitRunRecord, 0, len(initial))
		for _, u := range initial {
			def, _ := graph.Unit(u.Path)
			r := unitRunRecord{GenerationID: genID, Path: u.Path, Kind: string(def.Kind), State: string(u.State),
				Held: u.State == jobrun.StateHeld, UpdatedAt: stamp}
			if def.Job != nil {
				r.JobType = string(def.Job.Type)
				r.Pool = def.Job.Pool
			}
			recs = append(recs, r)
		}
		if len(recs) == 0 {
			return nil
		}
		return translate(tx.Clauses(clause.OnConflict{DoNothing: true}).CreateInBatches(&recs, 500).Error, "insert unit runs of "+genID)
	})
}

// Judged is the result of one judgment unit evaluated by the runner.
type Judged struct {
	Path   string
	State  jobrun.JobState // ended_normal or ended_abnormal
	Result *bool
	Reason string
}

// StepApply is one evaluation's outcome to persist.
type StepApply struct {
	GenID string
	// GenFrom is the generation state the step was computed for (running or
	// held); the step applies only while the generation is still in it.
	GenFrom jobrun.GenState
	Step    jobrun.Step
	Judged  []Judged
	// Events are written in the same transaction (generation ended, …).
	Events []alert.Event
	Now    time.Time
	// Ends are units of the generation that ended, which the evaluation
	// already counted: they are written first, in the same transaction,
	// each guarded by its From. If one is no longer in its From nothing is
	// applied (a conflict); the caller writes them on their own
	// (MarkEndedAll) and evaluates again.
	Ends []UnitEnd
}

// Claim is a runner's claim of queued units for dispatch, made in the
// transaction that applies an evaluation (ApplyStepAndClaim) as
// ClaimForDispatch would make it in its own.
type Claim struct {
	Node, Host string
	Limit      int
	Lease      time.Duration
}

// Claimed is what a Claim took: the units, as ClaimForDispatch returns
// them, and whether more may be claimable (Limit reached, or on PostgreSQL
// a pool or generation row another transaction held was skipped rather
// than waited for): then the caller claims again on its own.
type Claimed struct {
	Units []RunUnit
	More  bool
}

// ApplyStep persists an evaluation in one transaction: derived nested
// jobnet states, bypassed units, judgment results, ready units (→ queued,
// only while the generation runs) and the generation's end, each as a
// guarded update from the state the evaluation saw. If anything changed
// meanwhile nothing is applied and the error unwraps to fault.ErrConflict;
// the caller evaluates again.
func (s *Store) ApplyStep(ctx context.Context, a StepApply) error {
	_, err := s.ApplyStepAndClaim(ctx, a, nil)
	return err
}

// ApplyStepAndClaim is ApplyStep that, with a non-nil c, also claims queued
// units for dispatch in the same transaction, after the step: one commit
// for a job's end, the successors it made ready and their dispatch. The
// claim never waits for rows another transaction holds (see Claimed.More).
func (s *Store) ApplyStepAndClaim(ctx context.Context, a StepApply, c *Claim) (Claimed, error) {
	var install string
	if c != nil {
		var err error
		if install, err = s.InstallationID(ctx); err != nil {
			return Claimed{}, err
		}
	}
	var out Claimed
	err := s.tx(ctx, func(tx *gorm.DB) error {
		out = Claimed{}
		if err := s.applyStep(tx, a, c == nil); err != nil {
			return err
		}
		if c == nil {
			return nil
		}
		var err error
		out.Units, out.More, err = s.claimIn(tx, c.Node, c.Host, c.Limit, c.Lease, a.Now.UTC(), install, true, true)
		if err != nil {
			return err
		}
		if len(out.Units) == c.Limit {
			out.More = true
		}
		if out.More && len(a.Step.Ready) > 0 {
			// Other replicas may claim what this one left.
			return notifyRunners(tx, NotifyQueued)
		}
		return nil
	})
	if err != nil {
		return Claimed{}, err
	}
	return out, nil
}

// applyStep writes a in tx; tellQueued: notify the other runners of the
// units it queued (they are not claimed in the same transaction).
func (s *Store) applyStep(tx *gorm.DB, a StepApply, tellQueued bool) error {
	now := a.Now.UTC()
	stamp := s.now()
	var rec generationRecord
	if err := s.lockForUpdate(tx.Select("id", "state").Where("id = ?", a.GenID), false).Take(&rec).Error; err != nil {
		return translate(err, fmt.Sprintf("generation %q", a.GenID))
	}
	if rec.State != string(a.GenFrom) {
		return conflictf("apply evaluation of generation %q: it is %s, not %s", a.GenID, rec.State, a.GenFrom)
	}
	// The ends the evaluation counted, after the generation's lock, like
	// the step's own writes.
	for _, e := range a.Ends {
		if err := s.endUnit(tx, e, stamp); err != nil {
			return err
		}
	}
	for _, c := range a.Step.Derived {
		cols := map[string]any{"state": string(c.To), "updated_at": stamp}
		if c.To == jobrun.StateRunning {
			cols["started_at"] = gorm.Expr("COALESCE(started_at, ?)", now)
		} else if c.To.IsTerminal() {
			cols["ended_at"] = now
			cols["started_at"] = gorm.Expr("COALESCE(started_at, ?)", now)
		}
		if err := guardedUnits(tx, a.GenID, c.From, []string{c.Path}, cols); err != nil {
			return err
		}
	}
	if err := applyGrouped(tx, a.GenID, a.Step.Bypass, map[string]any{"state": string(jobrun.StateBypassed), "ended_at": now, "updated_at": stamp}); err != nil {
		return err
	}
	for _, j := range a.Judged {
		cols := map[string]any{"state": string(j.State), "judgment": j.Result, "reason": j.Reason,
			"started_at": now, "ended_at": now, "updated_at": stamp}
		if err := guardedUnits(tx, a.GenID, jobrun.StateWaiting, []string{j.Path}, cols); err != nil {
			return err
		}
	}
	if a.GenFrom == jobrun.GenRunning {
		if err := applyGrouped(tx, a.GenID, a.Step.Ready, map[string]any{"state": string(jobrun.StateQueued), "queued_at": now,
			"claimed_by": "", "claim_expires": nil, "updated_at": stamp}); err != nil {
			return err
		}
		if len(a.Step.Ready) > 0 && tellQueued {
			if err := notifyRunners(tx, NotifyQueued); err != nil {
				return err
			}
		}
	}
	if err := notifyUnitsChanged(tx); err != nil {
		return err
	}
	if a.Step.Gen != "" && a.Step.Gen != a.GenFrom && a.Step.Gen.IsTerminal() {
		if _, err := jobrun.TransitionGen(a.GenID, a.GenFrom, a.Step.Gen, jobrun.CauseEvaluate); err != nil {
			return err
		}
		res := tx.Model(&generationRecord{}).Where("id = ? AND state = ?", a.GenID, a.GenFrom).
			Updates(map[string]any{"state": string(a.Step.Gen), "ended_at": now, "updated_at": stamp})
		if res.Error != nil {
			return translate(res.Error, "end generation "+a.GenID)
		}
		if res.RowsAffected != 1 {
			return conflictf("end generation %q: changed meanwhile", a.GenID)
		}
	}
	return enqueueEvents(tx, stamp, a.Events)
}

// applyGrouped applies changes of one kind grouped by their from state.
func applyGrouped(tx *gorm.DB, genID string, changes []jobrun.Change, cols map[string]any) error {
	byFrom := map[jobrun.JobState][]string{}
	var order []jobrun.JobState
	for _, c := range changes {
		if _, ok := byFrom[c.From]; !ok {
			order = append(order, c.From)
		}
		byFrom[c.From] = append(byFrom[c.From], c.Path)
	}
	for _, from := range order {
		if err := guardedUnits(tx, genID, from, byFrom[from], cols); err != nil {
			return err
		}
	}
	return nil
}

// guardedUnits updates units of a generation that are still in state from;
// every one of them must be.
func guardedUnits(tx *gorm.DB, genID string, from jobrun.JobState, paths []string, cols map[string]any) error {
	for len(paths) > 0 {
		n := min(len(paths), 500)
		chunk := paths[:n]
		paths = paths[n:]
		res := tx.Model(&unitRunRecord{}).Where("generation_id = ? AND state = ? AND path IN ?", genID, from, chunk).Updates(cols)
		if res.Error != nil {
			return translate(res.Error, "update units of "+genID)
		}
		if res.RowsAffected != int64(len(chunk)) {
			return conflictf("update units %s of generation %q: not all of them are %s any more", strings.Join(chunk, ", "), genID, from)
		}
	}
	return nil
}

// ClaimQueued claims up to limit queued units for node until now+leaseFor,
// oldest first: units whose retry time (not_before) has come, in running
// generations, not claimed by a live claim of another node. A claim respects
// the resource pools (units starting or running, or claimed, per pool ≤ its
// slots) and the generation's max_concurrent_jobs (job units). PostgreSQL
// skips rows other nodes are claiming (FOR UPDATE SKIP LOCKED) and serialises
// the pool and limit counts on the pool and generation rows.
func (s *Store) ClaimQueued(ctx context.Context, node string, limit int, leaseFor time.Duration, now time.Time) ([]RunUnit, error) {
	return s.claimQueued(ctx, node, "", limit, leaseFor, now, false)
}

// ClaimForDispatch is ClaimQueued that also records the dispatch of the
// claimed job units in the same update (MarkStarting: queued → starting
// with the next attempt, its key jobrun.DispatchKey(installation,
// generation, path, attempt) and the try count), so the key is recorded before the executor
// is called. host (the claiming runner's HostID) is recorded with the key:
// ActiveUnits never adopts a local unit dispatched on another host. Wait
// units are returned claimed and still queued.
func (s *Store) ClaimForDispatch(ctx context.Context, node, host string, limit int, leaseFor time.Duration, now time.Time) ([]RunUnit, error) {
	return s.claimQueued(ctx, node, host, limit, leaseFor, now, true)
}

func (s *Store) claimQueued(ctx context.Context, node, host string, limit int, leaseFor time.Duration, now time.Time, start bool) ([]RunUnit, error) {
	if limit <= 0 {
		return nil, nil
	}
	now = now.UTC()
	var install string
	if start {
		var err error
		if install, err = s.InstallationID(ctx); err != nil {
			return nil, err
		}
	}
	var out []RunUnit
	err := s.tx(ctx, func(tx *gorm.DB) error {
		var err error
		out, _, err = s.claimIn(tx, node, host, limit, leaseFor, now, install, start, false)
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// claimIn is claimQueued's work in tx. With skipLocked (PostgreSQL) it
// never waits for a pool or generation row another transaction holds: the
// units that need one are left, and more says so.
func (s *Store) claimIn(tx *gorm.DB, node, host string, limit int, leaseFor time.Duration, now time.Time, install string, start, skipLocked bool) (out []RunUnit, more bool, err error) {
	lock := ""
	if s.dialect == DialectPostgres {
		lock = " FOR UPDATE OF u SKIP LOCKED"
	}
	var cands []struct {
		Rec           runUnitRecord `gorm:"embedded"`
		MaxConcurrent int
	}
	q := `SELECT u.*, g.max_concurrent FROM unit_runs u JOIN generations g ON g.id = u.generation_id
WHERE u.state = ? AND g.state = ? AND (u.not_before IS NULL OR u.not_before <= ?)
AND (u.claimed_by = '' OR u.claim_expires IS NULL OR u.claim_expires < ?)
ORDER BY u.queued_at, u.id LIMIT ?` + lock
	if err := tx.Raw(q, jobrun.StateQueued, jobrun.GenRunning, now, now, limit*4).Scan(&cands).Error; err != nil {
		return nil, false, translate(err, "find queued units")
	}
	if len(cands) == 0 {
		return nil, false, nil
	}
	pools := map[string]bool{}
	gens := map[string]int{}
	for _, c := range cands {
		if c.Rec.Unit.Pool != "" {
			pools[c.Rec.Unit.Pool] = true
		}
		if c.MaxConcurrent > 0 {
			gens[c.Rec.Unit.GenerationID] = c.MaxConcurrent
		}
	}
	free := map[string]int{}
	var held []string // pools another transaction holds (skipLocked)
	if len(pools) > 0 {
		names := sortedKeys(pools)
		var prs []poolRecord
		if err := s.lockForUpdate(tx.Where("name IN ?", names).Order("name"), skipLocked).Find(&prs).Error; err != nil {
			return nil, false, translate(err, "read pools")
		}
		if skipLocked && s.dialect == DialectPostgres && len(prs) < len(names) {
			// A pool missing here is undefined (no limit) or held by
			// another transaction: its units wait for a claim of their own.
			var exist []string
			if err := tx.Model(&poolRecord{}).Where("name IN ?", names).Pluck("name", &exist).Error; err != nil {
				return nil, false, translate(err, "read pools")
			}
			got := make(map[string]bool, len(prs))
			for _, p := range prs {
				got[p.Name] = true
			}
			for _, n := range exist {
				if !got[n] {
					held = append(held, n)
				}
			}
		}
		var used []struct {
			Pool string
			N    int
		}
		if err := tx.Model(&unitRunRecord{}).Select("pool, COUNT(*) AS n").
			Where("pool IN ?", names).Where(busy(now)).Group("pool").Scan(&used).Error; err != nil {
			return nil, false, translate(err, "count pool slots")
		}
		for _, p := range prs {
			free[p.Name] = p.Slots
		}
		for _, n := range held {
			free[n] = 0
		}
		for _, u := range used {
			if _, ok := free[u.Pool]; ok {
				free[u.Pool] -= u.N
			}
		}
	}
	genFree := map[string]int{}
	heldGens := map[string]bool{}
	if len(gens) > 0 {
		ids := make([]string, 0, len(gens))
		for id := range gens {
			ids = append(ids, id)
		}
		sort.Strings(ids)
		var locked []generationRecord
		if err := s.lockForUpdate(tx.Select("id").Where("id IN ?", ids).Order("id"), skipLocked).Find(&locked).Error; err != nil {
			return nil, false, translate(err, "lock generations")
		}
		if skipLocked && s.dialect == DialectPostgres && len(locked) < len(ids) {
			// Generations held by another transaction: their units wait.
			got := make(map[string]bool, len(locked))
			for _, l := range locked {
				got[l.ID] = true
			}
			for _, id := range ids {
				heldGens[id] = !got[id]
			}
		}
		var used []struct {
			GenerationID string
			N            int
		}
		if err := tx.Model(&unitRunRecord{}).Select("generation_id, COUNT(*) AS n").
			Where("generation_id IN ? AND kind = ?", ids, jobnet.UnitJob).Where(busy(now)).Group("generation_id").Scan(&used).Error; err != nil {
			return nil, false, translate(err, "count running jobs")
		}
		for id, n := range gens {
			genFree[id] = n
		}
		for _, u := range used {
			genFree[u.GenerationID] -= u.N
		}
	}
	var ids []int64
	for _, c := range cands {
		if len(ids) == limit {
			break
		}
		if slices.Contains(held, c.Rec.Unit.Pool) || c.MaxConcurrent > 0 && c.Rec.Unit.Kind == string(jobnet.UnitJob) && heldGens[c.Rec.Unit.GenerationID] {
			more = true
			continue
		}
		if c.Rec.Unit.Pool != "" {
			if f, ok := free[c.Rec.Unit.Pool]; ok {
				if f <= 0 {
					continue
				}
			}
		}
		if c.MaxConcurrent > 0 && c.Rec.Unit.Kind == string(jobnet.UnitJob) && genFree[c.Rec.Unit.GenerationID] <= 0 {
			continue
		}
		if c.Rec.Unit.Pool != "" {
			if _, ok := free[c.Rec.Unit.Pool]; ok {
				free[c.Rec.Unit.Pool]--
			}
		}
		if c.MaxConcurrent > 0 && c.Rec.Unit.Kind == string(jobnet.UnitJob) {
			genFree[c.Rec.Unit.GenerationID]--
		}
		ids = append(ids, c.Rec.Unit.ID)
		c.Rec.Unit.ClaimedBy = node
		exp := now.Add(leaseFor)
		c.Rec.Unit.ClaimExpires = &exp
		u, err := c.Rec.domain()
		if err != nil {
			return nil, false, err
		}
		out = append(out, u)
	}
	if len(ids) == 0 {
		return nil, more, nil
	}
	claim := map[string]any{"claimed_by": node, "claim_expires": now.Add(leaseFor), "updated_at": s.now()}
	var jobs []int64
	if start {
		// Units dispatched before keep that attempt (retries).
		var again []int64
		for i := range out {
			if out[i].Kind == jobnet.UnitJob && out[i].DispatchKey != "" {
				again = append(again, out[i].ID)
			}
		}
		if len(again) > 0 {
			if err := archiveAttempts(tx, "id IN ? AND state = ?", again, jobrun.StateQueued); err != nil {
				return nil, false, err
			}
		}
		// One update records the dispatch of every claimed job unit: the
		// keys differ per unit, so they come as a CASE over the ids.
		var cases strings.Builder
		var args []any
		cases.WriteString("CASE id")
		others := ids[:0:0]
		for i := range out {
			u := &out[i]
			if u.Kind != jobnet.UnitJob {
				others = append(others, u.ID)
				continue
			}
			u.Attempt++
			if u.NotBefore != nil {
				u.Tries++
			} else {
				u.Tries = 1
			}
			u.DispatchKey = jobrun.DispatchKey(install, u.GenerationID, u.Path, u.Attempt)
			u.HostID = host
			u.State, u.Handle, u.ExitCode, u.Reason, u.NotBefore, u.CancelCause, u.StartErrors = jobrun.StateStarting, nil, nil, "", nil, "", 0
			cases.WriteString(" WHEN ? THEN ?")
			args = append(args, u.ID, u.DispatchKey)
			jobs = append(jobs, u.ID)
		}
		cases.WriteString(" END")
		ids = others
		if len(jobs) > 0 {
			cols := maps.Clone(claim)
			maps.Copy(cols, map[string]any{"state": string(jobrun.StateStarting), "dispatch_key": gorm.Expr(cases.String(), args...),
				"attempt": gorm.Expr("attempt + 1"), "tries": gorm.Expr("CASE WHEN not_before IS NULL THEN 1 ELSE tries + 1 END"),
				"handle": "", "exit_code": nil, "reason": "", "not_before": nil, "cancel_cause": "", "start_errors": 0, "host_id": host})
			res := tx.Model(&unitRunRecord{}).Where("id IN ? AND state = ?", jobs, jobrun.StateQueued).Updates(cols)
			if res.Error != nil {
				return nil, false, translate(res.Error, "claim and record dispatch of queued units")
			}
			if res.RowsAffected != int64(len(jobs)) {
				return nil, false, conflictf("claim queued units: %d of %d changed meanwhile", int64(len(jobs))-res.RowsAffected, len(jobs))
			}
		}
		if len(ids) == 0 {
			return out, more, nil
		}
	}
	res := tx.Model(&unitRunRecord{}).Where("id IN ? AND state = ?", ids, jobrun.StateQueued).Updates(claim)
	if res.Error != nil {
		return nil, false, translate(res.Error, "claim queued units")
	}
	if res.RowsAffected != int64(len(ids)) {
		return nil, false, conflictf("claim queued units: %d of %d changed meanwhile", int64(len(ids))-res.RowsAffected, len(ids))
	}
	return out, more, nil
}

// busy selects units that hold a slot: starting, running, or queued under a
// live claim.
func busy(now time.Time) clause.Expr {
	return gorm.Expr("(state IN ? OR (state = ? AND claimed_by <> '' AND claim_expires >= ?))", unitInFlight, jobrun.StateQueued, now)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// MarkStarting records a claimed unit's dispatch: queued → starting with the
// idempotency key, the attempt and the try count, before the executor is
// called. It clears the previous attempt's handle, exit code and retry time.
// The attempt it replaces, if any, is kept (UnitAttempts).
func (s *Store) MarkStarting(ctx context.Context, unitID int64, key string, attempt, tries int) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := archiveAttempts(tx, "id = ? AND state = ? AND dispatch_key <> ?", unitID, jobrun.StateQueued, key); err != nil {
			return err
		}
		res := tx.Model(&unitRunRecord{}).Where("id = ? AND state = ?", unitID, jobrun.StateQueued).Updates(map[string]any{
			"state": string(jobrun.StateStarting), "dispatch_key": key, "attempt": attempt, "tries": tries,
			"handle": "", "exit_code": nil, "reason": "", "not_before": nil, "cancel_cause": "", "start_errors": 0, "updated_at": s.now(),
		})
		if res.Error != nil {
			return translate(res.Error, "record dispatch")
		}
		if res.RowsAffected != 1 {
			return conflictf("record dispatch: unit %d is no longer %s", unitID, jobrun.StateQueued)
		}
		return nil
	})
}

// MarkStartError records a retryable dispatch failure of a starting unit:
// the runner calls Start again with the same key at notBefore.
func (s *Store) MarkStartError(ctx context.Context, unitID int64, startErrors int, notBefore time.Time, reason string, events []alert.Event) error {
	return s.guardedUnit(ctx, unitID, jobrun.StateStarting, "record dispatch error", map[string]any{
		"start_errors": startErrors, "not_before": notBefore.UTC(), "reason": reason,
	}, events)
}

// MarkRunning records the handle of a started execution (or, for a wait
// unit, that it watches): from (queued or starting) → running.
func (s *Store) MarkRunning(ctx context.Context, unitID int64, from jobrun.JobState, h *dispatch.Handle, startedAt time.Time) error {
	enc, err := encodeHandle(h)
	if err != nil {
		return fmt.Errorf("encode handle of unit %d: %w", unitID, err)
	}
	return s.guardedUnit(ctx, unitID, from, "record start", map[string]any{
		"state": string(jobrun.StateRunning), "handle": enc, "started_at": startedAt.UTC(), "not_before": nil, "reason": "",
	}, nil)
}

// UnitStart is a started execution to record (MarkRunningAll).
type UnitStart struct {
	UnitID    int64
	From      jobrun.JobState
	Handle    dispatch.Handle
	StartedAt time.Time
}

// MarkRunningAll records the handles of several started executions in one
// transaction, each guarded like MarkRunning. A unit no longer in its From
// is skipped and reported by a conflict error at its index in the result;
// any other failure rolls back the whole transaction and is returned as err.
func (s *Store) MarkRunningAll(ctx context.Context, starts []UnitStart) (conflicts []error, err error) {
	if len(starts) == 0 {
		return nil, nil
	}
	if len(starts) == 1 {
		st := starts[0]
		return []error{s.MarkRunning(ctx, st.UnitID, st.From, &st.Handle, st.StartedAt)}, nil
	}
	encs := make([]string, len(starts))
	for i := range starts {
		if encs[i], err = encodeHandle(&starts[i].Handle); err != nil {
			return nil, fmt.Errorf("encode handle of unit %d: %w", starts[i].UnitID, err)
		}
	}
	conflicts = make([]error, len(starts))
	err = s.tx(ctx, func(tx *gorm.DB) error {
		clear(conflicts)
		for i, st := range starts {
			res := tx.Model(&unitRunRecord{}).Where("id = ? AND state = ?", st.UnitID, st.From).Updates(map[string]any{
				"state": string(jobrun.StateRunning), "handle": encs[i], "started_at": st.StartedAt.UTC(), "not_before": nil, "reason": "",
				"updated_at": s.now()})
			if res.Error != nil {
				return translate(res.Error, "record start")
			}
			if res.RowsAffected != 1 {
				conflicts[i] = conflictf("record start: unit %d is no longer %s", st.UnitID, st.From)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return conflicts, nil
}

// UnitEnd is how a unit ended.
type UnitEnd struct {
	UnitID   int64
	From     jobrun.JobState
	State    jobrun.JobState
	ExitCode *int
	Reason   string
	EndedAt  time.Time
	Events   []alert.Event
}

// MarkEnded ends a unit (guarded by From) with its events in one
// transaction. The claim ends; claimed_by keeps the node that ran the unit.
func (s *Store) MarkEnded(ctx context.Context, e UnitEnd) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := s.endUnit(tx, e, s.now()); err != nil {
			return err
		}
		return notifyUnitsChanged(tx)
	})
}

// MarkEndedAll ends several units in one transaction, each guarded by its
// From and written with its events. A unit no longer in its From is skipped
// and reported by a conflict error at its index in the result; any other
// failure rolls back the whole transaction and is returned as err.
func (s *Store) MarkEndedAll(ctx context.Context, ends []UnitEnd) (conflicts []error, err error) {
	if len(ends) == 0 {
		return nil, nil
	}
	conflicts = make([]error, len(ends))
	err = s.tx(ctx, func(tx *gorm.DB) error {
		clear(conflicts)
		for i, e := range ends {
			if err := s.endUnit(tx, e, s.now()); err != nil {
				if !IsConflict(err) {
					return err
				}
				conflicts[i] = err
			}
		}
		return notifyUnitsChanged(tx)
	})
	if err != nil {
		return nil, err
	}
	return conflicts, nil
}

// endUnit writes one end with its events in tx, guarded by its From (a
// conflict error when the unit is no longer in it).
func (s *Store) endUnit(tx *gorm.DB, e UnitEnd, stamp time.Time) error {
	cols := map[string]any{"state": string(e.State), "exit_code": e.ExitCode, "reason": e.Reason, "ended_at": e.EndedAt.UTC(),
		"claim_expires": nil, "kill_requested": false, "started_at": gorm.Expr("COALESCE(started_at, ?)", e.EndedAt.UTC()),
		"updated_at": stamp}
	res := tx.Model(&unitRunRecord{}).Where("id = ? AND state = ?", e.UnitID, e.From).Updates(cols)
	if res.Error != nil {
		return translate(res.Error, "end unit")
	}
	if res.RowsAffected != 1 {
		return conflictf("end unit: unit %d is no longer %s", e.UnitID, e.From)
	}
	return enqueueEvents(tx, stamp, e.Events)
}

// MarkRetry sends a unit whose attempt ended with a retried outcome back to
// waiting until notBefore, without passing through an end state.
func (s *Store) MarkRetry(ctx context.Context, unitID int64, from jobrun.JobState, notBefore time.Time, exitCode *int, reason string, events []alert.Event) error {
	return s.guardedUnitNotify(ctx, unitID, from, "retry unit", map[string]any{
		"state": string(jobrun.StateWaiting), "not_before": notBefore.UTC(), "exit_code": exitCode, "reason": reason,
		"claimed_by": "", "claim_expires": nil, "kill_requested": false, "cancel_cause": "",
	}, events, true)
}

// SetCancelCause records that the runner cancelled a unit's execution and why.
func (s *Store) SetCancelCause(ctx context.Context, unitID int64, from jobrun.JobState, cause string) error {
	res := s.db.WithContext(ctx).Model(&unitRunRecord{}).Where("id = ? AND state = ? AND cancel_cause = ''", unitID, from).
		Updates(map[string]any{"cancel_cause": cause, "updated_at": s.now()})
	if res.Error != nil {
		return translate(res.Error, "record cancel")
	}
	if res.RowsAffected != 1 {
		return conflictf("record cancel of unit %d: it is no longer %s or was cancelled already", unitID, from)
	}
	return nil
}

// SetUnitFlags raises a unit's delay flags (a flag never falls back here)
// with their events.
func (s *Store) SetUnitFlags(ctx context.Context, unitID int64, startDelayed, endDelayed bool, events []alert.Event) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		cols := map[string]any{"updated_at": s.now()}
		if startDelayed {
			cols["start_delayed"] = true
		}
		if endDelayed {
			cols["end_delayed"] = true
		}
		if err := tx.Model(&unitRunRecord{}).Where("id = ?", unitID).Updates(cols).Error; err != nil {
			return translate(err, "set unit flags")
		}
		return enqueueEvents(tx, s.now(), events)
	})
}

// SetGenerationFlags raises a generation's delay flags with their events.
func (s *Store) SetGenerationFlags(ctx context.Context, genID string, startDelayed, endDelayed bool, events []alert.Event) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		cols := map[string]any{"updated_at": s.now()}
		if startDelayed {
			cols["start_delayed"] = true
		}
		if endDelayed {
			cols["end_delayed"] = true
		}
		if err := tx.Model(&generationRecord{}).Where("id = ?", genID).Updates(cols).Error; err != nil {
			return translate(err, "set generation flags")
		}
		return enqueueEvents(tx, s.now(), events)
	})
}

func (s *Store) guardedUnit(ctx context.Context, unitID int64, from jobrun.JobState, what string, cols map[string]any, events []alert.Event) error {
	return s.guardedUnitNotify(ctx, unitID, from, what, cols, events, false)
}

// guardedUnitNotify is guardedUnit that, with notify, tells the runners
// that a unit state changed (a change their evaluations depend on: an end,
// a retry).
func (s *Store) guardedUnitNotify(ctx context.Context, unitID int64, from jobrun.JobState, what string, cols map[string]any, events []alert.Event, notify bool) error {
	cols["updated_at"] = s.now()
	update := func(tx *gorm.DB) error {
		res := tx.Model(&unitRunRecord{}).Where("id = ? AND state = ?", unitID, from).Updates(cols)
		if res.Error != nil {
			return translate(res.Error, what)
		}
		if res.RowsAffected != 1 {
			return conflictf("%s: unit %d is no longer %s", what, unitID, from)
		}
		if notify {
			if err := notifyUnitsChanged(tx); err != nil {
				return err
			}
		}
		return enqueueEvents(tx, s.now(), events)
	}
	if len(events) == 0 && !notify {
		return update(s.db.WithContext(ctx))
	}
	return s.tx(ctx, update)
}

// ActiveUnits returns the starting and running units this node watches. It
// first adopts those of nodes whose claim expired (a dead replica) or that
// nobody claims, so their executions are polled and never lost, except
// local units dispatched on another host than host (see adoptable).
func (s *Store) ActiveUnits(ctx context.Context, node, host string, now time.Time, leaseFor time.Duration) ([]RunUnit, error) {
	now = now.UTC()
	var recs []runUnitRecord
	err := s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&unitRunRecord{}).Where("state IN ?", unitInFlight).Where(adoptable(host)).
			Where("claimed_by = '' OR (claimed_by <> ? AND (claim_expires IS NULL OR claim_expires < ?))", node, now).
			Updates(map[string]any{"claimed_by": node, "claim_expires": now.Add(leaseFor)}).Error; err != nil {
			return translate(err, "adopt orphaned units")
		}
		return translate(tx.Where("state IN ? AND claimed_by = ?", unitInFlight, node).Order("id").Find(&recs).Error, "list active units")
	})
	if err != nil {
		return nil, err
	}
	return runUnits(recs)
}

// WatchedUnits returns the starting and running units claimed by node,
// without adopting orphans (ActiveUnits does, less often).
func (s *Store) WatchedUnits(ctx context.Context, node string) ([]RunUnit, error) {
	var recs []runUnitRecord
	if err := s.db.WithContext(ctx).Where("state IN ? AND claimed_by = ?", unitInFlight, node).Order("id").Find(&recs).Error; err != nil {
		return nil, translate(err, "list active units")
	}
	return runUnits(recs)
}

// WatchedUnitsByID returns those of the units ids that are starting or
// running and claimed by node (the others ended, or another node adopted
// them): the runner re-reads the units it wrote or was told about instead
// of all of them.
func (s *Store) WatchedUnitsByID(ctx context.Context, node string, ids []int64) ([]RunUnit, error) {
	var out []RunUnit
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), 500)]
		ids = ids[len(chunk):]
		var recs []runUnitRecord
		if err := s.db.WithContext(ctx).Where("id IN ? AND state IN ? AND claimed_by = ?", chunk, unitInFlight, node).Find(&recs).Error; err != nil {
			return nil, translate(err, "list active units")
		}
		us, err := runUnits(recs)
		if err != nil {
			return nil, err
		}
		out = append(out, us...)
	}
	return out, nil
}

// RenewClaims extends this node's claims on its queued, starting and
// running units until until.
func (s *Store) RenewClaims(ctx context.Context, node string, until time.Time) error {
	err := s.db.WithContext(ctx).Model(&unitRunRecord{}).
		Where("claimed_by = ? AND state IN ?", node, append([]string{string(jobrun.StateQueued)}, unitInFlight...)).
		Update("claim_expires", until.UTC()).Error
	return translate(err, "renew claims")
}

// ReleaseClaims gives back the claims node holds on queued units (from a
// previous life of the node, which never got to dispatch them).
func (s *Store) ReleaseClaims(ctx context.Context, node string) error {
	err := s.db.WithContext(ctx).Model(&unitRunRecord{}).Where("claimed_by = ? AND state = ?", node, jobrun.StateQueued).
		Updates(map[string]any{"claimed_by": "", "claim_expires": nil}).Error
	return translate(err, "release claims")
}

// EvalUnits returns the units of a generation ordered by path with only
// the fields evaluation reads (ID, GenerationID, Path, Kind, State, Attempt,
// ExitCode, Judgment, Reason, the delay flags, NotBefore, QueuedAt,
// StartedAt, EndedAt); the others are zero. It scans the rows without
// reflection since the runner reads them on every evaluation.
func (s *Store) EvalUnits(ctx context.Context, genID string) ([]UnitRun, error) {
	rows, err := s.db.WithContext(ctx).Raw(`SELECT id, path, kind, state, attempt, exit_code, judgment, reason, start_delayed, end_delayed,
not_before, queued_at, started_at, ended_at FROM unit_runs WHERE generation_id = ? ORDER BY path`, genID).Rows()
	if err != nil {
		return nil, translate(err, "list unit runs")
	}
	defer rows.Close()
	var out []UnitRun
	for rows.Next() {
		var (
			u                             UnitRun
			kind, state                   string
			exit                          sql.NullInt64
			judgment                      sql.NullBool
			notBefore, queued, started, e sql.NullTime
		)
		if err := rows.Scan(&u.ID, &u.Path, &kind, &state, &u.Attempt, &exit, &judgment, &u.Reason, &u.StartDelayed, &u.EndDelayed,
			&notBefore, &queued, &started, &e); err != nil {
			return nil, translate(err, "read unit run")
		}
		u.GenerationID, u.Kind, u.State = genID, jobnet.UnitKind(kind), jobrun.JobState(state)
		if exit.Valid {
			v := int(exit.Int64)
			u.ExitCode = &v
		}
		if judgment.Valid {
			u.Judgment = &judgment.Bool
		}
		u.NotBefore, u.QueuedAt, u.StartedAt, u.EndedAt = nullTime(notBefore), nullTime(queued), nullTime(started), nullTime(e)
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, translate(err, "list unit runs")
	}
	return out, nil
}

func nullTime(t sql.NullTime) *time.Time {
	if !t.Valid {
		return nil
	}
	v := t.Time
	return &v
}

// RunUnitsOf returns the units of a generation with the runner's bookkeeping.
func (s *Store) RunUnitsOf(ctx context.Context, genID string) ([]RunUnit, error) {
	var recs []runUnitRecord
	if err := s.db.WithContext(ctx).Where("generation_id = ?", genID).Order("path").Find(&recs).Error; err != nil {
		return nil, translate(err, "list unit runs")
	}
	return runUnits(recs)
}

// ActiveGenerations returns the generations that started and have not ended
// (running, or held after their start).
func (s *Store) ActiveGenerations(ctx context.Context) ([]Generation, error) {
	var recs []generationRecord
	err := s.db.WithContext(ctx).Where("state = ? OR (state = ? AND started_at IS NOT NULL)", jobrun.GenRunning, jobrun.GenHeld).
		Order("scheduled_at, id").Find(&recs).Error
	if err != nil {
		return nil, translate(err, "list active generations")
	}
	return toGenerations(recs)
}

// WaitSatisfied reports whether the awaited unit (or, with unit empty, the
// whole generation) of the root jobnet jobnetPath ended normally or with
// warning in a generation of businessDate.
func (s *Store) WaitSatisfied(ctx context.Context, jobnetPath, businessDate, unit string) (bool, error) {
	ok := []string{string(jobrun.StateEndedNormal), string(jobrun.StateEndedWarning)}
	var n int64
	var err error
	if unit == "" {
		err = s.db.WithContext(ctx).Model(&generationRecord{}).
			Where("jobnet_path = ? AND business_date = ? AND state IN ?", jobnetPath, businessDate, ok).Count(&n).Error
	} else {
		err = s.db.WithContext(ctx).Table("unit_runs u").Joins("JOIN generations g ON g.id = u.generation_id").
			Where("g.jobnet_path = ? AND g.business_date = ? AND u.path = ? AND u.state IN ?", jobnetPath, businessDate, unit, ok).Count(&n).Error
	}
	if err != nil {
		return false, translate(err, "check wait target "+jobnetPath)
	}
	return n > 0, nil
}

// IsConflict reports whether err is a guarded update that found another
// state (the caller re-reads and decides again).
func IsConflict(err error) bool { return errors.Is(err, fault.ErrConflict) }

// adoptable selects the units a runner on host may adopt from another node:
// all but local jobs dispatched on another host, whose supervisor state
// (and so their outcome, and the idempotency of their start) is on that
// host's disk, unless an operator asked to kill them (the runner then
// records the kill without touching the job). Units dispatched without a
// host id are adoptable.
func adoptable(host string) clause.Expr {
	return gorm.Expr("(job_type <> ? OR host_id = '' OR host_id = ? OR kill_requested)", jobnet.JobLocal, host)
}

// AdoptAll makes node the owner of every starting and running unit it may
// adopt (adoptable) whoever claimed it, until until, and releases every
// queued unit's claim. It is for a runner that is the only one on its
// database (an exclusively locked SQLite file, Exclusive): the nodes named
// in the claims are its own earlier lives, so it need not wait for their
// claims to expire.
func (s *Store) AdoptAll(ctx context.Context, node, host string, until time.Time) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&unitRunRecord{}).Where("state IN ? AND claimed_by <> ?", unitInFlight, node).Where(adoptable(host)).
			Updates(map[string]any{"claimed_by": node, "claim_expires": until.UTC()}).Error; err != nil {
			return translate(err, "adopt units")
		}
		err := tx.Model(&unitRunRecord{}).Where("state = ? AND claimed_by <> ''", jobrun.StateQueued).
			Updates(map[string]any{"claimed_by": "", "claim_expires": nil}).Error
		return translate(err, "release claims")
	})
}
