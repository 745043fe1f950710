package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
)

// unendedGenStates are the generation states before an end.
var unendedGenStates = []string{string(jobrun.GenPlanned), string(jobrun.GenWaiting), string(jobrun.GenHeld), string(jobrun.GenRunning)}

// ForecastDates returns the business dates that have a generation not ended
// yet, or one that ended at or after endedSince, oldest first.
func (s *Store) ForecastDates(ctx context.Context, endedSince time.Time) ([]calendar.Date, error) {
	var ds []string
	if err := s.db.WithContext(ctx).Model(&generationRecord{}).Distinct("business_date").
		Where("state IN ? OR ended_at >= ?", unendedGenStates, endedSince.UTC()).
		Order("business_date").Pluck("business_date", &ds).Error; err != nil {
		return nil, translate(err, "list business dates to forecast")
	}
	out := make([]calendar.Date, 0, len(ds))
	for _, x := range ds {
		d, err := calendar.ParseDate(x)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// DayRuns returns every generation of a business date by scheduled time
// and their units by generation id.
func (s *Store) DayRuns(ctx context.Context, date calendar.Date) ([]Generation, map[string][]UnitRun, error) {
	var recs []generationRecord
	if err := s.db.WithContext(ctx).Where("business_date = ?", date.String()).Order("scheduled_at, jobnet_path, id").
		Find(&recs).Error; err != nil {
		return nil, nil, translate(err, "list generations of "+date.String())
	}
	gs, err := toGenerations(recs)
	if err != nil || len(gs) == 0 {
		return gs, nil, err
	}
	var urecs []unitRunRecord
	sub := s.db.WithContext(ctx).Model(&generationRecord{}).Select("id").Where("business_date = ?", date.String())
	if err := s.db.WithContext(ctx).Where("generation_id IN (?)", sub).Order("generation_id, path").Find(&urecs).Error; err != nil {
		return nil, nil, translate(err, "list units of "+date.String())
	}
	units := make(map[string][]UnitRun, len(gs))
	for _, r := range urecs {
		u, err := r.domain()
		if err != nil {
			return nil, nil, err
		}
		units[u.GenerationID] = append(units[u.GenerationID], u)
	}
	return gs, units, nil
}

// DurationSample is one successful run of a unit.
type DurationSample struct {
	GenerationID string
	BusinessDate calendar.Date
	Path         string
	StartedAt    time.Time
	EndedAt      time.Time
}

// Duration is how long the run took.
func (d DurationSample) Duration() time.Duration { return d.EndedAt.Sub(d.StartedAt) }

// UnitDurations returns the units of a jobnet's generations with business
// dates in [from, before) that ended normally or with warning, newest
// business date (then newest end) first.
func (s *Store) UnitDurations(ctx context.Context, jobnetID int64, from, before calendar.Date) ([]DurationSample, error) {
	var rows []struct {
		GenerationID string
		BusinessDate string
		Path         string
		StartedAt    time.Time
		EndedAt      time.Time
	}
	err := s.db.WithContext(ctx).Table("unit_runs AS u").
		Select("u.generation_id, g.business_date, u.path, u.started_at, u.ended_at").
		Joins("JOIN generations AS g ON g.id = u.generation_id").
		Where("g.jobnet_id = ? AND g.business_date >= ? AND g.business_date < ?", jobnetID, from.String(), before.String()).
		Where("u.state IN ? AND u.started_at IS NOT NULL AND u.ended_at IS NOT NULL",
			[]string{string(jobrun.StateEndedNormal), string(jobrun.StateEndedWarning)}).
		Order("g.business_date DESC, u.ended_at DESC").Scan(&rows).Error
	if err != nil {
		return nil, translate(err, fmt.Sprintf("read run history of jobnet %d", jobnetID))
	}
	out := make([]DurationSample, 0, len(rows))
	for _, r := range rows {
		d, err := calendar.ParseDate(r.BusinessDate)
		if err != nil {
			return nil, err
		}
		out = append(out, DurationSample{GenerationID: r.GenerationID, BusinessDate: d, Path: r.Path, StartedAt: r.StartedAt, EndedAt: r.EndedAt})
	}
	return out, nil
}

// DeadlineAlert is a deadline event already raised.
type DeadlineAlert struct {
	GenerationID string
	// Unit is the unit path, "" for the generation.
	Unit         string
	Kind         alert.EventKind
	Deadline     time.Time
	PredictedEnd time.Time
	RaisedAt     time.Time
}

type deadlineAlertRecord struct {
	GenerationID string `gorm:"primaryKey"`
	Unit         string `gorm:"primaryKey"`
	Kind         string `gorm:"primaryKey"`
	Deadline     time.Time
	PredictedEnd time.Time
	RaisedAt     time.Time
}

func (deadlineAlertRecord) TableName() string { return "deadline_alerts" }

// RaiseDeadlineAlert records a deadline event and writes it to the alert
// outbox in one transaction, unless the same generation, unit and kind was
// raised before: then nothing is written and raised is false.
func (s *Store) RaiseDeadlineAlert(ctx context.Context, a DeadlineAlert, ev alert.Event) (raised bool, err error) {
	now := s.now()
	rec := deadlineAlertRecord{GenerationID: a.GenerationID, Unit: a.Unit, Kind: string(a.Kind), Deadline: a.Deadline.UTC(),
		PredictedEnd: a.PredictedEnd.UTC(), RaisedAt: now}
	err = s.tx(ctx, func(tx *gorm.DB) error {
		res := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rec)
		if res.Error != nil {
			return translate(res.Error, fmt.Sprintf("record %s of generation %s", a.Kind, a.GenerationID))
		}
		if res.RowsAffected != 1 {
			return nil
		}
		raised = true
		return enqueueEvents(tx, now, []alert.Event{ev})
	})
	return raised, err
}

// DeadlineAlerts returns the deadline events raised for the generations.
func (s *Store) DeadlineAlerts(ctx context.Context, genIDs []string) ([]DeadlineAlert, error) {
	if len(genIDs) == 0 {
		return nil, nil
	}
	var recs []deadlineAlertRecord
	if err := s.db.WithContext(ctx).Where("generation_id IN ?", genIDs).Order("generation_id, unit, kind").Find(&recs).Error; err != nil {
		return nil, translate(err, "read deadline alerts")
	}
	out := make([]DeadlineAlert, len(recs))
	for i, r := range recs {
		out[i] = DeadlineAlert{GenerationID: r.GenerationID, Unit: r.Unit, Kind: alert.EventKind(r.Kind), Deadline: r.Deadline,
			PredictedEnd: r.PredictedEnd, RaisedAt: r.RaisedAt}
	}
	return out, nil
}
