package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
)

// RuleManual is the rule name of generations an operator started with "run now".
const RuleManual = "manual"

// GenerationID returns the id of the generation with the given identity:
// the business date and 10 hex digits of a hash of the identity
// ("20260401-3fa9c2d1e0"). It is deterministic, so planning the same run
// twice names the same generation.
func GenerationID(jobnetID int64, date calendar.Date, rule string, clock calendar.ClockTime) string {
	sum := sha256.Sum256([]byte(strconv.FormatInt(jobnetID, 10) + "\x00" + date.String() + "\x00" + rule + "\x00" + strconv.Itoa(int(clock))))
	y, m, d := date.Civil()
	return fmt.Sprintf("%04d%02d%02d-%s", y, int(m), d, hex.EncodeToString(sum[:5]))
}

func cmpOrOverlap(o jobnet.Overlap) jobnet.Overlap {
	if o == "" {
		return jobnet.OverlapWait
	}
	return o
}

// InsertGeneration creates a generation unless one with the same identity
// (jobnet, business date, rule, start clock) exists; then it changes nothing
// and returns nil. An empty ID is derived with GenerationID; empty State is
// waiting.
func (s *Store) InsertGeneration(ctx context.Context, g Generation) error {
	_, err := s.InsertGenerations(ctx, []Generation{g})
	return err
}

// InsertGenerations creates the generations that do not exist yet (by their
// unique identity) in one transaction and returns those it created, with
// their ids.
func (s *Store) InsertGenerations(ctx context.Context, gs []Generation) ([]Generation, error) {
	var created []Generation
	err := s.tx(ctx, func(tx *gorm.DB) error {
		created = created[:0]
		var err error
		created, err = insertGenerations(tx, s.now(), gs)
		if err != nil || len(created) == 0 {
			return err
		}
		return notifyRunners(tx, NotifyChanged)
	})
	return created, err
}

func insertGenerations(tx *gorm.DB, now time.Time, gs []Generation) ([]Generation, error) {
	// A jobnet deleted, renamed or moved since the plan was made: no
	// generation for a deleted one, the current path for a moved one. The
	// share lock orders this after a delete or move under way.
	var ids []int64
	seen := map[int64]bool{}
	for _, g := range gs {
		if !seen[g.JobnetID] {
			seen[g.JobnetID] = true
			ids = append(ids, g.JobnetID)
		}
	}
	var live []jobnetRecord
	q := tx.Select("id", "folder", "name").Where("id IN ? AND deleted_at IS NULL", ids)
	if tx.Dialector.Name() == "postgres" {
		q = q.Clauses(clause.Locking{Strength: "SHARE"})
	}
	if err := q.Find(&live).Error; err != nil {
		return nil, translate(err, "read the jobnets of new generations")
	}
	current := make(map[int64]jobnetRecord, len(live))
	for _, r := range live {
		current[r.ID] = r
	}
	var created []Generation
	for _, g := range gs {
		r, ok := current[g.JobnetID]
		if !ok {
			continue
		}
		g.Folder, g.Jobnet = r.Folder, r.Folder+"/"+r.Name
		if g.ID == "" {
			g.ID = GenerationID(g.JobnetID, g.BusinessDate, g.Rule, g.StartClock)
		}
		if g.State == "" {
			g.State = jobrun.GenWaiting
		}
		g.Overlap = cmpOrOverlap(g.Overlap)
		g.CreatedAt, g.UpdatedAt = now, now
		rec, err := generationToRecord(g)
		if err != nil {
			return nil, fmt.Errorf("generation %s: %w", g.ID, err)
		}
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rec)
		if res.Error != nil {
			return nil, translate(res.Error, fmt.Sprintf("create generation of %s on %s", g.Jobnet, g.BusinessDate))
		}
		if res.RowsAffected == 1 {
			created = append(created, g)
		}
	}
	return created, nil
}

