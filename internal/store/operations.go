package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
)

// Operator operations on generations and units. Each one runs in one
// transaction: it reads the rows (locked on PostgreSQL), checks the move
// with jobrun's transition tables, applies guarded updates (WHERE state =
// the state it read) and writes the audit entry. A refused move unwraps to
// fault.ErrConflict and changes nothing.

func (s *Store) lockedGeneration(tx *gorm.DB, id string) (generationRecord, error) {
	var r generationRecord
	if err := s.lockForUpdate(tx.Where("id = ?", id), false).Take(&r).Error; err != nil {
		return r, translate(err, fmt.Sprintf("generation %q", id))
	}
	return r, nil
}

func (s *Store) lockedUnit(tx *gorm.DB, genID, path string) (unitRunRecord, error) {
	var r unitRunRecord
	if err := s.lockForUpdate(tx.Where("generation_id = ? AND path = ?", genID, path), false).Take(&r).Error; err != nil {
		return r, translate(err, fmt.Sprintf("unit %q of generation %q", path, genID))
	}
	return r, nil
}

// guarded runs an update that must hit exactly one row.
func guarded(res *gorm.DB, what string) error {
	if res.Error != nil {
		return translate(res.Error, what)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("%s: changed by someone else meanwhile: %w", what, fault.ErrConflict)
	}
	return nil
}

func (s *Store) setGenState(tx *gorm.DB, r generationRecord, to jobrun.GenState, extra map[string]any) error {
	upd := map[string]any{"state": string(to), "updated_at": s.now()}
	for k, v := range extra {
		upd[k] = v
	}
	return guarded(tx.Model(&generationRecord{}).Where("id = ? AND state = ?", r.ID, r.State).Updates(upd),
		fmt.Sprintf("move generation %s to %s", r.ID, to))
}

func (s *Store) setUnitState(tx *gorm.DB, r unitRunRecord, to jobrun.JobState, extra map[string]any) error {
	upd := map[string]any{"state": string(to), "updated_at": s.now()}
	for k, v := range extra {
		upd[k] = v
	}
	return guarded(tx.Model(&unitRunRecord{}).Where("id = ? AND state = ?", r.ID, r.State).Updates(upd),
		fmt.Sprintf("move unit %s of generation %s to %s", r.Path, r.GenerationID, to))
}

// HoldGeneration holds a generation that has not ended (planned, waiting or
// running): before its start it does not start; while it runs no further
// unit is queued.
func (s *Store) HoldGeneration(ctx context.Context, id string, a AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		r, err := s.lockedGeneration(tx, id)
		if err != nil {
			return err
		}
		to, err := jobrun.TransitionGen(id, jobrun.GenState(r.State), jobrun.GenHeld, jobrun.CauseHold)
		if err != nil {
			return err
		}
		if err := s.setGenState(tx, r, to, map[string]any{"held": true}); err != nil {
			return err
		}
		return audit(tx, s.now(), a)
	})
}

// ReleaseGeneration releases a held generation: back to waiting if it had
// not started, to running if it had.
func (s *Store) ReleaseGeneration(ctx context.Context, id string, a AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		r, err := s.lockedGeneration(tx, id)
		if err != nil {
			return err
		}
		target := jobrun.GenWaiting
		if r.StartedAt != nil {
			target = jobrun.GenRunning
		}
		to, err := jobrun.TransitionGen(id, jobrun.GenState(r.State), target, jobrun.CauseRelease)
		if err != nil {
			return err
		}
		// An operator's release is a decision: a generation released after its
		// start time runs now, whatever the catch-up policy says.
		if err := s.setGenState(tx, r, to, map[string]any{"held": false, "catchup_checked": true}); err != nil {
			return err
		}
		return audit(tx, s.now(), a)
	})
}

// HoldUnit holds a waiting or queued unit.
func (s *Store) HoldUnit(ctx context.Context, genID, path string, a AuditEntry) error {
	return s.unitMove(ctx, genID, path, jobrun.StateHeld, jobrun.CauseHold, map[string]any{"held": true}, a)
}

