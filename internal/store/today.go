package store

import (
	"context"
	"strings"

	"gorm.io/gorm"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
)

// DayQuery selects the generations of one business date for the operations
// pages: filters by folder, states and a text (a substring of the jobnet
// path or the generation id), and a page (Offset, Limit).
type DayQuery struct {
	Date   calendar.Date
	Folder string
	// Jobnets, when not nil, keeps the generations of these jobnets
	// (folder/name) only; an empty non-nil list keeps none.
	Jobnets []string
	States  []jobrun.GenState
	Text    string
	Offset  int
	Limit   int
}

func (q DayQuery) where(db *gorm.DB) *gorm.DB {
	db = db.Where("business_date = ?", q.Date.String())
	db = jobnetsIn(db, q.Jobnets)
	if q.Folder != "" {
		db = db.Where("(folder = ? OR folder LIKE ? ESCAPE '\\')", q.Folder, likePrefix(q.Folder+"/"))
	}
	if len(q.States) > 0 {
		ss := make([]string, len(q.States))
		for i, st := range q.States {
			ss[i] = string(st)
		}
		db = db.Where("state IN ?", ss)
	}
	if t := strings.TrimSpace(q.Text); t != "" {
		pat := "%" + escapeLike(strings.ToLower(t)) + "%"
		db = db.Where("(LOWER(jobnet_path) LIKE ? ESCAPE '\\' OR id LIKE ? ESCAPE '\\')", pat, pat)
	}
	return db
}

// jobnetsIn keeps the rows of the jobnets listed (nil: no filter; empty:
// none).
func jobnetsIn(db *gorm.DB, jobnets []string) *gorm.DB {
	switch {
	case jobnets == nil:
		return db
	case len(jobnets) == 0:
		return db.Where("1 = 0")
	}
	return db.Where("jobnet_path IN ?", jobnets)
}

func likePrefix(s string) string { return escapeLike(s) + "%" }

// StateCount is how many generations (or units) are in one state.
type StateCount struct {
	State string
	N     int
}

// DayCounts counts the generations of a business date by state (the other
// filters of q apply; paging does not).
func (s *Store) DayCounts(ctx context.Context, q DayQuery) ([]StateCount, error) {
	var rows []StateCount
	db := q.where(s.db.WithContext(ctx).Model(&generationRecord{}))
	if err := db.Select("state, COUNT(*) AS n").Group("state").Order("state").Scan(&rows).Error; err != nil {
		return nil, translate(err, "count generations of "+q.Date.String())
	}
	return rows, nil
}

// DayGenerations returns one page of the generations of a business date by
// scheduled time, and how many match in all.
func (s *Store) DayGenerations(ctx context.Context, q DayQuery) ([]Generation, int, error) {
	var total int64
	if err := q.where(s.db.WithContext(ctx).Model(&generationRecord{})).Count(&total).Error; err != nil {
		return nil, 0, translate(err, "count generations of "+q.Date.String())
	}
	db := q.where(s.db.WithContext(ctx)).Order("scheduled_at, jobnet_path, id")
	if q.Offset > 0 {
		db = db.Offset(q.Offset)
	}
	if q.Limit > 0 {
		db = db.Limit(q.Limit)
	}
	var recs []generationRecord
	if err := db.Find(&recs).Error; err != nil {
		return nil, 0, translate(err, "list generations of "+q.Date.String())
	}
	gs, err := toGenerations(recs)
	return gs, int(total), err
}

// attentionGenStates are the generation states an operator must look at.
var attentionGenStates = []string{string(jobrun.GenEndedAbnormal), string(jobrun.GenKilled), string(jobrun.GenHeld)}

// attentionUnitStates are the unit states an operator must look at.
var attentionUnitStates = []string{string(jobrun.StateEndedAbnormal), string(jobrun.StateFailedToStart), string(jobrun.StateUnknownEnd),
	string(jobrun.StateKilled), string(jobrun.StateHeld)}

// DayAttention returns the generations of a business date (filters of q
// apply, paging does not; at most limit) that need an operator: ended
// abnormally or killed, held, start or end delayed, or with a unit that
// failed, is held or is delayed. Also the problem units of those generations.
func (s *Store) DayAttention(ctx context.Context, q DayQuery, limit int) ([]Generation, []UnitRun, error) {
	sub := s.db.WithContext(ctx).Model(&unitRunRecord{}).Select("generation_id").
		Where("(state IN ? OR held = ? OR start_delayed = ? OR end_delayed = ?)", attentionUnitStates, true, true, true)
	db := q.where(s.db.WithContext(ctx)).
		Where("(state IN ? OR held = ? OR start_delayed = ? OR end_delayed = ? OR id IN (?))", attentionGenStates, true, true, true, sub).
		Order("scheduled_at, jobnet_path, id")
	if limit > 0 {
		db = db.Limit(limit)
	}
	var recs []generationRecord
	if err := db.Find(&recs).Error; err != nil {
		return nil, nil, translate(err, "list generations needing attention")
	}
	gs, err := toGenerations(recs)
	if err != nil || len(gs) == 0 {
		return gs, nil, err
	}
	ids := make([]string, len(gs))
	for i, g := range gs {
		ids[i] = g.ID
	}
	var urecs []unitRunRecord
	if err := s.db.WithContext(ctx).Where("generation_id IN ?", ids).
		Where("(state IN ? OR held = ? OR start_delayed = ? OR end_delayed = ?)", attentionUnitStates, true, true, true).
		Order("generation_id, path").Find(&urecs).Error; err != nil {
		return nil, nil, translate(err, "list units needing attention")
	}
	us := make([]UnitRun, 0, len(urecs))
	for _, r := range urecs {
		u, err := r.domain()
		if err != nil {
			return nil, nil, err
		}
		us = append(us, u)
	}
	return gs, us, nil
}

// DateStateCount is how many generations of a business date are in a state.
type DateStateCount struct {
	Date  calendar.Date
	State jobrun.GenState
	N     int
}

// RangeCounts counts generations by business date and state over [from, to]
// (of the jobnets listed; nil: all).
func (s *Store) RangeCounts(ctx context.Context, from, to calendar.Date, jobnets []string) ([]DateStateCount, error) {
	var rows []struct {
		BusinessDate string
		State        string
		N            int
	}
	if err := jobnetsIn(s.db.WithContext(ctx).Model(&generationRecord{}), jobnets).Select("business_date, state, COUNT(*) AS n").
		Where("business_date >= ? AND business_date <= ?", from.String(), to.String()).
		Group("business_date, state").Order("business_date, state").Scan(&rows).Error; err != nil {
		return nil, translate(err, "count generations by date")
	}
	out := make([]DateStateCount, 0, len(rows))
	for _, r := range rows {
		d, err := calendar.ParseDate(r.BusinessDate)
		if err != nil {
			return nil, err
		}
		out = append(out, DateStateCount{Date: d, State: jobrun.GenState(r.State), N: r.N})
	}
	return out, nil
}