// PlanUpdate moves an unstarted generation to the current plan: its start
// instant, the jobnet version it pins and its explanation.
type PlanUpdate struct {
	ID            string
	ScheduledAt   time.Time
	JobnetVersion int
	Explanation   string
	Overlap       jobnet.Overlap
}

// unstartedStates are the states a re-plan may change.
var unstartedStates = []string{string(jobrun.GenPlanned), string(jobrun.GenWaiting)}

// UpdatePlannedGeneration applies a re-plan to a generation that is still
// planned or waiting and was not re-timed by an operator (a guarded update:
// otherwise fault.ErrConflict and nothing changes).
func (s *Store) UpdatePlannedGeneration(ctx context.Context, u PlanUpdate) error {
	res := s.db.WithContext(ctx).Model(&generationRecord{}).
		Where("id = ? AND state IN ? AND retimed = ?", u.ID, unstartedStates, false).
		Updates(map[string]any{"scheduled_at": u.ScheduledAt.UTC(), "jobnet_version": u.JobnetVersion,
			"explanation": u.Explanation, "overlap": string(cmpOrOverlap(u.Overlap)), "updated_at": s.now()})
	if res.Error != nil {
		return translate(res.Error, "re-plan generation "+u.ID)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("re-plan generation %s: it started, is held or was re-timed meanwhile: %w", u.ID, fault.ErrConflict)
	}
	return nil
}

// EndUnstarted ends a generation that has not started as skipped or not
// executed, with a reason, in a guarded update: only from planned or
// waiting (and, with onlyPlanned, only if no operator re-timed it). The
// scheduler uses it for re-plans (not executed) and for the catch-up and
// overlap policies (skipped).
func (s *Store) EndUnstarted(ctx context.Context, id string, to jobrun.GenState, reason string, onlyPlanned bool) error {
	if to != jobrun.GenSkipped && to != jobrun.GenNotExecuted {
		return fmt.Errorf("end generation %s as %s: want skipped or not_executed: %w", id, to, fault.ErrInvalid)
	}
	q := s.db.WithContext(ctx).Model(&generationRecord{}).Where("id = ? AND state IN ?", id, unstartedStates)
	if onlyPlanned {
		q = q.Where("retimed = ?", false)
	}
	now := s.now()
	res := q.Updates(map[string]any{"state": string(to), "reason": reason, "ended_at": now, "updated_at": now})
	if res.Error != nil {
		return translate(res.Error, "end generation "+id)
	}
	if res.RowsAffected != 1 {
		return fmt.Errorf("end generation %s as %s: it is no longer planned or waiting: %w", id, to, fault.ErrConflict)
	}
	return nil
}

// UnstartedGenerations returns the generations of business dates from..to
// that are planned or waiting, in scheduled order (the re-plan's input).
func (s *Store) UnstartedGenerations(ctx context.Context, from, to calendar.Date) ([]Generation, error) {
	var recs []generationRecord
	err := s.db.WithContext(ctx).Where("business_date >= ? AND business_date <= ? AND state IN ?", from.String(), to.String(), unstartedStates).
		Order("scheduled_at, jobnet_path, id").Find(&recs).Error
	if err != nil {
		return nil, translate(err, "list unstarted generations")
	}
	return toGenerations(recs)
}

// The SQL of "another generation of the same jobnet, scheduled earlier, has
// started and not ended" (the overlap condition). p is that generation, g the
// one in question.
const previousRunningSQL = `EXISTS (SELECT 1 FROM generations p WHERE p.jobnet_id = generations.jobnet_id AND p.id <> generations.id
 AND (p.scheduled_at < generations.scheduled_at OR (p.scheduled_at = generations.scheduled_at AND p.id < generations.id))
 AND p.started_at IS NOT NULL AND p.ended_at IS NULL)`