// ReleaseUnit releases a held unit (back to waiting; the runner evaluates it).
func (s *Store) ReleaseUnit(ctx context.Context, genID, path string, a AuditEntry) error {
	return s.unitMove(ctx, genID, path, jobrun.StateWaiting, jobrun.CauseRelease, map[string]any{"held": false}, a)
}

func (s *Store) unitMove(ctx context.Context, genID, path string, to jobrun.JobState, cause jobrun.Cause, extra map[string]any, a AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		g, err := s.lockedGeneration(tx, genID)
		if err != nil {
			return err
		}
		if jobrun.GenState(g.State).IsTerminal() {
			return fmt.Errorf("cannot %s unit %q: generation %s %s: %w", cause, path, genID, phraseGen(g.State), fault.ErrConflict)
		}
		u, err := s.lockedUnit(tx, genID, path)
		if err != nil {
			return err
		}
		if _, err := jobrun.Transition(path, jobrun.JobState(u.State), to, cause); err != nil {
			return err
		}
		if err := s.setUnitState(tx, u, to, extra); err != nil {
			return err
		}
		return audit(tx, s.now(), a)
	})
}

// KillUnit kills a queued unit at once and asks the runner to kill a
// starting or running one (kill_requested: the runner cancels it through
// its executor and records it killed). Killing a unit that already has a
// kill request is accepted again and changes nothing.
func (s *Store) KillUnit(ctx context.Context, genID, path string, a AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		u, err := s.lockedUnit(tx, genID, path)
		if err != nil {
			return err
		}
		if err := s.killUnit(tx, u); err != nil {
			return err
		}
		return audit(tx, s.now(), a)
	})
}

func (s *Store) killUnit(tx *gorm.DB, u unitRunRecord) error {
	st := jobrun.JobState(u.State)
	if _, err := jobrun.Transition(u.Path, st, jobrun.StateKilled, jobrun.CauseKill); err != nil {
		return err
	}
	if st == jobrun.StateQueued || st.IsPending() {
		now := s.now()
		return s.setUnitState(tx, u, jobrun.StateKilled, map[string]any{"ended_at": now, "held": false, "reason": "killed by an operator before it started"})
	}
	if u.KillRequested {
		return nil
	}
	return guarded(tx.Model(&unitRunRecord{}).Where("id = ? AND state = ?", u.ID, u.State).
		Updates(map[string]any{"kill_requested": true, "updated_at": s.now()}), fmt.Sprintf("request kill of unit %s", u.Path))
}

// KillGeneration kills a generation that has started (running, or held
// while running): it ends as killed at once; units in flight get a kill
// request, queued ones are killed, and units that had not started are
// bypassed (the generation will run nothing more).
func (s *Store) KillGeneration(ctx context.Context, id string, a AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		g, err := s.lockedGeneration(tx, id)
		if err != nil {
			return err
		}
		if gs := jobrun.GenState(g.State); gs.IsPending() && !jobrun.CanKillGen(gs, g.StartedAt != nil) {
			return fmt.Errorf("cannot kill generation %q: it has not started (cancel it instead): %w", id, fault.ErrConflict)
		}
		to, err := jobrun.TransitionGen(id, jobrun.GenState(g.State), jobrun.GenKilled, jobrun.CauseKill)
		if err != nil {
			return err
		}
		var units []unitRunRecord
		if err := s.lockForUpdate(tx.Where("generation_id = ?", id), false).Order("path").Find(&units).Error; err != nil {
			return translate(err, "read units of generation "+id)
		}
		now := s.now()
		for _, u := range units {
			st := jobrun.JobState(u.State)
			switch {
			case st.IsActive():
				if err := s.killUnit(tx, u); err != nil {
					return err
				}
			case st.IsPending() && jobrun.CanTransition(st, jobrun.StateBypassed, jobrun.CauseEvaluate):
				if err := s.setUnitState(tx, u, jobrun.StateBypassed, map[string]any{"ended_at": now, "reason": "generation killed"}); err != nil {
					return err
				}
			}
		}
		if err := s.setGenState(tx, g, to, map[string]any{"held": false, "ended_at": now}); err != nil {
			return err
		}
		return audit(tx, now, a)
	})
}

