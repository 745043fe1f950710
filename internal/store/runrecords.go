package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
)

// Generation is one execution of a root jobnet for a business date and a
// start time. Its identity (jobnet, business date, rule, start clock) is unique.
type Generation struct {
	ID            string
	JobnetID      int64
	JobnetVersion int
	Jobnet        string // folder/name
	Folder        string
	BusinessDate  calendar.Date
	Rule          string
	StartClock    calendar.ClockTime
	ScheduledAt   time.Time
	State         jobrun.GenState
	Held          bool
	Params        map[string]string
	Explanation   string
	StartDelayed  bool
	EndDelayed    bool
	StartedAt     *time.Time
	EndedAt       *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	// Retimed: an operator changed the start time; re-plans leave it alone.
	Retimed bool
	// Overlap is the jobnet's overlap policy when the generation was planned
	// (empty reads as plan.OverlapDefault).
	Overlap jobnet.Overlap
	// Reason says why the generation was skipped or not executed.
	Reason string
}

// UnitRun is one unit of a generation.
type UnitRun struct {
	ID           int64
	GenerationID string
	Path         string
	Kind         jobnet.UnitKind
	JobType      jobnet.JobType
	Pool         string
	State        jobrun.JobState
	Held         bool
	Attempt      int
	ExitCode     *int
	Judgment     *bool
	Reason       string
	StartDelayed bool
	EndDelayed   bool
	// DispatchKey is recorded before the executor is called (idempotency).
	DispatchKey string
	// Handle is set once the executor returned it.
	Handle       *dispatch.Handle
	ClaimedBy    string
	ClaimExpires *time.Time
	NotBefore    *time.Time
	QueuedAt     *time.Time
	StartedAt    *time.Time
	EndedAt      *time.Time
	UpdatedAt    time.Time
	// KillRequested: an operator asked to kill the unit; the runner cancels
	// it through its executor and records it killed.
	KillRequested bool
}

// Core returns the unit as the pure run engine sees it.
func (u UnitRun) Core() jobrun.UnitRun {
	r := jobrun.UnitRun{Path: u.Path, Kind: u.Kind, State: u.State, ExitCode: u.ExitCode, JudgmentResult: u.Judgment,
		Flags: jobrun.Flags{StartDelayed: u.StartDelayed, EndDelayed: u.EndDelayed}, Attempt: u.Attempt}
	if u.NotBefore != nil {
		r.NotBefore = *u.NotBefore
	}
	return r
}

type generationRecord struct {
	ID            string `gorm:"primaryKey"`
	JobnetID      int64
	JobnetVersion int
	JobnetPath    string
	Folder        string
	BusinessDate  string
	Rule          string
	StartClock    int
	ScheduledAt   time.Time
	State         string
	Held          bool
	Params        string
	Explanation   string
	StartDelayed  bool
	EndDelayed    bool
	StartedAt     *time.Time
	EndedAt       *time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
	Retimed       bool
	Overlap       string
	Reason        string
}

func (generationRecord) TableName() string { return "generations" }

func (r generationRecord) domain() (Generation, error) {
	d, err := calendar.ParseDate(r.BusinessDate)
	if err != nil {
		return Generation{}, fmt.Errorf("generation %s: %w", r.ID, err)
	}
	g := Generation{ID: r.ID, JobnetID: r.JobnetID, JobnetVersion: r.JobnetVersion, Jobnet: r.JobnetPath, Folder: r.Folder,
		BusinessDate: d, Rule: r.Rule, StartClock: calendar.ClockTime(r.StartClock), ScheduledAt: r.ScheduledAt,
		State: jobrun.GenState(r.State), Held: r.Held, Explanation: r.Explanation, StartDelayed: r.StartDelayed, EndDelayed: r.EndDelayed,
		StartedAt: r.StartedAt, EndedAt: r.EndedAt, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt,
		Retimed: r.Retimed, Overlap: jobnet.Overlap(r.Overlap), Reason: r.Reason}
	if r.Params != "" && r.Params != "{}" {
		if err := json.Unmarshal([]byte(r.Params), &g.Params); err != nil {
			return Generation{}, fmt.Errorf("generation %s params: %w", r.ID, err)
		}
	}
	return g, nil
}

func generationToRecord(g Generation) (generationRecord, error) {
	params := "{}"
	if len(g.Params) > 0 {
		b, err := json.Marshal(g.Params)
		if err != nil {
			return generationRecord{}, err
		}
		params = string(b)
	}
	return generationRecord{ID: g.ID, JobnetID: g.JobnetID, JobnetVersion: g.JobnetVersion, JobnetPath: g.Jobnet, Folder: g.Folder,
		BusinessDate: g.BusinessDate.String(), Rule: g.Rule, StartClock: int(g.StartClock), ScheduledAt: g.ScheduledAt.UTC(),
		State: string(g.State), Held: g.Held, Params: params, Explanation: g.Explanation, StartDelayed: g.StartDelayed, EndDelayed: g.EndDelayed,
		StartedAt: g.StartedAt, EndedAt: g.EndedAt, CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt,
		Retimed: g.Retimed, Overlap: string(cmpOrOverlap(g.Overlap)), Reason: g.Reason}, nil
}