// DueGenerations returns up to limit waiting generations whose start time
// has come (scheduled_at ≤ now), oldest first, that the overlap policy lets
// start now: policy concurrent always; wait and skip only while no earlier
// generation of the same jobnet has started and not ended (started_at set,
// ended_at empty). A wait generation stays waiting until its predecessor
// ends; a skip generation is ended as skipped by the scheduler
// (SkipOverlapped). It ignores catch-up; the runner uses
// StartableGenerations.
func (s *Store) DueGenerations(ctx context.Context, now time.Time, limit int) ([]Generation, error) {
	return s.dueGenerations(ctx, now, 0, limit)
}

// StartableGenerations is DueGenerations without the generations that are
// overdue by more than grace (scheduled_at < now-grace) and whose catch-up
// nobody decided yet (catchup_checked false, not re-timed, not manual):
// those wait for the scheduler's leader, which skips them or keeps them
// (KeepMissed). The runner starts what this returns (waiting → running,
// guarded).
func (s *Store) StartableGenerations(ctx context.Context, now time.Time, grace time.Duration, limit int) ([]Generation, error) {
	return s.dueGenerations(ctx, now, grace, limit)
}

func (s *Store) dueGenerations(ctx context.Context, now time.Time, grace time.Duration, limit int) ([]Generation, error) {
	q := s.db.WithContext(ctx).
		Where("state = ? AND scheduled_at <= ?", string(jobrun.GenWaiting), now.UTC()).
		Where("overlap = ? OR NOT "+previousRunningSQL, string(jobnet.OverlapConcurrent)).
		Order("scheduled_at, id")
	if grace > 0 {
		q = q.Where("scheduled_at >= ? OR catchup_checked = ? OR retimed = ? OR rule = ?", now.Add(-grace).UTC(), true, true, RuleManual)
	}
	if limit > 0 {
		q = q.Limit(limit)
	}
	var recs []generationRecord
	if err := q.Find(&recs).Error; err != nil {
		return nil, translate(err, "list due generations")
	}
	return toGenerations(recs)
}

// MarkSeenInTime records (catchup_checked) that a live runner saw the start
// time of waiting generations come: those scheduled within grace before
// now, and those an earlier generation of the same jobnet still holds back
// (overlap wait or skip). Neither kind is a missed run, so they start
// whenever they become due. It returns how many it marked.
func (s *Store) MarkSeenInTime(ctx context.Context, now time.Time, grace time.Duration) (int, error) {
	now = now.UTC()
	res := s.db.WithContext(ctx).Model(&generationRecord{}).
		Where("state = ? AND catchup_checked = ? AND scheduled_at <= ?", string(jobrun.GenWaiting), false, now).
		Where("scheduled_at >= ? OR (overlap <> ? AND "+previousRunningSQL+")", now.Add(-grace), string(jobnet.OverlapConcurrent)).
		Update("catchup_checked", true)
	if res.Error != nil {
		return 0, translate(res.Error, "mark generations seen in time")
	}
	return int(res.RowsAffected), nil
}

// KeepMissed records the catch-up decision of the scheduler's leader for
// missed generations its policy lets run (catchup_checked): the runner
// starts them now. Generations no longer waiting are left alone.
func (s *Store) KeepMissed(ctx context.Context, ids []string) error {
	for len(ids) > 0 {
		n := min(len(ids), 500)
		err := s.db.WithContext(ctx).Model(&generationRecord{}).Where("id IN ? AND state = ?", ids[:n], string(jobrun.GenWaiting)).
			Update("catchup_checked", true).Error
		if err != nil {
			return translate(err, "keep missed generations")
		}
		ids = ids[n:]
	}
	return nil
}

