package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// CalendarUploadTTL is how long an uploaded calendar file waits for its
// import to be confirmed.
const CalendarUploadTTL = 24 * time.Hour

// CalendarUpload is a calendar file uploaded for import, kept between its
// preview and the confirmation.
type CalendarUpload struct {
	ID        string
	Calendar  string
	FileName  string
	Content   []byte
	CreatedBy string
	CreatedAt time.Time
}

type calendarUploadRecord struct {
	ID        string `gorm:"primaryKey"`
	Calendar  string
	FileName  string
	Content   []byte
	CreatedBy string
	CreatedAt time.Time
}

func (calendarUploadRecord) TableName() string { return "calendar_uploads" }

// SaveCalendarUpload stores an upload under a new random id and removes
// the uploads older than CalendarUploadTTL.
func (s *Store) SaveCalendarUpload(ctx context.Context, u CalendarUpload) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("calendar upload id: %w", err)
	}
	now := s.now()
	rec := calendarUploadRecord{ID: hex.EncodeToString(b[:]), Calendar: u.Calendar, FileName: u.FileName, Content: u.Content,
		CreatedBy: u.CreatedBy, CreatedAt: now}
	db := s.db.WithContext(ctx)
	if err := db.Where("created_at < ?", now.Add(-CalendarUploadTTL)).Delete(&calendarUploadRecord{}).Error; err != nil {
		return "", translate(err, "remove old calendar uploads")
	}
	if err := db.Create(&rec).Error; err != nil {
		return "", translate(err, "save calendar upload")
	}
	return rec.ID, nil
}

// CalendarUploadByID returns an upload of the calendar made by the user;
// another user's, another calendar's or an expired one is not found.
func (s *Store) CalendarUploadByID(ctx context.Context, id, calendarName, by string) (CalendarUpload, error) {
	var r calendarUploadRecord
	err := s.db.WithContext(ctx).Where("id = ? AND calendar = ? AND created_by = ? AND created_at >= ?", id, calendarName, by, s.now().Add(-CalendarUploadTTL)).
		Take(&r).Error
	if err != nil {
		return CalendarUpload{}, translate(err, fmt.Sprintf("calendar upload %q", id))
	}
	return CalendarUpload(r), nil
}

// DeleteCalendarUpload removes an upload (after its import).
func (s *Store) DeleteCalendarUpload(ctx context.Context, id string) error {
	res := s.db.WithContext(ctx).Where("id = ?", id).Delete(&calendarUploadRecord{})
	if res.Error != nil {
		return translate(res.Error, "delete calendar upload")
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("calendar upload %q: %w", id, fault.ErrNotFound)
	}
	return nil
}
