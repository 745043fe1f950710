package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/koyomi-dev/koyomi/internal/alert"
)

// AlertEventState is where an outbox event stands.
type AlertEventState string

const (
	// AlertEventPending: written with its state change, not yet routed.
	AlertEventPending AlertEventState = "pending"
	// AlertEventRouted: matched against the rules; deliveries exist for it.
	AlertEventRouted AlertEventState = "routed"
)

type alertEventRecord struct {
	ID        int64 `gorm:"primaryKey"`
	Kind      string
	RunID     string
	Jobnet    string
	Unit      string
	Body      string
	State     string
	CreatedAt time.Time
	RoutedAt  *time.Time
}

func (alertEventRecord) TableName() string { return "alert_events" }

// StoredEvent is an outbox event with its id.
type StoredEvent struct {
	ID    int64
	Event alert.Event
}

// enqueueEvents writes alert events inside the caller's transaction, so an
// event exists exactly when the state change that caused it committed.
func enqueueEvents(tx *gorm.DB, now time.Time, evs []alert.Event) error {
	if len(evs) == 0 {
		return nil
	}
	recs := make([]alertEventRecord, len(evs))
	for i, e := range evs {
		if e.At.IsZero() {
			e.At = now
		}
		body, err := json.Marshal(e)
		if err != nil {
			return fmt.Errorf("encode alert event: %w", err)
		}
		recs[i] = alertEventRecord{Kind: string(e.Kind), RunID: e.RunID, Jobnet: e.Jobnet, Unit: e.Job, Body: string(body), State: string(AlertEventPending), CreatedAt: now}
	}
	return translate(tx.Create(&recs).Error, "write alert events")
}

// EnqueueEvents writes alert events on their own (for events that have no
// state change of their own, such as a leader change or a test alert).
func (s *Store) EnqueueEvents(ctx context.Context, evs []alert.Event) error {
	return enqueueEvents(s.db.WithContext(ctx), s.now(), evs)
}

// PendingEvents returns up to limit unrouted events, oldest first.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]StoredEvent, error) {
	var recs []alertEventRecord
	if err := s.db.WithContext(ctx).Where("state = ?", AlertEventPending).Order("id").Limit(limit).Find(&recs).Error; err != nil {
		return nil, translate(err, "read alert events")
	}
	out := make([]StoredEvent, 0, len(recs))
	for _, r := range recs {
		var e alert.Event
		if err := json.Unmarshal([]byte(r.Body), &e); err != nil {
			return nil, fmt.Errorf("decode alert event %d: %w", r.ID, err)
		}
		out = append(out, StoredEvent{ID: r.ID, Event: e})
	}
	return out, nil
}