// RerunUnits applies a rerun plan (jobrun.PlanRerun) in one transaction:
// MarkEndedNormal units → ended normally (CauseMark), Reset units → waiting
// (CauseRerun) with their exit code, judgment result, flags, retry time,
// dispatch key, handle, claim and times cleared (the attempt they ran is
// kept in UnitAttempts) and Attempt kept; an ended
// generation goes back to running (CauseRerun). expect holds the unit
// states the plan was made from: a unit found in another state is a conflict.
func (s *Store) RerunUnits(ctx context.Context, genID string, p jobrun.RerunPlan, expect map[string]jobrun.JobState, a AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		g, err := s.lockedGeneration(tx, genID)
		if err != nil {
			return err
		}
		gs := jobrun.GenState(g.State)
		if gs.IsPending() && g.StartedAt == nil || gs == jobrun.GenSkipped || gs == jobrun.GenNotExecuted {
			return fmt.Errorf("cannot rerun generation %q: it %s: %w", genID, phraseGen(g.State), fault.ErrConflict)
		}
		now := s.now()
		move := func(path string, to jobrun.JobState, cause jobrun.Cause, extra map[string]any) error {
			u, err := s.lockedUnit(tx, genID, path)
			if err != nil {
				return err
			}
			if want, ok := expect[path]; ok && jobrun.JobState(u.State) != want {
				return fmt.Errorf("rerun generation %s: unit %q is now %s (was %s when the rerun was planned): %w", genID, path, u.State, want, fault.ErrConflict)
			}
			if _, err := jobrun.Transition(path, jobrun.JobState(u.State), to, cause); err != nil {
				return err
			}
			return s.setUnitState(tx, u, to, extra)
		}
		for _, path := range p.MarkEndedNormal {
			if err := move(path, jobrun.StateEndedNormal, jobrun.CauseMark, map[string]any{"reason": "treated as ended normally by a rerun after the abnormal units"}); err != nil {
				return err
			}
		}
		for _, path := range p.Reset {
			if err := archiveAttempts(tx, "generation_id = ? AND path = ?", genID, path); err != nil {
				return err
			}
			if err := move(path, jobrun.StateWaiting, jobrun.CauseRerun, map[string]any{
				"held": false, "exit_code": nil, "judgment": nil, "reason": "", "start_delayed": false, "end_delayed": false,
				"dispatch_key": "", "handle": "", "claimed_by": "", "claim_expires": nil, "not_before": nil, "queued_at": nil,
				"started_at": nil, "ended_at": nil, "kill_requested": false, "cancel_cause": "", "tries": 0, "start_errors": 0,
			}); err != nil {
				return err
			}
		}
		if gs.Ran() {
			to, err := jobrun.TransitionGen(genID, gs, jobrun.GenRunning, jobrun.CauseRerun)
			if err != nil {
				return err
			}
			if err := s.setGenState(tx, g, to, map[string]any{"ended_at": nil, "end_delayed": false}); err != nil {
				return err
			}
		}
		return audit(tx, now, a)
	})
}