// SkipOverlapped ends as skipped every waiting generation with the skip
// overlap policy whose start time has come while an earlier generation of
// the same jobnet had started and had not ended at that time (JP1's
// "skip when the previous generation still runs"), and returns them.
func (s *Store) SkipOverlapped(ctx context.Context, now time.Time) ([]Generation, error) {
	const overlappedAtStart = `EXISTS (SELECT 1 FROM generations p WHERE p.jobnet_id = generations.jobnet_id AND p.id <> generations.id
 AND p.scheduled_at < generations.scheduled_at AND p.started_at IS NOT NULL AND p.started_at <= generations.scheduled_at
 AND (p.ended_at IS NULL OR p.ended_at > generations.scheduled_at))`
	var recs []generationRecord
	err := s.db.WithContext(ctx).
		Where("state = ? AND overlap = ? AND scheduled_at <= ?", string(jobrun.GenWaiting), string(jobnet.OverlapSkip), now.UTC()).
		Where(overlappedAtStart).Order("scheduled_at, id").Find(&recs).Error
	if err != nil {
		return nil, translate(err, "find overlapped generations")
	}
	gs, err := toGenerations(recs)
	if err != nil {
		return nil, err
	}
	var out []Generation
	for _, g := range gs {
		err := s.EndUnstarted(ctx, g.ID, jobrun.GenSkipped, "overlap policy skip: the previous generation was still running at the start time", false)
		if err != nil {
			if errors.Is(err, fault.ErrConflict) {
				continue // started or changed meanwhile
			}
			return out, err
		}
		g.State, g.Reason = jobrun.GenSkipped, "overlap policy skip: the previous generation was still running at the start time"
		out = append(out, g)
	}
	return out, nil
}

// OverdueGenerations returns the waiting generations whose start time is
// before `before` and that no running predecessor holds back (wait and
// skip policies): the ones nobody started although they could have started,
// because Koyomi was down or they were planned after their time, and whose
// catch-up is not decided yet (catchup_checked). The scheduler applies the
// catch-up policy to them.
func (s *Store) OverdueGenerations(ctx context.Context, before time.Time) ([]Generation, error) {
	var recs []generationRecord
	err := s.db.WithContext(ctx).
		Where("state = ? AND scheduled_at < ? AND catchup_checked = ?", string(jobrun.GenWaiting), before.UTC(), false).
		Where("overlap = ? OR NOT "+previousRunningSQL, string(jobnet.OverlapConcurrent)).
		Order("scheduled_at, id").Find(&recs).Error
	if err != nil {
		return nil, translate(err, "list overdue generations")
	}
	return toGenerations(recs)
}

// DefinitionVersions is a fingerprint of the current definitions: it changes
// whenever a jobnet, calendar or folder changes (the scheduler re-plans then).
func (s *Store) DefinitionVersions(ctx context.Context) (string, error) {
	type row struct {
		N int64
		V int64
		U *string
	}
	h := sha256.New()
	for _, q := range []string{
		"SELECT COUNT(*) AS n, COALESCE(SUM(current_version), 0) AS v, MAX(updated_at) AS u FROM jobnets WHERE deleted_at IS NULL",
		"SELECT COUNT(*) AS n, COALESCE(SUM(version), 0) AS v, MAX(updated_at) AS u FROM calendars",
		"SELECT COUNT(*) AS n, 0 AS v, MAX(updated_at) AS u FROM folders WHERE deleted_at IS NULL",
	} {
		var r row
		if err := s.db.WithContext(ctx).Raw(q).Scan(&r).Error; err != nil {
			return "", translate(err, "read definition versions")
		}
		u := ""
		if r.U != nil {
			u = *r.U
		}
		fmt.Fprintf(h, "%d/%d/%s;", r.N, r.V, u)
	}
	return hex.EncodeToString(h.Sum(nil)[:8]), nil
}

func toGenerations(recs []generationRecord) ([]Generation, error) {
	out := make([]Generation, 0, len(recs))
	for _, r := range recs {
		g, err := r.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, nil
}

// UnitRunByID returns one unit run.
func (s *Store) UnitRunByID(ctx context.Context, id int64) (UnitRun, error) {
	var r unitRunRecord
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return UnitRun{}, translate(err, fmt.Sprintf("unit run %d", id))
	}
	return r.domain()
}