type unitRunRecord struct {
	ID           int64 `gorm:"primaryKey"`
	GenerationID string
	Path         string
	Kind         string
	JobType      string
	Pool         string
	State        string
	Held         bool
	Attempt      int
	ExitCode     *int
	Judgment     *bool
	Reason       string
	StartDelayed bool
	EndDelayed   bool
	DispatchKey  string
	Handle       string
	ClaimedBy    string
	ClaimExpires *time.Time
	NotBefore    *time.Time
	QueuedAt     *time.Time
	StartedAt    *time.Time
	EndedAt      *time.Time
	UpdatedAt    time.Time
	// KillRequested maps the kill_requested column (migration 00004).
	KillRequested bool
}

func (unitRunRecord) TableName() string { return "unit_runs" }

func (r unitRunRecord) domain() (UnitRun, error) {
	u := UnitRun{ID: r.ID, GenerationID: r.GenerationID, Path: r.Path, Kind: jobnet.UnitKind(r.Kind), JobType: jobnet.JobType(r.JobType),
		Pool: r.Pool, State: jobrun.JobState(r.State), Held: r.Held, Attempt: r.Attempt, ExitCode: r.ExitCode, Judgment: r.Judgment,
		Reason: r.Reason, StartDelayed: r.StartDelayed, EndDelayed: r.EndDelayed, DispatchKey: r.DispatchKey, ClaimedBy: r.ClaimedBy,
		ClaimExpires: r.ClaimExpires, NotBefore: r.NotBefore, QueuedAt: r.QueuedAt, StartedAt: r.StartedAt, EndedAt: r.EndedAt, UpdatedAt: r.UpdatedAt,
		KillRequested: r.KillRequested}
	if r.Handle != "" {
		var h dispatch.Handle
		if err := json.Unmarshal([]byte(r.Handle), &h); err != nil {
			return UnitRun{}, fmt.Errorf("unit run %d handle: %w", r.ID, err)
		}
		u.Handle = &h
	}
	return u, nil
}

func encodeHandle(h *dispatch.Handle) (string, error) {
	if h == nil {
		return "", nil
	}
	b, err := json.Marshal(h)
	return string(b), err
}

// Generation returns one generation by id.
func (s *Store) Generation(ctx context.Context, id string) (Generation, error) {
	var r generationRecord
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return Generation{}, translate(err, fmt.Sprintf("generation %q", id))
	}
	return r.domain()
}

// UnitRuns returns the units of a generation in path order.
func (s *Store) UnitRuns(ctx context.Context, generationID string) ([]UnitRun, error) {
	var recs []unitRunRecord
	if err := s.db.WithContext(ctx).Where("generation_id = ?", generationID).Order("path").Find(&recs).Error; err != nil {
		return nil, translate(err, "list unit runs")
	}
	out := make([]UnitRun, 0, len(recs))
	for _, r := range recs {
		u, err := r.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, nil
}

// GenerationQuery filters generations.
type GenerationQuery struct {
	BusinessDate *calendar.Date
	From, To     *calendar.Date // business-date range, inclusive
	Jobnet       string         // folder/name
	Folder       string
	States       []jobrun.GenState
	Limit        int
}

// Generations lists generations by scheduled time.
func (s *Store) Generations(ctx context.Context, q GenerationQuery) ([]Generation, error) {
	db := s.db.WithContext(ctx).Order("scheduled_at, jobnet_path")
	if q.BusinessDate != nil {
		db = db.Where("business_date = ?", q.BusinessDate.String())
	}
	if q.From != nil {
		db = db.Where("business_date >= ?", q.From.String())
	}
	if q.To != nil {
		db = db.Where("business_date <= ?", q.To.String())
	}
	if q.Jobnet != "" {
		db = db.Where("jobnet_path = ?", q.Jobnet)
	}
	if q.Folder != "" {
		db = db.Where("folder = ?", q.Folder)
	}
	if len(q.States) > 0 {
		ss := make([]string, len(q.States))
		for i, st := range q.States {
			ss[i] = string(st)
		}
		db = db.Where("state IN ?", ss)
	}
	if q.Limit > 0 {
		db = db.Limit(q.Limit)
	}
	var recs []generationRecord
	if err := db.Find(&recs).Error; err != nil {
		return nil, translate(err, "list generations")
	}
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