// MarkUnit marks a unit ended normally or bypassed (CauseMark). genTo, when
// set, is the generation's end state judged again after the mark (only
// applied to an ended generation).
func (s *Store) MarkUnit(ctx context.Context, genID, path string, to jobrun.JobState, genTo jobrun.GenState, a AuditEntry) error {
	if to != jobrun.StateEndedNormal && to != jobrun.StateBypassed {
		return fmt.Errorf("mark unit %q as %q: want ended_normal or bypassed: %w", path, to, fault.ErrInvalid)
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		g, err := s.lockedGeneration(tx, genID)
		if err != nil {
			return err
		}
		u, err := s.lockedUnit(tx, genID, path)
		if err != nil {
			return err
		}
		if _, err := jobrun.Transition(path, jobrun.JobState(u.State), to, jobrun.CauseMark); err != nil {
			return err
		}
		now := s.now()
		extra := map[string]any{"held": false, "reason": "marked " + string(to) + " by an operator"}
		if u.EndedAt == nil {
			extra["ended_at"] = now
		}
		if err := s.setUnitState(tx, u, to, extra); err != nil {
			return err
		}
		gs := jobrun.GenState(g.State)
		if genTo != "" && gs.Ran() && genTo != gs {
			if _, err := jobrun.TransitionGen(genID, gs, genTo, jobrun.CauseMark); err != nil {
				return err
			}
			if err := s.setGenState(tx, g, genTo, nil); err != nil {
				return err
			}
		}
		return audit(tx, now, a)
	})
}

// RetimeGeneration changes the start time of a generation that has not
// started and marks it re-timed, so re-plans leave it alone.
func (s *Store) RetimeGeneration(ctx context.Context, id string, at time.Time, a AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		g, err := s.lockedGeneration(tx, id)
		if err != nil {
			return err
		}
		if !jobrun.GenState(g.State).IsPending() || g.StartedAt != nil {
			return fmt.Errorf("cannot change the start time of generation %q: it %s: %w", id, phraseGen(g.State), fault.ErrConflict)
		}
		if err := guarded(tx.Model(&generationRecord{}).Where("id = ? AND state = ?", id, g.State).
			Updates(map[string]any{"scheduled_at": at.UTC(), "retimed": true, "updated_at": s.now()}), "re-time generation "+id); err != nil {
			return err
		}
		return audit(tx, s.now(), a)
	})
}

// CancelGeneration ends a generation that has not started as not executed.
func (s *Store) CancelGeneration(ctx context.Context, id, reason string, a AuditEntry) error {
	return s.tx(ctx, func(tx *gorm.DB) error {
		g, err := s.lockedGeneration(tx, id)
		if err != nil {
			return err
		}
		if g.StartedAt != nil {
			return fmt.Errorf("cannot cancel generation %q: it has started (kill it instead): %w", id, fault.ErrConflict)
		}
		to, err := jobrun.TransitionGen(id, jobrun.GenState(g.State), jobrun.GenNotExecuted, jobrun.CauseCancel)
		if err != nil {
			return err
		}
		now := s.now()
		if err := s.setGenState(tx, g, to, map[string]any{"held": false, "reason": reason, "ended_at": now}); err != nil {
			return err
		}
		return audit(tx, now, a)
	})
}

// CreateGeneration creates one generation (run now) and its audit entry in
// one transaction. A generation with the same identity is a conflict.
func (s *Store) CreateGeneration(ctx context.Context, g Generation, a AuditEntry) (Generation, error) {
	var out Generation
	err := s.tx(ctx, func(tx *gorm.DB) error {
		created, err := insertGenerations(tx, s.now(), []Generation{g})
		if err != nil {
			return err
		}
		if len(created) != 1 {
			return fmt.Errorf("create generation of %s on %s (rule %s, %s): it already exists: %w", g.Jobnet, g.BusinessDate, g.Rule, g.StartClock, fault.ErrConflict)
		}
		out = created[0]
		if a.Target == "" {
			a.Target = "run/" + out.ID
		}
		return audit(tx, s.now(), a)
	})
	return out, err
}

// phraseGen says what a generation state means in an error.
func phraseGen(state string) string {
	switch jobrun.GenState(state) {
	case jobrun.GenPlanned, jobrun.GenWaiting:
		return "has not started"
	case jobrun.GenHeld:
		return "is held"
	case jobrun.GenRunning:
		return "is running"
	case jobrun.GenSkipped:
		return "was skipped"
	case jobrun.GenNotExecuted:
		return "was cancelled (not executed)"
	}
	return "ended (" + state + ")"
}
